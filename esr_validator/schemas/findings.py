"""A finding: one problem found in a submission, reported as data."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Waived(BaseModel):
    """An organizer's waiver that applied to a finding: it stays reported but fails nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str = Field(min_length=1)
    expires: date
    waivers_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The waivers file.")


class Finding(BaseModel):
    """One problem with a submission. ``code`` is stable across releases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^ESR[0-9]{3}$")
    name: str
    severity: Severity
    path: str | None = None
    line: int | None = Field(default=None, ge=1)
    message: str
    hint: str | None = None
    waived: Waived | None = Field(default=None, description="Set when a waiver applied.")


def has_errors(findings: list[Finding]) -> bool:
    """Whether any error counts: a waived error is reported but fails nothing."""
    return any(f.severity is Severity.ERROR and f.waived is None for f in findings)


def has_warnings(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.WARNING and f.waived is None for f in findings)


def fails(findings: list[Finding], *, fail_on: str) -> bool:
    """Whether ``findings`` fail a run under ``--fail-on`` (error, warning or never).

    Waived findings never count; info notes never fail a run.
    """
    if fail_on == "never":
        return False
    return has_errors(findings) or (fail_on == "warning" and has_warnings(findings))
