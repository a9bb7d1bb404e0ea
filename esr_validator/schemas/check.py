"""``esr-validator check --format json``: the verdict of the static checks on one zip.

``validate --format json`` prints the report itself (``report.schema.json``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.findings import Finding


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckedZip(_Strict):
    zip: str = Field(description="The zip's file name.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class SeverityCounts(_Strict):
    error: int = Field(ge=0)
    warning: int = Field(ge=0)
    info: int = Field(ge=0)
    waived: int = Field(default=0, ge=0, description="Waived findings (not in the counts above).")


class CheckOutput(_Strict):
    ok: bool = Field(description="No error findings.")
    submission: CheckedZip
    summary: SeverityCounts
    findings: list[Finding] = Field(description="Sorted: errors first, then by code.")
