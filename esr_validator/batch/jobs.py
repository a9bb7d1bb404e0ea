"""One submission as a batch job, and the guard that turns a validator bug into a record.

``validate_zip`` never raises for anything a submission does; anything it raises anyway is
a bug of the validator. One bug must not stop fifty submissions, so :func:`run_job` records
it as that submission's failure (``crashed``, "validator error: ...") and goes on. An
:class:`EnvironmentProblem` is different: the machine is not ready (the Docker engine went
away, a node lacks the data), nothing is wrong with the submission, and a record would make
the next run skip it; it propagates, and the job stays undone until a rerun.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from esr_validator import __version__
from esr_validator.digests import sha256_file
from esr_validator.errors import EnvironmentProblem
from esr_validator.evaluate import Progress, dataset_info
from esr_validator.pipeline import Setup, runner_info, validate_zip
from esr_validator.report import now
from esr_validator.schemas.report import Failure, Report, SubmissionInfo

log = logging.getLogger(__name__)
_MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class Job:
    zip_path: Path
    zip_sha256: str
    key: str

    @property
    def name(self) -> str:
        return self.zip_path.stem


def error_report(
    zip_path: Path, setup: Setup, exc: BaseException, *, started: datetime | None = None
) -> Report:
    """The failure record of a submission whose validation raised ``exc``."""
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    try:
        digest = sha256_file(zip_path)
    except OSError:
        digest = "0" * 64
    return Report(
        validator_version=__version__,
        started_at=started or now(),
        finished_at=now(),
        status="failed",
        ok=False,
        failure=Failure(category="crashed", message=f"validator error: {detail}"[:_MESSAGE_LIMIT]),
        findings=[],
        submission=SubmissionInfo(zip_name=zip_path.name, zip_sha256=digest),
        dataset=dataset_info(setup.dataset, smoke=setup.dataset.smoke),
        runner=runner_info(setup.runner),
        options=setup.settings.run_options(),
    )


def run_job(
    zip_path: Path, setup: Setup, *, gpu: int | None, progress: Progress | None = None
) -> Report:
    """Validate one zip on ``gpu`` (None: the CPU); a validator bug becomes its record."""
    pinned = setup.on(gpu)
    started = now()
    try:
        return validate_zip(zip_path, pinned, progress=progress)
    except EnvironmentProblem:
        raise
    except Exception as exc:
        log.error("validator error on %s:\n%s", zip_path.name, traceback.format_exc())
        return error_report(zip_path, pinned, exc, started=started)
