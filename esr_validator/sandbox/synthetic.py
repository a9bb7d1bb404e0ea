"""The synthetic runtime protocol inside the worker (NTIRE 2023 Real-Time SR).

One random input of the ruleset's size, ``warmup`` untimed passes, then ``passes`` timed
ones, with ``cudnn.benchmark`` as the ruleset sets it. The organisers ran the model in FP16;
on a CUDA device the model is cast to that precision for this stage (after the SR outputs
were made at the manifest's precision). A CPU runs fp32 instead: half-precision
convolutions there are unsupported or far slower than on a GPU, so an fp16 time would
measure the CPU's emulation, not the model. The substitution is recorded in ``note`` and
the host turns it into a finding; it is never an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch

from esr_validator.sandbox.forward import Forward
from esr_validator.sandbox.timing import Clock, synthetic_input, time_passes
from esr_validator.schemas.worker import SyntheticPrecision, SyntheticSpec, SyntheticTiming

DTYPES: dict[SyntheticPrecision, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
}


def run_precision(
    requested: SyntheticPrecision, device: torch.device
) -> tuple[SyntheticPrecision, str | None]:
    """The precision this device times in, and why it differs from ``requested`` if it does."""
    if device.type == "cpu" and requested != "fp32":
        return "fp32", (
            f"{requested} requested; timed in fp32 on the CPU, where half-precision "
            "convolutions are unsupported or much slower than on a GPU"
        )
    return requested, None


@contextlib.contextmanager
def cudnn_benchmark(enabled: bool) -> Iterator[None]:
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = enabled
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


def measure(
    model: torch.nn.Module,
    forward: Forward,
    spec: SyntheticSpec,
    *,
    device: torch.device,
    tick: Callable[[], None] = lambda: None,
) -> SyntheticTiming:
    """Time ``forward`` (which calls ``model``) by ``spec``; ``model`` is cast in place."""
    precision, note = run_precision(spec.precision, device)
    dtype = DTYPES[precision]
    model.to(dtype=dtype)
    x = synthetic_input(spec.height, spec.width, device=device, dtype=dtype)
    clock = Clock(device)
    grad = torch.no_grad() if spec.no_grad else contextlib.nullcontext()
    clock.reset_peak()
    with cudnn_benchmark(spec.cudnn_benchmark), grad:
        times = time_passes(
            forward, x, warmup=spec.warmup, passes=spec.passes, clock=clock, tick=tick
        )
    return SyntheticTiming(
        height=spec.height,
        width=spec.width,
        warmup=spec.warmup,
        precision=precision,
        requested_precision=spec.precision,
        cudnn_benchmark=spec.cudnn_benchmark,
        passes_ms=times,
        memory_mb=clock.peak_mb(),
        note=note,
    )
