"""The worker's side of the channel: one image in, its timed forward, its output back.

The trusted side holds the clock that counts (it times each round trip from outside this
process); the in-worker figure is reported beside it only on a GPU, where CUDA events are the
official clock, and the trusted side keeps it only when the outer bound agrees. Per image,
as the official loop does: the host-to-device copy first (untimed), then the forward, then
the output leaves the device and is converted exactly as the official code converts it.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable

import numpy as np
import torch

from esr_validator.sandbox.convert import from_tensor, to_tensor
from esr_validator.sandbox.timing import Clock
from esr_validator.schemas import channel
from esr_validator.schemas.channel import ImageMeta, MemoryMeta, OutputMeta, SplitEnd

Forward = Callable[[torch.Tensor], torch.Tensor]
MAX_IMAGE_BYTES = 20000 * 20000 * 3


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def to_host(y: torch.Tensor) -> torch.Tensor:
    """The output on the host, unclamped, allocating on the device only what the official
    conversion does (``.float()``: nothing for a float32 output) before its ``.cpu()``."""
    return y.detach().float().cpu()


def describe(y: object, meta: ImageMeta, ms: float | None, host: torch.Tensor | None) -> OutputMeta:
    """Sanity statistics of an output before clamping, computed on ``host`` (its host copy),
    so nothing is allocated on the device between the reset and the memory reading."""
    dims = tuple(y.shape) if isinstance(y, torch.Tensor) and y.ndim == 4 else (0, 0, 0, 0)
    lo = hi = None
    nonfinite = 0
    if host is not None:
        values = host.numpy().ravel()
        finite = np.isfinite(values)
        nonfinite = int(values.size - np.count_nonzero(finite))
        kept = values if nonfinite == 0 else values[finite]
        if kept.size:
            lo, hi = _finite(float(kept.min())), _finite(float(kept.max()))
    return OutputMeta(
        split=meta.split,
        index=meta.index,
        event_ms=ms,
        raw_min=lo,
        raw_max=hi,
        nonfinite=nonfinite,
        out_channels=min(int(dims[1]), 64),
        out_height=int(dims[2]),
        out_width=int(dims[3]),
        is_tensor=isinstance(y, torch.Tensor),
    )


class Server:
    """Answers ``image`` and ``split_end`` frames until ``finish``."""

    def __init__(
        self,
        sock: socket.socket,
        forward: Forward,
        *,
        device: torch.device,
        dtype: torch.dtype,
        data_range: float,
        scale: int,
    ) -> None:
        self.sock, self.forward = sock, forward
        self.device, self.dtype = device, dtype
        self.data_range, self.scale = data_range, scale
        self.clock = Clock(device)

    def _image(self, header: channel.Header, payload: bytes) -> None:
        meta = channel.meta_as(header, ImageMeta)
        if len(payload) != meta.height * meta.width * 3:
            raise channel.ChannelError("an image frame whose size does not match its shape")
        img = np.frombuffer(payload, dtype=np.uint8).reshape(meta.height, meta.width, 3)
        x = to_tensor(img, self.data_range).to(self.device, dtype=self.dtype)  # untimed copy
        y, ms = self.clock.time(self.forward, x)
        expected = (1, 3, meta.height * self.scale, meta.width * self.scale)
        # Only an output of the expected shape is copied out (its size is bounded by the
        # input's); the statistics and the clamp run on that copy, on the host.
        host = to_host(y) if isinstance(y, torch.Tensor) and tuple(y.shape) == expected else None
        out = describe(y, meta, ms if self.clock.cuda else None, host)
        del y, x
        sr = b"" if host is None else from_tensor(host, self.data_range).tobytes()
        channel.send(self.sock, "output", out, sr)

    def _split_end(self, header: channel.Header) -> None:
        meta = channel.meta_as(header, SplitEnd)
        peak = self.clock.peak_mb()
        if meta.reset_after:
            self.clock.reset_peak()
        channel.send(self.sock, "memory", MemoryMeta(split=meta.split, peak_mb=peak))

    def serve(self) -> None:
        while True:
            header, payload = channel.recv(self.sock, max_payload=MAX_IMAGE_BYTES)
            if header.kind == "image":
                self._image(header, payload)
            elif header.kind == "split_end":
                self._split_end(header)
            elif header.kind == "finish":
                return
            else:
                raise channel.ChannelError(f"unexpected {header.kind} frame")
