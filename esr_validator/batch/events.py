"""What an executor tells the batch driver while it works.

Executors run jobs; only the driver writes to the output folder. ``finished`` is always
called from the driver's own thread, so committing a report needs no locking; ``started``
and ``progress`` may come from worker threads and only touch the display.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from esr_validator.batch.jobs import Job
from esr_validator.schemas.report import Report


class Events(Protocol):
    def started(self, job: Job, *, where: str) -> None: ...

    def progress(self, job: Job, done: int, total: int) -> None: ...

    def finished(self, job: Job, report: Report, *, worker_s: float) -> None: ...

    def undone(self, job: Job, reason: str) -> None:
        """The job could not run for a reason outside the submission; a rerun retries it."""
        ...


class Executor(Protocol):
    name: str

    def run(self, jobs: Sequence[Job], events: Events) -> None: ...
