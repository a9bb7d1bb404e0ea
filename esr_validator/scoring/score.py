"""One entry against one ruleset: scores, PSNR gates, a verdict, optionally calibrated."""

from __future__ import annotations

from esr_validator.errors import UsageError
from esr_validator.schemas.ruleset import Gate, Ruleset
from esr_validator.schemas.scoring import (
    Calibration,
    GateResult,
    GateState,
    ScoringResult,
    Verdict,
)
from esr_validator.scoring.device import on_reference_device, same_device
from esr_validator.scoring.formulas import (
    OVERFLOW,
    formula_scores,
    overflowed,
    published_runtime_ms,
    ranked_psnr,
)
from esr_validator.scoring.inputs import ScoringInputs

SMOKE_NOTE = "not applicable (smoke data)"


def _gate(gate: Gate, inputs: ScoringInputs) -> GateResult:
    psnr = inputs.psnr.get(gate.split)
    # Inclusive, as published: an entry exactly at the threshold is ranked. The raw value
    # decides; the published tables print 2 decimals, which can read the other way.
    passed = psnr is not None and psnr >= gate.min_psnr
    printed = None
    if psnr is not None and gate.printed_decimals is not None:
        printed = round(psnr, gate.printed_decimals)
    state: GateState = "not_applicable" if inputs.smoke else ("passed" if passed else "failed")
    return GateResult(
        split=gate.split,
        psnr=psnr,
        threshold=gate.min_psnr,
        passed=passed and not inputs.smoke,
        state=state,
        phase=gate.phase,
        printed_psnr=printed,
        printed_passed=None if printed is None else printed >= gate.min_psnr,
    )


def _gate_reasons(gates: list[GateResult]) -> list[str]:
    return [
        f"{g.split} PSNR {'not measured' if g.psnr is None else f'{g.psnr:.4f} dB'} "
        f"below the {g.threshold:.2f} dB gate"
        for g in gates
        if g.phase == "final" and g.state == "failed"
    ]


def _printed_notes(gates: list[GateResult]) -> list[str]:
    """A final gate whose verdict the published, rounded PSNR would reverse."""
    return [
        f"{g.split} PSNR {g.psnr:.4f} dB prints as {g.printed_psnr:.2f}, which would "
        f"{'pass' if g.printed_passed else 'fail'} the {g.threshold:.2f} dB gate; the raw "
        f"value {'passes' if g.psnr >= g.threshold else 'fails'} it and decides here"
        for g in gates
        if g.phase == "final" and g.psnr is not None and g.printed_passed is not None
        if g.printed_passed != (g.psnr >= g.threshold)
    ]


def _runtime_factor(calibration: Calibration, inputs: ScoringInputs, ruleset: Ruleset) -> float:
    """published / local baseline runtime, after checking the calibration fits this run."""
    published = published_runtime_ms(ruleset, scale=inputs.scale)
    if calibration.baseline != ruleset.baseline.name:
        raise UsageError(
            f"calibration timed {calibration.baseline}, but {ruleset.name}'s baseline is "
            f"{ruleset.baseline.name}"
        )
    if published is None or abs(calibration.published_runtime_ms - published) > 1e-9:
        raise UsageError(
            f"calibration was made against a published runtime of "
            f"{calibration.published_runtime_ms} ms, but {ruleset.name} x{inputs.scale} uses "
            f"{published} ms"
        )
    if calibration.runtime_ms <= 0:
        raise UsageError(f"calibration runtime must be positive, got {calibration.runtime_ms}")
    if inputs.device and not same_device(calibration.device, inputs.device):
        raise UsageError(
            f"calibration ran on {calibration.device}, the entry on {inputs.device}",
            hint="time the baseline on the device that timed the entry",
        )
    return published / calibration.runtime_ms


def _missing(scores: dict[str, float], inputs: ScoringInputs, ruleset: Ruleset) -> list[str]:
    kind = ruleset.formula.kind
    if kind == "rank_sum" or "final" in scores:
        return []
    overflow = overflowed(inputs, ruleset)
    if overflow:
        return overflow
    needed: dict[str, float | None] = {"runtime": inputs.runtime_ms}
    if kind == "exp_weighted":
        needed |= {"FLOPs": inputs.flops_g, "params": inputs.params_m}
    else:
        needed["PSNR"] = ranked_psnr(inputs, ruleset)[1]
    absent = [name for name, value in needed.items() if value is None]
    if not absent:  # all measured, and still no score: it does not fit in a double
        return [f"{OVERFLOW}: the final score is larger than any double"]
    return [f"no final score: {', '.join(absent)} not measured"]


def score(
    inputs: ScoringInputs, ruleset: Ruleset, *, calibration: Calibration | None = None
) -> ScoringResult:
    """Score ``inputs`` by ``ruleset``; with ``calibration``, also against the local baseline."""
    gates = [_gate(g, inputs) for g in ruleset.gates]
    scores = formula_scores(inputs, ruleset)
    reasons = _gate_reasons(gates) + _missing(scores, inputs, ruleset)
    if ruleset.formula.kind == "rtsr" and not inputs.smoke:
        # Both are about the ranked data (bicubic PSNR is their test set's): on smoke data
        # they do not apply, like the gates.
        if scores.get("final") == 0.0:
            reasons.append(
                f"PSNR not above bicubic ({ruleset.formula.bicubic_psnr} dB): score nullified"
            )
        split = ranked_psnr(inputs, ruleset)[0]
        if split != ruleset.splits[0]:
            reasons.append(f"PSNR is the {split} split's, not the ranked {ruleset.splits[0]}'s")
    calibrated = None
    if calibration is not None:
        factor = _runtime_factor(calibration, inputs, ruleset)
        calibrated = formula_scores(inputs, ruleset, runtime_factor=factor)
    on_reference = on_reference_device(inputs.device, ruleset)
    unofficial: list[str] = []
    if inputs.smoke:
        unofficial.append(f"PSNR gates {SMOKE_NOTE}: the scores are unofficial")
    if not on_reference:
        unofficial.append(f"not timed on the reference {ruleset.reference_gpu}")
    verdict: Verdict = "not_eligible" if reasons else "eligible"
    if inputs.smoke and not reasons:
        verdict = "not_applicable"
    return ScoringResult(
        ruleset=ruleset.name,
        ruleset_version=ruleset.version,
        reference_device=ruleset.reference_gpu,
        on_reference_device=on_reference,
        inputs=inputs.as_dict(),
        scores=scores,
        calibrated_scores=calibrated,
        calibration=calibration,
        gates=gates,
        eligible=verdict == "eligible",
        verdict=verdict,
        reasons=reasons,
        unofficial=unofficial,
        notes=[] if inputs.smoke else _printed_notes(gates),
    )
