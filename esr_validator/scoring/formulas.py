"""The score formulas, as pure functions of measurements and published constants.

``runtime_factor`` rescales the measured runtime before any formula sees it: the published
baseline runtime divided by the baseline runtime measured on the same device under the same
protocol. It is 1 for official scores; for calibrated scores it expresses the entry's
runtime as if the local device were the reference GPU, which for ``exp_weighted`` is exactly
"use the local baseline runtime in place of the published constant".
"""

from __future__ import annotations

import math

from esr_validator.errors import UsageError
from esr_validator.schemas.ruleset import Ruleset, WeightedMetric
from esr_validator.scoring.inputs import ScoringInputs


def published_runtime_ms(ruleset: Ruleset, *, scale: int) -> float | None:
    """The baseline runtime the ruleset ranks against: per track for rtsr, else global."""
    track = ruleset.track_for_scale(scale)
    if track is not None and track.baseline_runtime_ms is not None:
        return track.baseline_runtime_ms
    return ruleset.baseline.runtime_ms


def _baseline_value(ruleset: Ruleset, metric: WeightedMetric, *, scale: int) -> float | None:
    if metric == "runtime":
        return published_runtime_ms(ruleset, scale=scale)
    return ruleset.baseline.flops_g if metric == "flops" else ruleset.baseline.params_m


# A score past the largest double is a finding (the entry cannot be scored), never an
# OverflowError in the middle of a batch or an infinity that no report can hold.
OVERFLOW = "score overflow"


def _bounded_exp(exponent: float) -> float | None:
    try:
        value = math.exp(exponent)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def overflowed(inputs: ScoringInputs, ruleset: Ruleset) -> list[str]:
    """A reason per ``exp_weighted`` score (or weighted sum) that does not fit in a double."""
    if ruleset.formula.kind != "exp_weighted":
        return []
    reasons = []
    for metric in ruleset.formula.weights:
        value = inputs.metric(metric)
        base = _baseline_value(ruleset, metric, scale=inputs.scale)
        if value is not None and base and _bounded_exp(2.0 * value / base) is None:
            reasons.append(
                f"{OVERFLOW}: the {metric} score exp(2 x {value:g} / {base:g}) is larger than "
                f"any double"
            )
    return reasons


def exp_weighted(
    inputs: ScoringInputs, ruleset: Ruleset, *, runtime_factor: float
) -> dict[str, float]:
    """``Score_X = exp(2·X / X_baseline)`` per metric and their weighted sum as ``final``."""
    scores: dict[str, float] = {}
    for metric in ruleset.formula.weights:
        value = inputs.metric(metric)
        base = _baseline_value(ruleset, metric, scale=inputs.scale)
        if value is None or base is None:
            continue
        if metric == "runtime":
            value *= runtime_factor
        metric_score = _bounded_exp(2.0 * value / base)
        if metric_score is not None:
            scores[metric] = metric_score
    if len(scores) == len(ruleset.formula.weights):
        final = sum(w * scores[m] for m, w in ruleset.formula.weights.items())
        if math.isfinite(final):
            scores["final"] = final
    return scores


def ranked_psnr(inputs: ScoringInputs, ruleset: Ruleset) -> tuple[str, float | None]:
    """The split and PSNR a PSNR-based formula uses: the ruleset's ranked (first) split.

    A run that measured exactly one other split (the RTSR layout's ``valid``) uses that one;
    :func:`esr_validator.scoring.score` then says so and the entry is not eligible.
    """
    ranked = ruleset.splits[0]
    if ranked not in inputs.psnr and len(inputs.psnr) == 1:
        return next(iter(inputs.psnr.items()))
    return ranked, inputs.psnr.get(ranked)


def rtsr(inputs: ScoringInputs, ruleset: Ruleset, *, runtime_factor: float) -> dict[str, float]:
    """``20·2^Δ / sqrt(ms)`` with ``Δ = max(PSNR − bicubic, 0)``, and 0 when Δ is 0."""
    if ruleset.track_for_scale(inputs.scale) is None:
        raise UsageError(
            f"{ruleset.name} has no x{inputs.scale} track", hint=f"scales: {ruleset.scales}"
        )
    psnr = ranked_psnr(inputs, ruleset)[1]
    bicubic = ruleset.formula.bicubic_psnr
    if psnr is None or bicubic is None or inputs.runtime_ms is None:
        return {}
    gain = max(psnr - bicubic, 0.0)
    runtime = inputs.runtime_ms * runtime_factor
    if gain == 0:
        return {"psnr_gain_db": gain, "final": 0.0}
    boost = _bounded_exp(gain * math.log(2.0))
    final = None if boost is None else ruleset.formula.factor * boost / math.sqrt(runtime)
    if final is None or not math.isfinite(final):
        return {"psnr_gain_db": gain}
    return {"psnr_gain_db": gain, "final": final}


def ratios(inputs: ScoringInputs, ruleset: Ruleset, *, runtime_factor: float) -> dict[str, float]:
    """rank_sum rulesets rank a field, not one entry: report each metric against the baseline."""
    scores: dict[str, float] = {}
    for metric in ("runtime", "flops", "params"):
        value = inputs.metric(metric)
        base = _baseline_value(ruleset, metric, scale=inputs.scale)
        if value is not None and base is not None:
            scores[f"{metric}_ratio"] = (
                value * (runtime_factor if metric == "runtime" else 1.0) / base
            )
    return scores


def formula_scores(
    inputs: ScoringInputs, ruleset: Ruleset, *, runtime_factor: float = 1.0
) -> dict[str, float]:
    kind = ruleset.formula.kind
    if kind == "exp_weighted":
        return exp_weighted(inputs, ruleset, runtime_factor=runtime_factor)
    if kind == "rtsr":
        return rtsr(inputs, ruleset, runtime_factor=runtime_factor)
    return ratios(inputs, ruleset, runtime_factor=runtime_factor)
