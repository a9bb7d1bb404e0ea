"""What scoring needs from a run: a handful of measurements, independent of the report format.

Batch leaderboards build these from many reports, tests build them by hand, and
:meth:`ScoringInputs.from_report` builds one from a validation report.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.report import ComplexityFigures, FigureSet, Report, SplitFigures
from esr_validator.schemas.ruleset import Metric, Ruleset
from esr_validator.schemas.worker import Environment


class ScoringInputs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    runtime_ms: float | None = Field(gt=0, description="Official protocol, (valid+test)/2.")
    flops_g: float | None = Field(ge=0, description="By the ruleset's counter.")
    params_m: float | None = Field(ge=0)
    psnr: dict[str, float | None] = Field(description="dB per split; None when not measured.")
    device: str = Field(default="", description="GPU name, or the CPU's when run on CPU.")
    scale: int = 4
    activations_m: float | None = Field(default=None, ge=0)
    memory_mb: float | None = Field(
        default=None, ge=0, description="The ranked reading: the ruleset's memory_split's."
    )
    smoke: bool = Field(
        default=False, description="Measured on the embedded smoke set: gates do not apply."
    )

    def metric(self, name: Metric) -> float | None:
        return {
            "runtime": self.runtime_ms,
            "flops": self.flops_g,
            "params": self.params_m,
            "activations": self.activations_m,
            "memory": self.memory_mb,
        }[name]

    def as_dict(self) -> dict[str, float]:
        """The measured values, flat, for ``ScoringResult.inputs``."""
        values: dict[str, float | None] = {
            "runtime_ms": self.runtime_ms,
            "flops_g": self.flops_g,
            "params_m": self.params_m,
            "activations_m": self.activations_m,
            "memory_mb": self.memory_mb,
            **{f"psnr_{split}": v for split, v in self.psnr.items()},
        }
        return {k: float(v) for k, v in values.items() if v is not None}

    @classmethod
    def of(
        cls,
        *,
        official: FigureSet | None,
        splits: list[SplitFigures],
        complexity: ComplexityFigures | None,
        environment: Environment | None,
        scale: int,
        ruleset: Ruleset,
        smoke: bool = False,
        stable: FigureSet | None = None,
    ) -> ScoringInputs:
        """The official figure set, FLOPs from the counter ``ruleset`` ranks by; a runtime
        the clock could not resolve at the stable set's resolution (:func:`resolved_runtime`)."""
        cx = complexity
        flops = None
        if cx is not None:
            flops = cx.flops_legacy_g if ruleset.flops_counter == "legacy" else cx.flops_g
        device = "" if environment is None else (environment.gpu_name or environment.cpu)
        # The organizers publish and rank the valid split's reading (taken after that split,
        # weights included), not a mean over splits: the test reading is a running maximum.
        memory = next(
            (s.official_memory_mb for s in splits if s.split == ruleset.memory_split), None
        )
        return cls(
            runtime_ms=resolved_runtime(official, stable)[0],
            flops_g=flops,
            params_m=cx.params_m if cx else None,
            psnr={s.split: s.psnr for s in splits},
            device=device,
            scale=scale,
            activations_m=cx.activations_m if cx else None,
            memory_mb=memory,
            smoke=smoke,
        )

    @classmethod
    def from_report(cls, report: Report, ruleset: Ruleset) -> ScoringInputs:
        """The scoring inputs of a finished report (leaderboards re-rank reports)."""
        manifest = report.submission.manifest
        return cls.of(
            official=report.official,
            splits=report.splits,
            complexity=report.complexity,
            environment=report.environment,
            stable=report.stable,
            scale=manifest.scale if manifest else ruleset.scales[0],
            ruleset=ruleset,
            smoke=report.dataset is not None and report.dataset.smoke,
        )


FLOOR_MS = 0.001  # the report's precision, when the clock's resolution is unknown


def resolved_runtime(
    official: FigureSet | None, stable: FigureSet | None
) -> tuple[float | None, bool]:
    """The runtime to score, and whether it was floored. A tiny model's round trips can be
    no longer than the null model's, so the official figure (the round trip less that
    overhead, never below 0) comes out 0: not a measurement, and no runtime the formulas
    accept. It is scored at the clock's resolution instead, an upper bound, never lower
    than :data:`FLOOR_MS`."""
    if official is None or official.runtime_ms is None:
        return None, False
    if official.runtime_ms > 0:
        return official.runtime_ms, False
    resolution = stable.resolution_ms if stable is not None else None
    return max(resolution or 0.0, FLOOR_MS), True
