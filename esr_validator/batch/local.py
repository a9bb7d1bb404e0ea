"""The local executor: one job per GPU of this machine, one at a time on a CPU-only one.

Timing is the product, so two timed jobs never share a device: each GPU is a slot that one
job holds from start to end, and a machine without a GPU has one slot, the CPU. Jobs run in
threads (the work itself is in child processes); results come back to the calling thread,
which is the only one that reports them as finished.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from esr_validator.batch.events import Events
from esr_validator.batch.jobs import Job, run_job
from esr_validator.errors import EnvironmentProblem
from esr_validator.pipeline import Setup
from esr_validator.schemas.report import Report


def visible_gpus() -> list[int]:
    """CUDA device indices this process can use (after CUDA_VISIBLE_DEVICES)."""
    import torch

    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


class LocalExecutor:
    name = "local"

    def __init__(self, setup: Setup, *, gpus: Sequence[int | None]) -> None:
        if not gpus:
            raise ValueError("at least one slot (a GPU index, or None for the CPU)")
        self.setup = setup
        self.slots: queue.Queue[int | None] = queue.Queue()
        for gpu in gpus:
            self.slots.put(gpu)
        self.width = len(gpus)

    def _one(self, job: Job, events: Events) -> tuple[Report, float]:
        gpu = self.slots.get()  # never blocks for long: no more threads than slots
        try:
            events.started(job, where="cpu" if gpu is None else f"cuda:{gpu}")
            t0 = time.perf_counter()
            report = run_job(
                job.zip_path,
                self.setup,
                gpu=gpu,
                progress=lambda done, total: events.progress(job, done, total),
            )
            return report, time.perf_counter() - t0
        finally:
            self.slots.put(gpu)

    def run(self, jobs: Sequence[Job], events: Events) -> None:
        with ThreadPoolExecutor(max_workers=self.width, thread_name_prefix="esr-job") as pool:
            pending: dict[Future[tuple[Report, float]], Job] = {}
            todo = list(jobs)
            try:
                while todo or pending:
                    while todo and len(pending) < self.width:
                        job = todo.pop(0)
                        pending[pool.submit(self._one, job, events)] = job
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._collect(pending.pop(future), future, events)
            finally:
                for future in pending:
                    future.cancel()

    @staticmethod
    def _collect(job: Job, future: Future[tuple[Report, float]], events: Events) -> None:
        try:
            report, wall = future.result()
        except EnvironmentProblem as exc:
            events.undone(job, exc.describe())
            return
        events.finished(job, report, worker_s=wall)
