"""``esr-validator pr``: the result of checking one pull request (``pr.json``).

Findings carry repository paths (``models/team16_X.py``, ``submissions/team16.toml``), not
the paths inside the submission zip; each team's full report (zip paths) is written beside
it as ``teamNN.report.json``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import ComplexityFigures, RunOptions

TeamStatus = Literal["evaluated", "invalid", "failed", "not_built", "removed"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class TeamCheck(_Strict):
    team: str = Field(pattern=r"^team[0-9]{2}$")
    team_id: int = Field(ge=0, le=99)
    team_name: str | None = Field(default=None, description="From the manifest, as written.")
    status: TeamStatus = Field(
        description="The report's status; not_built: no zip could be built (findings say "
        "why); removed: the pull request removes the team's files."
    )
    ok: bool = Field(description="No error findings.")
    changed: list[str] = Field(description="Files of this team the pull request adds or changes.")
    deleted: list[str] = Field(default_factory=list)
    manifest_file: str | None = None
    model_file: str | None = None
    checkpoint_file: str | None = None
    zip_file: str | None = Field(default=None, description="The built zip, in --out.")
    zip_sha256: str | None = None
    report_file: str | None = Field(default=None, description="The full report, in --out.")
    findings: list[Finding]
    psnr: dict[str, float | None] = Field(
        default_factory=dict, description="PSNR per split on the embedded smoke set (dB)."
    )
    bicubic_psnr: dict[str, float | None] = Field(default_factory=dict)
    complexity: ComplexityFigures | None = None


class PrCheck(_Strict):
    schema_version: Literal[1] = 1
    validator_version: str
    base: str
    merge_base: str
    head: str
    ok: bool = Field(description="No error findings in any team, nor about the pull request.")
    teams: list[TeamCheck]
    findings: list[Finding] = Field(
        description="Findings about the pull request itself (paths that belong to no team)."
    )
    options: RunOptions | None = None
