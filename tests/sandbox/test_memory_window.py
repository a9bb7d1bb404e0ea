"""Nothing the worker does may allocate on the device between the reset and the memory reading,
except the forward and what the official conversion does (``.float()``, then ``.cpu()``).

No GPU here: the device's allocator cannot be read, so the tests record every torch operation
applied to the model's output until it reaches the host. Any reduction, mask or index on the
device (``isfinite``, ``yf[finite]``, ``aminmax``, ``clamp``) would show up in that record.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from esr_validator.sandbox.convert import from_tensor
from esr_validator.sandbox.serve import Server
from esr_validator.schemas import channel
from esr_validator.schemas.channel import ImageMeta, MemoryMeta, OutputMeta, SplitEnd

SCALE = 2
# The official conversion's own steps (``img.data.squeeze().float().clamp_().cpu()``, our
# ``.detach()`` for ``.data``), and reading the shape: nothing that computes on the output.
ALLOWED = {"detach", "float", "cpu", "__get__", "dim", "size"}


class OnDevice(torch.Tensor):
    """An output that records what is done to it until it is copied to the host."""

    calls: ClassVar[list[str]] = []

    @classmethod
    def __torch_function__(
        cls,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        name = getattr(func, "__name__", repr(func))
        cls.calls.append(name)
        out = super().__torch_function__(func, types, args, kwargs or {})
        if name == "cpu" and isinstance(out, torch.Tensor):
            return out.as_subclass(torch.Tensor)  # on the host now: no longer recorded
        return out


def _serve(forward: Callable[[torch.Tensor], Any], h: int = 5, w: int = 7) -> list[Any]:
    """One image of ``h`` x ``w`` and one split end through a real Server; the frames back."""
    ours, theirs = socket.socketpair()
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    channel.send(ours, "image", ImageMeta(split="valid", index=0, height=h, width=w), img.tobytes())
    channel.send(ours, "split_end", SplitEnd(split="valid", reset_after=True))
    channel.send(ours, "finish")
    server = Server(
        theirs,
        forward,
        device=torch.device("cpu"),
        dtype=torch.float32,
        data_range=1.0,
        scale=SCALE,
    )
    server.serve()
    frames = []
    for kind in ("output", "memory"):
        header, payload = channel.recv(ours, max_payload=1 << 24)
        assert header.kind == kind
        model = OutputMeta if kind == "output" else MemoryMeta
        frames.append((channel.meta_as(header, model), payload))
    ours.close()
    theirs.close()
    return frames


def _upscale(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.interpolate(x, scale_factor=SCALE, mode="nearest")


def test_nothing_but_the_official_conversion_touches_the_output_on_the_device() -> None:
    OnDevice.calls.clear()
    out_of_range = {}

    def forward(x: torch.Tensor) -> torch.Tensor:
        y = _upscale(x) * 1.5 - 0.25  # outside [0, 1]: the raw figures must see it
        y[0, 1, 0, 0] = float("nan")
        y[0, 2, 1, 1] = float("inf")
        out_of_range["y"] = y.clone()
        return y.as_subclass(OnDevice)

    (meta, sr), (memory, _) = _serve(forward)
    assert OnDevice.calls, "the output was never used"
    assert set(OnDevice.calls) <= ALLOWED, OnDevice.calls
    # The raw statistics are of the unclamped output, computed on the host copy.
    raw = out_of_range["y"]
    finite = raw[torch.isfinite(raw)]
    assert meta.nonfinite == 2
    assert meta.raw_min == pytest.approx(float(finite.min()))
    assert meta.raw_max == pytest.approx(float(finite.max()))
    assert meta.raw_min < 0 and meta.raw_max > 1
    # The SR bytes are the official conversion of that output (clamp, x255, round half even).
    assert sr == from_tensor(raw, 1.0).tobytes()
    assert memory.split == "valid" and memory.peak_mb is None  # no GPU: no reading


def test_a_half_output_is_converted_as_officially() -> None:
    OnDevice.calls.clear()
    (meta, sr), _ = _serve(lambda x: _upscale(x).half().as_subclass(OnDevice))
    assert set(OnDevice.calls) <= ALLOWED and "float" in OnDevice.calls
    assert (meta.out_channels, meta.nonfinite) == (3, 0) and len(sr) == 10 * 14 * 3


def test_a_wrong_shape_is_never_copied_out() -> None:
    """Only an output of the expected shape leaves the device; its size is the input's × s²."""
    OnDevice.calls.clear()
    (meta, sr), _ = _serve(lambda x: torch.zeros(1, 3, 64, 64).as_subclass(OnDevice))
    assert "cpu" not in OnDevice.calls and set(OnDevice.calls) <= ALLOWED
    assert (meta.out_height, meta.out_width, sr) == (64, 64, b"")
    assert meta.raw_min is None and meta.nonfinite == 0
