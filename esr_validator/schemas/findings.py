"""A finding: one problem found in a submission, reported as data."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


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


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity is Severity.ERROR for f in findings)
