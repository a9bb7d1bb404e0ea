"""A challenge ruleset: what one year's challenge measured and how it turned that into a rank.

Rulesets are data, one TOML file each under ``esr_validator/rulesets/``; this module is their
schema. Every constant in a ruleset is a published figure, and its ``citations`` name the
repository, the full commit hash, the file and the lines each one was read from.
Cross-field rules (weights summing to 1, gates naming real splits, ...) are checked here too,
so that a loaded ruleset can be used without further checks.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Metric = Literal["runtime", "flops", "params", "activations", "memory"]
WeightedMetric = Literal["runtime", "flops", "params"]
FormulaKind = Literal["exp_weighted", "rank_sum", "rtsr"]
Precision = Literal["fp32", "fp16", "bf16", "int8"]
# bt601: MATLAB-style, Y rounded to uint8. bt601_swapped_rb: the 2023 real-time script's
# conversion, R and B weights swapped and Y kept in float32 without rounding.
YChannel = Literal["off", "bt601", "bt601_swapped_rb"]

_POSITIVE = Field(default=None, gt=0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Citation(_Strict):
    """Where published constants were read: one file of one repository at one commit."""

    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    commit: str = Field(pattern=r"^[0-9a-f]{40}$", description="Full commit hash.")
    file: str = Field(min_length=1)
    lines: str = Field(default="", pattern=r"^(\d+(-\d+)?(, ?\d+(-\d+)?)*)?$")
    facts: str = Field(min_length=1, description="What this file gives.")


class ComplexityInput(_Strict):
    """The input FLOPs and activations are counted on.

    ``fixed``: a 1×3×H×W tensor of ``size`` (256×256 in the ESR challenges); ``timed``: the
    synthetic timed input itself, ``timing.output_size // scale`` (2023 real-time).
    """

    kind: Literal["fixed", "timed"] = "fixed"
    size: tuple[int, int] | None = Field(default=None, description="fixed: (H, W).")

    @model_validator(mode="after")
    def _sized(self) -> ComplexityInput:
        if self.kind == "fixed" and (self.size is None or min(self.size) < 16):
            raise ValueError("a fixed complexity input needs a size of at least 16x16")
        if self.kind == "timed" and self.size is not None:
            raise ValueError("a timed complexity input takes its size from timing.output_size")
        return self


class PublishedBaseline(_Strict):
    """The baseline's published figures; ``name`` is an architecture in esr_validator.baselines."""

    name: str
    runtime_ms: float | None = Field(default=None, gt=0, description="As ranked: (valid+test)/2.")
    runtime_valid_ms: float | None = _POSITIVE
    runtime_test_ms: float | None = _POSITIVE
    flops_g: float | None = _POSITIVE
    params_m: float | None = _POSITIVE
    psnr: dict[str, float] = Field(default_factory=dict, description="dB per split.")
    activations_m: float | None = _POSITIVE
    memory_mb: float | None = Field(default=None, gt=0, description="The ranked valid reading.")
    conv_count: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _runtime_is_split_mean(self) -> PublishedBaseline:
        v, t, avg = self.runtime_valid_ms, self.runtime_test_ms, self.runtime_ms
        # Published figures are rounded to 0.01 ms, so their mean may differ by half of that.
        if v is not None and t is not None and avg is not None and abs((v + t) / 2 - avg) > 0.006:
            raise ValueError(f"runtime_ms {avg} is not (valid {v} + test {t}) / 2")
        return self


