"""What a ruleset makes of a report's measurements: scores, PSNR gates and a verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


GateState = Literal["passed", "failed", "not_applicable"]
Verdict = Literal["eligible", "not_eligible", "not_applicable"]


class GateResult(_Strict):
    """One PSNR gate, computed on the raw PSNR. ``not_applicable``: the data is not the
    ruleset's (the embedded smoke set), so the threshold says nothing; ``passed`` is False."""

    split: str
    psnr: float | None
    threshold: float
    passed: bool
    state: GateState = Field(description="passed / failed on the raw value, or not_applicable.")
    phase: Literal["final", "development"] = Field(
        default="final", description="Only final gates decide eligibility."
    )
    printed_psnr: float | None = Field(
        default=None, description="The PSNR as the published tables print it (rounded)."
    )
    printed_passed: bool | None = Field(
        default=None, description="The verdict on the printed value; differs from passed rarely."
    )


class Calibration(_Strict):
    baseline: str = Field(description="Baseline architecture timed on this device.")
    device: str
    runtime_ms: float = Field(description="Local baseline runtime, same protocol.")
    published_runtime_ms: float


class ScoringResult(_Strict):
    ruleset: str
    ruleset_version: str
    reference_device: str
    on_reference_device: bool
    inputs: dict[str, float] = Field(description="Measured values the scores were made from.")
    scores: dict[str, float] = Field(description="Against the published baseline constants.")
    calibrated_scores: dict[str, float] | None = Field(
        default=None, description="Runtime scores against the locally timed baseline."
    )
    calibration: Calibration | None = None
    gates: list[GateResult]
    eligible: bool = Field(description="Ranked by the ruleset; never on smoke data.")
    verdict: Verdict = Field(
        description="eligible / not_eligible, or not_applicable when the gates do not apply "
        "(smoke data): the scores are then shown but unofficial."
    )
    reasons: list[str] = Field(default_factory=list, description="Why not eligible.")
    unofficial: list[str] = Field(
        default_factory=list, description="Why the scores are not the official ones, if so."
    )
    notes: list[str] = Field(
        default_factory=list,
        description="Scoring notes, e.g. a gate the published 2-decimal PSNR would decide "
        "the other way.",
    )
