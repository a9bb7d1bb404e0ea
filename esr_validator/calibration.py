"""Hardware calibration: time the ruleset's baseline here, under the ruleset's own protocol.

Runtime scores divide by the baseline's published runtime, measured on the reference GPU.
On any other device that ratio is meaningless; timed here under the same protocol, the
baseline gives a local denominator instead (see :mod:`esr_validator.scoring.formulas`).

The baseline is torch code, so it runs in the sandbox, launched exactly as an entry is:
the trusted side knows only the registry's metadata (:mod:`esr_validator.baselines`) and
drives sandbox processes through :mod:`esr_validator.official`. Protocols, from the ruleset's
``[timing]``:

- ``dataset`` (ESR 2022-2026): each run is a fresh process; each LR image goes through the
  channel, its round trip timed from outside less the channel's overhead (a null model's
  round trip, measured in a process of its own), or the CUDA-event figure on a GPU when it
  agrees with that bound: the clock that times entries. The runtime is the mean over images,
  then over runs.
- ``synthetic`` (RTSR 2023): one random input of output_size/scale, ``warmup`` untimed
  passes, then ``timed_passes`` timed ones, by the code that times entries; a CPU runs fp32
  where the ruleset says fp16, as the worker does.
"""

from __future__ import annotations

import platform
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from esr_validator.baselines import BaselineSpec, baseline_spec
from esr_validator.data import Dataset
from esr_validator.errors import EnvironmentProblem, UsageError
from esr_validator.integrity import assemble
from esr_validator.metrics.convert import read_image
from esr_validator.official import LRImage, SessionFailed, Sessions
from esr_validator.owner import owned_temporary
from esr_validator.runners.base import Runner
from esr_validator.schemas.manifest import InferenceSpec, Manifest
from esr_validator.schemas.ruleset import Ruleset, Timing
from esr_validator.schemas.scoring import Calibration
from esr_validator.schemas.worker import SyntheticSpec, WorkerConfig, WorkerResult
from esr_validator.scoring.formulas import published_runtime_ms
from esr_validator.settings import SyntheticOptions, synthetic_options

_PRECISIONS = ("fp32", "fp16", "bf16")


def cpu_name() -> str:
    """The CPU's name, read as the sandbox's environment record reads it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()[:200]
    except OSError:
        pass
    return (platform.processor() or platform.machine())[:200]


def device_name(device: str) -> str:
    """The name scoring compares with the reference GPU, for a CPU (a GPU's name comes from
    the sandbox, which is the side that may touch CUDA)."""
    if device != "cpu":
        raise UsageError("only the sandbox reads a GPU's name; calibrate on it instead")
    return cpu_name()


def _manifest(spec: BaselineSpec, scale: int, protocol: Timing) -> Manifest:
    fp16 = protocol.input == "dataset" and protocol.precision == "fp16"
    return Manifest(
        team_id=0,
        team_name="baseline",
        model_name=spec.module.upper(),
        class_name="build",
        scale=scale,
        data_range=spec.data_range,
        inference=InferenceSpec(precision="fp16" if fp16 else "fp32"),
    )


def _spec(protocol: Timing, scale: int) -> SyntheticSpec:
    """The synthetic protocol as the entries run it (the one Settings resolves)."""
    options = synthetic_options(protocol)
    assert options is not None  # only called for a synthetic protocol
    return options.spec(scale)


def _environment_name(result: WorkerResult | None, device: str) -> str:
    env = result.environment if result is not None else None
    if env is None:
        return device_name(device) if device == "cpu" else device
    return env.gpu_name or env.cpu


def _lr_images(images: Sequence[NDArray[np.uint8]]) -> list[LRImage]:
    return [
        LRImage(
            "calibration",
            k,
            f"{k:04d}",
            im.shape[0],
            im.shape[1],
            np.ascontiguousarray(im).tobytes(),
        )
        for k, im in enumerate(images)
    ]


def calibrate(
    ruleset: Ruleset,
    *,
    device: str = "cuda",
    runs: int | None = None,
    images: Sequence[NDArray[np.uint8]] = (),
    scale: int | None = None,
    timing: Timing | None = None,
    runner: Runner | None = None,
    timeout_s: float = 1800.0,
) -> Calibration:
    """Time ``ruleset``'s baseline on ``device``; ``timing`` overrides the ruleset's protocol
    (for smoke runs: a report must then not call the result official)."""
    protocol = timing or ruleset.timing
    spec = baseline_spec(ruleset.baseline.name)
    scale = spec.scale_for(ruleset.scales[0] if scale is None else scale)
    published = published_runtime_ms(ruleset, scale=scale)
    if published is None:
        raise UsageError(f"{ruleset.name} publishes no baseline runtime for x{scale}")
    if protocol.input == "dataset" and not images:
        raise UsageError(f"{ruleset.name} times the baseline on LR images; pass some")
    if protocol.precision not in _PRECISIONS:
        raise UsageError(f"cannot time the baseline in {protocol.precision}")
    if runner is None:
        from esr_validator.runners.local import LocalRunner  # our own code: no sandbox needed

        runner = LocalRunner()
    synthetic = protocol.input == "synthetic"
    gpu = None if device == "cpu" else int(device.partition(":")[2] or 0)
    config = WorkerConfig(
        manifest=_manifest(spec, scale, protocol),
        baseline=spec.module,
        device="cpu" if gpu is None else "cuda",
        cudnn_benchmark=protocol.cudnn_benchmark,
        synthetic=_spec(protocol, scale) if synthetic else None,
    )
    with owned_temporary("esr-calibration-") as scratch:
        sessions = Sessions(
            runner=runner,
            config=config,
            images=[] if synthetic else _lr_images(images),
            mounts=(),
            timeout_s=timeout_s,
            gpu=gpu,
            sr_dir=Path(scratch),
        )
        count = 1 if synthetic else (protocol.runs if runs is None else runs)
        try:
            overhead = [] if synthetic else sessions.null_overhead()
            records = [sessions.official_run(r, repeat=False) for r in range(count)]
        except SessionFailed as exc:
            failure = exc.result.failure if exc.result and exc.result.failure else None
            tail = exc.outcome.log_tail[-800:] if exc.outcome else ""
            raise EnvironmentProblem(
                f"timing the baseline {spec.name} failed: {failure.message if failure else exc}"
                f" {tail}".strip()
            ) from None
    first = records[0].result
    if synthetic:
        assert first is not None and first.synthetic is not None
        runtime = statistics.fmean(first.synthetic.passes_ms)
    else:
        result, _ = assemble(
            sessions.images, records, overhead, cuda=gpu is not None, synthetic=False, tolerance=255
        )
        runtime = statistics.fmean(statistics.fmean(im.official_ms) for im in result.images)
    return Calibration(
        baseline=spec.name,
        device=_environment_name(first, device),
        runtime_ms=runtime,
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
