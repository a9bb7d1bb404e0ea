"""What a reporter draws, and the interface every reporter implements."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TextIO

from esr_validator.schemas.findings import Finding
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report


@dataclass(frozen=True)
class CheckResult:
    """``check``'s result: the zip, whether it passed, every finding."""

    zip_name: str
    zip_sha256: str
    ok: bool
    findings: list[Finding]


UNDONE = "undone"  # a batch entry that could not be run (its job stays to do)


@dataclass(frozen=True)
class BatchEntry:
    """One submission of a batch, as its summary shows it."""

    name: str
    category: str  # "ok", a failure category, or "undone"
    status: str
    new: bool
    message: str = ""


@dataclass(frozen=True)
class BatchResult:
    entries: Sequence[BatchEntry]
    out_dir: Path


class Reporter:
    """Draws each command's result on ``out`` (standard output by default)."""

    name: ClassVar[str]

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def check(self, result: CheckResult) -> None:
        raise NotImplementedError

    def report(self, report: Report) -> None:
        raise NotImplementedError

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        raise NotImplementedError

    def batch(self, result: BatchResult) -> None:
        raise NotImplementedError
