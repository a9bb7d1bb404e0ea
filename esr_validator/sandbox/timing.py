"""The timing protocols.

``official`` repeats the organizers' loop: per image, the host-to-device copy first (not
timed), then events around the forward only, then a synchronize; no warm-up; autograd left
on (parameters are frozen, so no graph is built); peak memory read after each split and
never reset. ``stable`` corrects its defects: warm-up forwards first, inference mode, and the
peak memory reset at each split. Both only time: they never decode, score or write inside
the timed region.

``time_passes`` is the fixed-input protocol of the 2023 real-time challenge (warm-up passes,
then timed passes on one input); the worker and the baseline calibration both use it, so an
entry and its baseline are timed by the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from esr_validator.sandbox.forward import Forward

Image = np.ndarray
OnOutput = Callable[[str, int, torch.Tensor], None]  # (split, index, output) of run 0


@dataclass
class SplitTimes:
    per_image_ms: list[list[float]]  # [image][run]
    memory_mb: list[float] = field(default_factory=list)  # one per run


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


@dataclass
class Protocol:
    forward: Forward
    inputs: dict[str, list[torch.Tensor]]  # CPU tensors, already converted; copied per image
    device: torch.device
    dtype: torch.dtype
    tick: Callable[[], None] = lambda: None

    def _one_pass(
        self,
        clock: Clock,
        split: str,
        times: SplitTimes,
        *,
        on_output: OnOutput | None,
    ) -> None:
        for i, cpu_x in enumerate(self.inputs[split]):
            x = cpu_x.to(self.device, dtype=self.dtype)  # the copy is outside the timed region
            y, ms = clock.time(self.forward, x)
            times.per_image_ms[i].append(ms)
            if on_output is not None:
                on_output(split, i, y)
            del y
            self.tick()

    def outputs(self, on_output: OnOutput) -> None:
        """Each image once, untimed, for its SR output (the synthetic protocol times apart)."""
        with torch.no_grad():
            for split, xs in self.inputs.items():
                for i, cpu_x in enumerate(xs):
                    y = self.forward(cpu_x.to(self.device, dtype=self.dtype))
                    on_output(split, i, y)
                    del y
                    self.tick()

    def official(self, runs: int, on_output: OnOutput) -> dict[str, SplitTimes]:
        clock = Clock(self.device)
        out = {s: SplitTimes([[] for _ in xs]) for s, xs in self.inputs.items()}
        for run in range(runs):
            for split, times in out.items():
                self._one_pass(clock, split, times, on_output=on_output if run == 0 else None)
                peak = clock.peak_mb()
                if peak is not None:
                    times.memory_mb.append(peak)
        return out

    def stable(self, runs: int, warmup: int) -> dict[str, SplitTimes]:
        clock = Clock(self.device)
        out = {s: SplitTimes([[] for _ in xs]) for s, xs in self.inputs.items()}
        ctx: AbstractContextManager[object] = torch.inference_mode() if runs else nullcontext()
        with ctx:
            self._warm_up(warmup)
            for _ in range(runs):
                for split, times in out.items():
                    clock.reset_peak()
                    self._one_pass(clock, split, times, on_output=None)
                    peak = clock.peak_mb()
                    if peak is not None:
                        times.memory_mb.append(peak)
        return out

    def _warm_up(self, count: int) -> None:
        pool = [x for xs in self.inputs.values() for x in xs]
        for i in range(min(count, len(pool)) if pool else 0):
            self.forward(pool[i].to(self.device, dtype=self.dtype))
        if self.device.type == "cuda":
            torch.cuda.synchronize()
