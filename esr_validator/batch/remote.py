"""The job as it runs on a Ray node: rebuild the batch's setup there, check it is the same.

The driver sends a :class:`NodeSpec` (plain data) and the zip's bytes; the node finds the
data folder at the same path, selects its runner, and refuses to run (EnvironmentProblem,
the job stays undone) unless the data digests, the runner's image facts and the validator's
version match the driver's, because the report would otherwise be keyed as something it is
not. The report travels back as JSON; only the driver signs and writes, so the signing key
never leaves it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esr_validator import __version__
from esr_validator.batch.jobs import run_job
from esr_validator.errors import EnvironmentProblem, InputError
from esr_validator.evaluate import SMOKE_DIR, EvalOptions
from esr_validator.pipeline import Setup
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration

_SETUPS: dict[str, Setup] = {}  # per worker process: the dataset is discovered once


@dataclass(frozen=True)
class NodeSpec:
    data_dir: str | None  # None: the embedded smoke set of the node's installation
    lr_digest: str
    hr_digest: str
    ruleset: Ruleset
    runner: str | None
    options: EvalOptions
    calibration: Calibration | None
    runner_facts: dict[str, str | None]
    omp_threads: str | None = None  # the driver's OMP_NUM_THREADS
    validator_version: str = __version__
    scale_digests: tuple[tuple[int, str, str], ...] = ()  # (scale, lr, hr) per scale (RTSR)

    @property
    def digest(self) -> str:
        return hashlib.sha256(pickle.dumps(self)).hexdigest()


def _build(spec: NodeSpec) -> Setup:
    from esr_validator.commands._setup import load_datasets
    from esr_validator.runners.select import select_runner

    if spec.validator_version != __version__:
        raise EnvironmentProblem(
            f"this node runs esr-validator {__version__}, the driver {spec.validator_version}"
        )
    root = Path(spec.data_dir) if spec.data_dir else SMOKE_DIR
    try:
        datasets, _ = load_datasets(spec.data_dir, scales=spec.ruleset.scales)
    except InputError as exc:
        raise EnvironmentProblem(f"data on this node: {exc}") from None
    dataset = next(iter(datasets.values()))
    here = tuple((s, d.lr_digest, d.hr_digest) for s, d in datasets.items())
    if (dataset.lr_digest, dataset.hr_digest) != (spec.lr_digest, spec.hr_digest) or (
        spec.scale_digests and here != spec.scale_digests
    ):
        raise EnvironmentProblem(f"{root} on this node holds other images than the driver's")
    selection = select_runner(spec.runner, variant="cpu" if spec.options.gpu is None else "cuda")
    if selection.runner.describe() != spec.runner_facts:
        raise EnvironmentProblem("this node's runner or image differs from the driver's")
    return Setup(
        dataset=dataset,
        datasets=datasets if len(spec.ruleset.scales) > 1 else {},
        smoke=spec.data_dir is None,
        ruleset=spec.ruleset,
        runner=selection.runner,
        unsandboxed_reason=selection.unsandboxed_reason,
        options=spec.options,
        calibration=spec.calibration,
    )


def node_setup(spec: NodeSpec) -> Setup:
    key = spec.digest
    if key not in _SETUPS:
        _SETUPS[key] = _build(spec)
    return _SETUPS[key]


def _gpu_for(spec: NodeSpec) -> int | None:
    """The physical GPU Ray gave this task, or None to time on the CPU.

    Ray hides the other GPUs through CUDA_VISIBLE_DEVICES; the runners set that variable
    from the index they are given, so they get the physical id, not the in-process 0.
    """
    import ray
    import torch

    if spec.options.gpu is None:
        return None
    ids = ray.get_gpu_ids()
    if not ids or not torch.cuda.is_available():
        raise EnvironmentProblem("Ray gave this task no usable GPU, but the batch times on CUDA")
    return int(ids[0])


def validate_remote(spec: NodeSpec, zip_name: str, zip_bytes: bytes) -> dict[str, Any]:
    """Validate one zip on this node; returns the report as JSON plus where and how long."""
    import ray

    setup = node_setup(spec)
    gpu = _gpu_for(spec)
    # Ray sets OMP_NUM_THREADS to the task's CPU count; the local runner would hand that to
    # the timed worker. The driver's value is used instead, as a local run would.
    if spec.omp_threads is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = spec.omp_threads
    folder = Path(tempfile.mkdtemp(prefix="esr-ray-job-"))
    try:
        zip_path = folder / Path(zip_name).name
        zip_path.write_bytes(zip_bytes)
        t0 = time.perf_counter()
        report = run_job(zip_path, setup, gpu=gpu)
        wall = time.perf_counter() - t0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    node = ray.get_runtime_context().get_node_id()
    return {"report": report.model_dump_json(), "worker_s": wall, "node": node, "gpu": gpu}
