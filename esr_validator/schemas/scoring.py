"""What a ruleset makes of a report's measurements: scores, PSNR gates and a verdict."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class GateResult(_Strict):
    split: str
    psnr: float | None
    threshold: float
    passed: bool
    phase: Literal["final", "development"] = Field(
        default="final", description="Only final gates decide eligibility."
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
    eligible: bool
    reasons: list[str] = Field(default_factory=list)