class Formula(_Strict):
    """How measurements become a score. ``exp_weighted``: lower is better; ``rtsr``: higher."""

    kind: FormulaKind
    weights: dict[WeightedMetric, float] = Field(default_factory=dict)
    bicubic_psnr: float | None = Field(default=None, description="rtsr: the PSNR to beat.")
    factor: float = Field(default=20.0, gt=0, description="rtsr: score = factor·2^Δ/√ms.")

    @model_validator(mode="after")
    def _complete(self) -> Formula:
        if self.kind == "exp_weighted":
            if set(self.weights) != {"runtime", "flops", "params"}:
                raise ValueError("exp_weighted needs weights for runtime, flops and params")
            if not math.isclose(sum(self.weights.values()), 1.0, abs_tol=1e-9):
                raise ValueError(f"weights must sum to 1, not {sum(self.weights.values())}")
        elif self.weights:
            raise ValueError(f"{self.kind} takes no weights")
        if self.kind == "rtsr" and self.bicubic_psnr is None:
            raise ValueError("rtsr needs bicubic_psnr")
        return self

    @property
    def higher_is_better(self) -> bool:
        return self.kind == "rtsr"


class Gate(_Strict):
    """PSNR on ``split`` must be >= ``min_psnr`` (inclusive). Only ``final`` gates rank."""

    split: str
    min_psnr: float
    phase: Literal["final", "development"] = "final"
    printed_decimals: int | None = Field(
        default=2,
        ge=0,
        le=6,
        description="The published tables print PSNR to this many decimals; the gate is "
        "computed on the raw value and a verdict that the printed value would change is noted.",
    )


class Track(_Strict):
    """One leaderboard. ``score``: by the formula's final score; ``sub_score``: by one
    metric's own score (``Score_Runtime``, ...); ``metric``: one measurement, ascending;
    ``rank_sum``: the sum of per-metric ranks, ascending."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str
    rank_by: Literal["score", "sub_score", "metric", "rank_sum"]
    metrics: list[Metric] = Field(default_factory=list)
    constraints: list[Metric] = Field(
        default_factory=list, description="Ranked only if not above the baseline on these."
    )
    scale: int | None = Field(default=None, description="Entries of this scale only.")
    baseline_runtime_ms: float | None = Field(default=None, gt=0, description="Per-track.")

    @model_validator(mode="after")
    def _metrics_fit(self) -> Track:
        need = {"score": (0, 0), "sub_score": (1, 1), "metric": (1, 1), "rank_sum": (2, 5)}[
            self.rank_by
        ]
        if not need[0] <= len(self.metrics) <= need[1]:
            raise ValueError(f"rank_by {self.rank_by} takes {need[0]}-{need[1]} metrics")
        return self


class Timing(_Strict):
    """The runtime protocol, as the organisers' script ran it."""

    description: str
    input: Literal["dataset", "synthetic"] = Field(
        description="dataset: each LR image once per run; synthetic: one fixed-size tensor."
    )
    output_size: tuple[int, int] | None = Field(
        default=None,
        description="synthetic: (H, W) of the SR output; the timed input is this // scale.",
    )
    warmup: int = Field(ge=0)
    timed_passes: int | None = Field(default=None, ge=1, description="synthetic only.")
    runs: int = Field(default=1, ge=1, description="Whole protocol repeats, then averaged.")
    cudnn_benchmark: bool
    no_grad: bool
    precision: Precision = "fp32"

    @model_validator(mode="after")
    def _synthetic_has_size(self) -> Timing:
        if self.input == "synthetic" and (self.output_size is None or self.timed_passes is None):
            raise ValueError("synthetic timing needs output_size and timed_passes")
        return self


class PsnrSpec(_Strict):
    """How the ruleset computes PSNR; the defaults are the ESR convention (RGB, border 4)."""

    border: int = Field(default=4, ge=0, le=64, description="Pixels cropped from every side.")
    y_channel: YChannel = Field(
        default="off",
        description="Also report Y PSNR (not ranked); bt601_swapped_rb applies the B weight to "
        "R and the R weight to B, as the 2023 real-time script did.",
    )


def _square_256() -> ComplexityInput:
    return ComplexityInput(kind="fixed", size=(256, 256))


class EnvPackage(_Strict):
    """One package the organizers' environment offered to entries."""

    name: str = Field(description="The distribution's name, as the organizers listed it.")
    module: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="What entries import.")


