"""The output folder of a batch, and the per-key markers that make a run resumable.

Layout of ``OUT``::

    reports/<zipstem>.json     one DSSE envelope per submission (signed, or unsigned)
    state/<key>.json           a marker per finished key, pointing at its report
    leaderboard.{csv,md,html}  drawn from the reports of the zips now in the folder
    .lock                      held (flock) while a batch runs on this folder

A submission is done exactly when its marker exists and names a report file whose bytes
still hash to what the marker recorded. The report is written first and the marker second,
each atomically (temporary file, fsync, rename), so a run killed at any moment leaves either
a complete report and marker, or a report without marker (redone on the next run, the
report replaced whole), or nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.errors import InputError, UsageError
from esr_validator.schemas.report import FailureCategory, Report
from esr_validator.signing import sign_report, write_envelope
from esr_validator.signing.files import atomic_write


class Marker(BaseModel):
    """What ``state/<key>.json`` holds: enough to find, check and summarise the report."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = 1
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    zip_name: str
    zip_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    report: str = Field(description="Path of the report, relative to the output folder.")
    report_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    status: str
    failure: FailureCategory | None = None
    signed: bool
    finished_at: datetime


class OutDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.reports = root / "reports"
        self.state = root / "state"

    def prepare(self) -> None:
        try:
            self.reports.mkdir(parents=True, exist_ok=True)
            self.state.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {self.root}: {exc.strerror}") from None

    def drop_temporaries(self) -> None:
        """Remove what the writes of a killed run left; only call it holding the lock."""
        for folder in (self.root, self.reports, self.state):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder for one run; the kernel drops the lock when the process dies."""
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UsageError(
                    f"another batch is running on {self.root}",
                    hint="wait for it, or give another --out",
                ) from None
            yield
        finally:
            os.close(fd)

    def report_path(self, zip_name: str) -> Path:
        return self.reports / f"{Path(zip_name).stem}.json"

    def marker_path(self, key: str) -> Path:
        return self.state / f"{key}.json"

    def done(self, key: str) -> Marker | None:
        """The marker of ``key`` if its report is there, whole and unchanged."""
        try:
            marker = Marker.model_validate_json(self.marker_path(key).read_bytes())
            data = (self.root / marker.report).read_bytes()
        except (OSError, ValidationError):
            return None
        if marker.key != key or hashlib.sha256(data).hexdigest() != marker.report_sha256:
            return None
        return marker

    def commit(self, key: str, report: Report, *, key_pair: Ed25519PrivateKey | None) -> Marker:
        """Sign and write the report, then the marker that declares ``key`` done."""
        path = self.report_path(report.submission.zip_name)
        write_envelope(sign_report(report, key_pair), path)
        marker = Marker(
            key=key,
            zip_name=report.submission.zip_name,
            zip_sha256=report.submission.zip_sha256,
            report=path.relative_to(self.root).as_posix(),
            report_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            status=report.status,
            failure=report.failure.category if report.failure else None,
            signed=key_pair is not None,
            finished_at=report.finished_at,
        )
        atomic_write(self.marker_path(key), marker.model_dump_json(indent=2).encode())
        return marker
