"""The job as it runs on a Ray node: rebuild the batch's setup there, check it is the same.

The driver sends a :class:`NodeSpec` (its resolved Settings and what they gave it) and the
zip's bytes; the node prepares its setup with the same call as the driver (the data folder at
the same path, its own runner), and refuses to run (EnvironmentProblem,
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
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esr_validator import __version__
from esr_validator.batch.jobs import run_job
from esr_validator.errors import EnvironmentProblem, InputError
from esr_validator.owner import owned_tempdir
from esr_validator.pipeline import Setup, prepare
from esr_validator.settings import ENV_OMP, Settings

_SETUPS: dict[str, Setup] = {}  # per worker process: the dataset is discovered once


@dataclass(frozen=True)
class NodeSpec:
    """The driver's resolved settings, and the facts the node's own setup must match."""

    settings: Settings
    digests: tuple[tuple[int, str, str], ...]  # (scale, lr, hr) of each dataset
    runner_facts: dict[str, str | None]
    validator_version: str = __version__

    @classmethod
    def of(cls, setup: Setup) -> NodeSpec:
        return cls(
            settings=setup.settings,
            digests=tuple((s, d.lr_digest, d.hr_digest) for s, d in setup.datasets.items()),
            runner_facts=setup.runner.describe(),
        )

    @property
    def digest(self) -> str:
        return hashlib.sha256(pickle.dumps(self)).hexdigest()


def _build(spec: NodeSpec) -> Setup:
    if spec.validator_version != __version__:
        raise EnvironmentProblem(
            f"this node runs esr-validator {__version__}, the driver {spec.validator_version}"
        )
    try:
        setup = prepare(spec.settings)  # the same call the driver made
    except InputError as exc:
        raise EnvironmentProblem(f"data on this node: {exc}") from None
    here = tuple((s, d.lr_digest, d.hr_digest) for s, d in setup.datasets.items())
    if here != spec.digests:
        where = spec.settings.data_dir or "the smoke set"
        raise EnvironmentProblem(f"{where} on this node holds other images than the driver's")
    if setup.runner.describe() != spec.runner_facts:
        raise EnvironmentProblem("this node's runner or image differs from the driver's")
    return setup


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

    if spec.settings.gpu is None:
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
    omp = spec.settings.omp_threads
    if omp is None:
        os.environ.pop(ENV_OMP, None)
    else:
        os.environ[ENV_OMP] = omp
    folder = owned_tempdir("esr-ray-job-")
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