class EnvironmentSpec(_Strict):
    """The evaluation environment of the organizers, as entries saw it: their repository's
    requirements, narrowed to the third-party packages the entries' model files import.
    A run whose interpreter or image lacks one says so up front (ESR804)."""

    packages: list[EnvPackage] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="Where the list comes from.")

    @model_validator(mode="after")
    def _unique(self) -> EnvironmentSpec:
        modules = [p.module for p in self.packages]
        if len(set(modules)) != len(modules):
            raise ValueError(f"environment modules repeat: {modules}")
        if self.packages and not self.sources:
            raise ValueError("an environment with packages must cite its sources")
        return self


def _fp32_only() -> list[Precision]:
    return ["fp32"]


class Ruleset(_Strict):
    schema_version: Literal[1] = 1
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    version: str
    year: int = Field(ge=2017, le=2100)
    title: str
    url: str | None = None
    scales: list[int] = Field(min_length=1)
    reference_gpu: str
    reference_gpu_aliases: list[str] = Field(default_factory=list)
    splits: list[str] = Field(min_length=1)
    flops_counter: Literal["fvcore", "legacy"]
    complexity_input: ComplexityInput = Field(default_factory=_square_256)
    memory_split: str | None = Field(
        default=None, description="The split whose memory reading is published and ranked."
    )
    precisions: list[Precision] = Field(default_factory=_fp32_only, min_length=1)
    baseline: PublishedBaseline
    formula: Formula
    gates: list[Gate] = Field(default_factory=list)
    tracks: list[Track] = Field(min_length=1)
    timing: Timing
    psnr: PsnrSpec = Field(default_factory=PsnrSpec)
    environment: EnvironmentSpec = Field(default_factory=EnvironmentSpec)
    sources: list[str] = Field(min_length=1, description="Publications, in words.")
    citations: list[Citation] = Field(min_length=1)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Ruleset:
        for gate in self.gates:
            if gate.split not in self.splits:
                raise ValueError(f"gate on unknown split {gate.split!r}")
        if self.memory_split is not None and self.memory_split not in self.splits:
            raise ValueError(f"memory_split names unknown split {self.memory_split!r}")
        if self.complexity_input.kind == "timed" and self.timing.output_size is None:
            raise ValueError("complexity_input 'timed' needs a synthetic timing.output_size")
        names = [t.name for t in self.tracks]
        if len(set(names)) != len(names):
            raise ValueError(f"track names repeat: {names}")
        if self.formula.kind == "exp_weighted":
            b = self.baseline
            if None in (b.runtime_ms, b.flops_g, b.params_m):
                raise ValueError("exp_weighted needs baseline runtime_ms, flops_g and params_m")
        for track in self.tracks:
            if track.scale is not None and track.scale not in self.scales:
                raise ValueError(f"track {track.name} has scale {track.scale} not in scales")
            if self.formula.kind == "rtsr" and track.baseline_runtime_ms is None:
                raise ValueError(f"rtsr track {track.name} needs baseline_runtime_ms")
            if track.rank_by == "sub_score" and (
                self.formula.kind != "exp_weighted" or track.metrics[0] not in self.formula.weights
            ):
                raise ValueError(f"track {track.name}: sub_score needs an exp_weighted metric")
        return self

    def timed_input_hw(self, scale: int) -> tuple[int, int] | None:
        """(H, W) of the synthetic timed input at ``scale``: ``output_size // scale``."""
        size = self.timing.output_size
        return None if size is None else (size[0] // scale, size[1] // scale)

    def complexity_input_hw(self, scale: int) -> tuple[int, int]:
        """(H, W) of the input FLOPs and activations are counted on, at ``scale``."""
        if self.complexity_input.kind == "timed":
            hw = self.timed_input_hw(scale)
            assert hw is not None  # checked in _consistent
            return hw
        assert self.complexity_input.size is not None  # checked by ComplexityInput
        return self.complexity_input.size

    def track_for_scale(self, scale: int) -> Track | None:
        return next((t for t in self.tracks if t.scale == scale), None)
