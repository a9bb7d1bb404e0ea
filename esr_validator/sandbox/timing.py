"""The in-worker clocks.

``Clock`` is the official per-image clock: CUDA events around the forward only, then a
synchronize (``perf_counter`` on the CPU). Per-image runs are driven over the channel
(:mod:`esr_validator.sandbox.serve`) and timed from outside by the trusted side as well.

``time_passes`` is the fixed-input protocol of the 2023 real-time challenge (warm-up passes,
then timed passes on one input); the worker and the baseline calibration both use it, so an
entry and its baseline are timed by the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from esr_validator.sandbox.forward import Forward


class Clock:
    """CUDA events on a GPU, ``perf_counter`` on the CPU, with one interface."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"

    def time(self, fn: Forward, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            start.record()
            y = fn(x)
            end.record()
            torch.cuda.synchronize(self.device)
            return y, float(start.elapsed_time(end))
        t0 = time.perf_counter()
        y = fn(x)
        return y, (time.perf_counter() - t0) * 1000.0

    def peak_mb(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 1024**2 if self.cuda else None

    def reset_peak(self) -> None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()


def synthetic_input(
    height: int, width: int, *, device: torch.device, dtype: torch.dtype, seed: int = 0
) -> torch.Tensor:
    """The random 1x3xHxW input of the synthetic protocol, the same for every entry."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, height, width, generator=gen).to(device=device, dtype=dtype)


def time_passes(
    fn: Forward,
    x: torch.Tensor,
    *,
    warmup: int,
    passes: int,
    clock: Clock,
    tick: Callable[[], None] = lambda: None,
) -> list[float]:
    """``warmup`` untimed forwards of ``x``, a synchronize, then ``passes`` timed ones (ms)."""
    for _ in range(warmup):
        fn(x)
        tick()
    if clock.cuda:
        torch.cuda.synchronize(clock.device)
    times = []
    for _ in range(passes):
        y, ms = clock.time(fn, x)
        del y
        times.append(ms)
        tick()
    return times
