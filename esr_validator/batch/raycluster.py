"""The Ray executor: each job is a Ray task holding one GPU of the cluster.

``--ray-address`` (or ``RAY_ADDRESS``) joins a running cluster; without either, a Ray
instance is started on this machine. A task asks for ``num_gpus=1``, so Ray never places
two timed jobs on one GPU. On a cluster without GPUs a task asks for every CPU of the
smallest node instead, one timed job per node. At most as many tasks are in flight as
there are such slots, so that an interrupted run loses little and the display shows what
runs. Failures of Ray itself (a node lost, a worker killed) leave the job undone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from esr_validator.batch.events import Events
from esr_validator.batch.jobs import Job
from esr_validator.batch.remote import NodeSpec, validate_remote
from esr_validator.errors import EnvironmentProblem
from esr_validator.schemas.report import Report


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EnvironmentProblem(
            "--executor ray needs the ray package",
            hint="pip install 'esr-validator[ray]'",
        ) from None
    return ray


def connect(*, address: str | None, num_gpus: int | None, num_cpus: int | None) -> None:
    """Join the cluster at ``address`` (the settings give ``--ray-address``, else
    ``RAY_ADDRESS``), or start a local one."""
    ray = _ray()
    if ray.is_initialized():
        return
    quiet: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False}
    try:
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_gpus=num_gpus, num_cpus=num_cpus, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise EnvironmentProblem(
            f"cannot start or reach Ray ({address or 'local'}): {exc}",
            hint="check --ray-address / RAY_ADDRESS and `ray status` on the head node",
        ) from None


def _slots(ray: Any) -> tuple[int, dict[str, Any]]:
    """How many tasks may run at once, and the resources each one asks for."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if gpus:
        return gpus, {"num_gpus": 1, "num_cpus": 1}
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    cpus = min(int(n["Resources"].get("CPU", 1)) for n in nodes) if nodes else 1
    return max(1, len(nodes)), {"num_gpus": 0, "num_cpus": max(1, cpus)}


def _cuda_here() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def probe_cuda() -> bool:
    """Whether a task holding one of the cluster's GPUs can use CUDA there.

    Ray's GPU resources may be logical (declared with ``num_gpus``, no device behind them),
    so their count alone does not tell; one short task asks a node.
    """
    ray = _ray()
    if not ray.cluster_resources().get("GPU", 0):
        return False
    probe = ray.remote(num_gpus=1, num_cpus=1)(_cuda_here)
    return bool(ray.get(probe.remote()))


class RayExecutor:
    name = "ray"

    def __init__(self, spec: NodeSpec) -> None:
        self.spec = spec

    def run(self, jobs: Sequence[Job], events: Events) -> None:
        ray = _ray()
        width, resources = _slots(ray)
        task = ray.remote(max_retries=1)(validate_remote).options(**resources)
        spec_ref = ray.put(self.spec)
        todo = list(jobs)
        pending: dict[Any, Job] = {}
        while todo or pending:
            while todo and len(pending) < width:
                job = todo.pop(0)
                try:
                    data = job.zip_path.read_bytes()
                except OSError as exc:
                    events.undone(job, f"cannot read {job.zip_path}: {exc.strerror}")
                    continue
                pending[task.remote(spec_ref, job.zip_path.name, data)] = job
                events.started(job, where="ray")
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                self._collect(ray, pending.pop(ref), ref, events)

    @staticmethod
    def _collect(ray: Any, job: Job, ref: Any, events: Events) -> None:
        try:
            out = ray.get(ref)
        except ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            text = cause.describe() if isinstance(cause, EnvironmentProblem) else str(exc)
            events.undone(job, text.strip().splitlines()[-1] if text.strip() else repr(exc))
            return
        report = Report.model_validate_json(out["report"])
        events.finished(job, report, worker_s=float(out["worker_s"]))
