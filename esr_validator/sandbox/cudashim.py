"""Run hard-coded CUDA calls on the evaluation device when that device is not a GPU.

Many accepted entries call ``.cuda()`` in their constructor or forward, create tensors with
``device='cuda'`` or call ``torch.cuda.synchronize()``. The organizers ran on a GPU, where
those calls are harmless. On a CPU-only machine they would crash the entry, so inside
:func:`cpu_for_cuda` a torch function mode sends every CUDA device argument to the
evaluation device and a handful of ``torch.cuda`` functions become no-ops. Every such call
is recorded, so the report can warn that the entry hard-codes CUDA.

The shim is only entered when the evaluation device is not CUDA: on a GPU the entry's
calls behave exactly as written.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

_MAX_CALLS = 20
_NOOPS: dict[str, Callable[..., Any]] = {
    "synchronize": lambda *a, **k: None,
    "set_device": lambda *a, **k: None,
    "empty_cache": lambda *a, **k: None,
    "reset_peak_memory_stats": lambda *a, **k: None,
    "current_device": lambda *a, **k: 0,
}
_SKIP = ("/torch/", "/esr_validator/", "/fvcore/", "/iopath/", "<frozen")


def _is_cuda(value: object) -> bool:
    if isinstance(value, torch.device):
        return value.type == "cuda"
    return isinstance(value, str) and value.split(":", 1)[0] == "cuda"


def _where() -> str:
    """The entry's own line that made the call (the innermost frame outside torch/us)."""
    for frame in reversed(traceback.extract_stack(limit=40)):
        if not any(s in frame.filename.replace("\\", "/") for s in _SKIP):
            name = frame.filename.replace("\\", "/").rsplit("/", 1)[-1]
            return f"{name}:{frame.lineno}"
    return "?"


class CudaCalls:
    """What the entry asked of CUDA: one line per distinct call site, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self._seen: set[str] = set()

    def hit(self, what: str) -> None:
        if len(self._seen) >= _MAX_CALLS:
            return
        line = f"{what} at {_where()}"
        if line not in self._seen:
            self._seen.add(line)
            self.calls.append(line[:300])


class _CudaToDevice(TorchFunctionMode):
    def __init__(self, device: torch.device, calls: CudaCalls) -> None:
        super().__init__()
        self.device = device
        self.record = calls

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = dict(kwargs or {})
        name = getattr(func, "__name__", str(func))
        if func is torch.Tensor.cuda:
            self.record.hit(".cuda()")
            return args[0].to(self.device)
        if any(_is_cuda(a) for a in args) or any(_is_cuda(v) for v in kwargs.values()):
            self.record.hit(f"device 'cuda' in {name}()")
            args = tuple(self.device if _is_cuda(a) else a for a in args)
            kwargs = {k: (self.device if _is_cuda(v) else v) for k, v in kwargs.items()}
        return func(*args, **kwargs)


@contextmanager
def cpu_for_cuda(device: torch.device) -> Iterator[CudaCalls]:
    """Within the block, CUDA calls of the entry run on ``device`` (never a CUDA device)."""
    calls = CudaCalls()
    if device.type == "cuda":
        yield calls
        return
    saved = {name: getattr(torch.cuda, name) for name in _NOOPS}

    def noop(name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls.hit(f"torch.cuda.{name}()")
            return _NOOPS[name](*args, **kwargs)

        return call

    for name in _NOOPS:
        setattr(torch.cuda, name, noop(name))
    try:
        with _CudaToDevice(device, calls):
            yield calls
    finally:
        for name, fn in saved.items():
            setattr(torch.cuda, name, fn)
