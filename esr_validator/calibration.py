"""Hardware calibration: time the ruleset's baseline here, under the ruleset's own protocol.

Runtime scores divide by the baseline's published runtime, measured on the reference GPU.
On any other device that ratio is meaningless; timed here under the same protocol, the
baseline gives a local denominator instead (see :mod:`esr_validator.scoring.formulas`).
The baseline is our own code with random weights, so this runs on the trusted side.

Protocols, from the ruleset's ``[timing]``:

- ``dataset`` (ESR 2022-2026): each LR image is copied to the device untimed, then one
  forward is timed; no warm-up; the runtime is the mean over images, then over runs. With
  equal-sized valid and test splits, passing both together gives (valid + test) / 2.
- ``synthetic`` (RTSR 2023): one random input of output_size/scale, ``warmup`` untimed
  passes, then ``timed_passes`` timed ones; the runtime is their mean. The passes are run by
  :func:`esr_validator.sandbox.timing.time_passes`, the code that times entries, and a CPU runs
  fp32 where the ruleset says fp16, as the worker does.

CUDA devices are timed with CUDA events and a synchronize; the CPU with ``perf_counter``.
"""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import NDArray

from esr_validator.baselines import baseline_spec, get_baseline
from esr_validator.data import Dataset
from esr_validator.errors import UsageError
from esr_validator.metrics.convert import read_image, to_tensor
from esr_validator.sandbox.envinfo import cpu_name
from esr_validator.sandbox.synthetic import cudnn_benchmark, run_precision
from esr_validator.sandbox.timing import Clock, synthetic_input, time_passes
from esr_validator.schemas.ruleset import Ruleset, Timing
from esr_validator.schemas.scoring import Calibration
from esr_validator.scoring.formulas import published_runtime_ms
from esr_validator.settings import SyntheticOptions

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def device_name(device: torch.device) -> str:
    """The name scoring compares with the reference GPU: the GPU's, else the CPU's, read
    the way the worker's environment record reads it."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_name()


def _dataset_ms(
    model: torch.nn.Module,
    images: Sequence[NDArray[np.uint8]],
    *,
    device: torch.device,
    data_range: float,
    dtype: torch.dtype,
) -> float:
    clock, times = Clock(device), []
    for image in images:
        x = to_tensor(image, data_range).to(device, dtype=dtype)  # the copy is untimed
        times.append(clock.time(model, x)[1])
    return statistics.fmean(times)


def _synthetic_ms(
    model: torch.nn.Module,
    protocol: Timing,
    *,
    scale: int,
    device: torch.device,
    dtype: torch.dtype,
) -> float:
    assert protocol.output_size is not None and protocol.timed_passes is not None  # schema
    h, w = (side // scale for side in protocol.output_size)
    x = synthetic_input(h, w, device=device, dtype=dtype)
    clock = Clock(device)
    times = time_passes(model, x, warmup=protocol.warmup, passes=protocol.timed_passes, clock=clock)
    return statistics.fmean(times)


def calibrate(
    ruleset: Ruleset,
    *,
    device: str = "cuda",
    runs: int | None = None,
    images: Sequence[NDArray[np.uint8]] = (),
    scale: int | None = None,
    timing: Timing | None = None,
) -> Calibration:
    """Time ``ruleset``'s baseline on ``device``; ``timing`` overrides the ruleset's protocol
    (for smoke runs: a report must then not call the result official)."""
    protocol = timing or ruleset.timing
    scale = ruleset.scales[0] if scale is None else scale
    published = published_runtime_ms(ruleset, scale=scale)
    if published is None:
        raise UsageError(f"{ruleset.name} publishes no baseline runtime for x{scale}")
    if protocol.input == "dataset" and not images:
        raise UsageError(f"{ruleset.name} times the baseline on LR images; pass some")
    if protocol.precision not in _DTYPES:
        raise UsageError(f"cannot time the baseline in {protocol.precision}")
    dev = torch.device(device)
    dtype = _DTYPES[protocol.precision]
    if protocol.input == "synthetic" and protocol.precision in ("fp16", "bf16"):
        dtype = _DTYPES[run_precision(protocol.precision, dev)[0]]
    spec = baseline_spec(ruleset.baseline.name)
    model = get_baseline(spec.name, scale=scale).to(device=dev, dtype=dtype)
    grad = torch.no_grad() if protocol.no_grad else contextlib.nullcontext()
    per_run = []
    with cudnn_benchmark(protocol.cudnn_benchmark), grad:
        for _ in range(protocol.runs if runs is None else runs):
            if protocol.input == "dataset":
                ms = _dataset_ms(model, images, device=dev, data_range=spec.data_range, dtype=dtype)
            else:
                ms = _synthetic_ms(model, protocol, scale=scale, device=dev, dtype=dtype)
            per_run.append(ms)
    return Calibration(
        baseline=spec.name,
        device=device_name(dev),
        runtime_ms=statistics.fmean(per_run),
        published_runtime_ms=published,
    )


def calibrate_on(
    ruleset: Ruleset,
    dataset: Dataset,
    *,
    device: str,
    runs: int,
    synthetic: SyntheticOptions | None = None,
    scale: int | None = None,
) -> Calibration:
    """Time the ruleset's baseline here, on the same LR images, with the official protocol;
    a synthetic protocol runs with the warm-up and passes the entries run with."""
    if synthetic is not None:
        update = {"warmup": synthetic.warmup, "timed_passes": synthetic.passes}
        timing = ruleset.timing.model_copy(update=update)
        return calibrate(ruleset, device=device, timing=timing, scale=scale)
    images = [read_image(p.lr) for s in dataset.splits for p in s.pairs]
    return calibrate(ruleset, device=device, runs=runs, images=images)
