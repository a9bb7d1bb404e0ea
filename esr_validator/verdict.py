"""The ruleset's verdict on measurements: scores, gates, and the findings they give.

A stage of its own after the checks: it reads the measurements and returns a
:class:`Verdict` (the scoring block, its findings, the failure a gate decides); it never
touches a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from esr_validator.codes import finding, is_code
from esr_validator.figures import Measurements
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.report import Failure
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration, ScoringResult
from esr_validator.scoring import ScoringInputs, score, scoring_findings
from esr_validator.scoring.inputs import resolved_runtime


@dataclass(frozen=True)
class Verdict:
    scoring: ScoringResult
    findings: list[Finding]
    failure: Failure | None


def protocol_findings(
    measured: Measurements, ruleset: Ruleset, manifest: Manifest
) -> list[Finding]:
    """``timing-protocol-deviation`` when the runtime was not measured by the ruleset's protocol."""
    t, s = ruleset.timing, measured.synthetic
    changed: list[str] = []
    if t.input == "dataset" and s is not None:
        changed.append("timed on a fixed input; the ruleset times each LR image")
    elif t.input == "synthetic" and s is None:
        changed.append(f"timed per LR image; the ruleset times {t.timed_passes} fixed-input passes")
    elif t.input == "synthetic" and s is not None:
        if t.output_size:
            want = tuple(side // manifest.scale for side in t.output_size)
            if (s.input_height, s.input_width) != want:
                changed.append(f"input {s.input_height}x{s.input_width}, not {want[0]}x{want[1]}")
        if s.precision != t.precision:
            changed.append(f"{s.precision}, not {t.precision} ({'; '.join(s.notes) or 'as asked'})")
        if s.warmup != t.warmup:
            changed.append(f"warm-up passes {s.warmup}, not {t.warmup}")
        if s.passes != t.timed_passes:
            changed.append(f"timed passes {s.passes}, not {t.timed_passes}")
        if s.cudnn_benchmark != t.cudnn_benchmark:
            changed.append(f"cudnn.benchmark {s.cudnn_benchmark}, not {t.cudnn_benchmark}")
    if not changed:
        return []
    message = f"the runtime does not follow {ruleset.name}'s protocol: " + "; ".join(changed)
    return [finding("timing-protocol-deviation", message)]


def judge(
    measured: Measurements,
    ruleset: Ruleset,
    *,
    manifest: Manifest,
    smoke: bool,
    calibration: Calibration | None = None,
) -> Verdict:
    inputs = ScoringInputs.of(
        official=measured.official,
        splits=measured.splits,
        complexity=measured.complexity,
        environment=measured.environment,
        stable=measured.stable,
        scale=manifest.scale,
        ruleset=ruleset,
        smoke=smoke,  # the gates read "not applicable (smoke data)": no psnr-gate-failed
    )
    result = score(inputs, ruleset, calibration=calibration)
    env = measured.environment
    found = scoring_findings(result, device=(env.gpu_name or env.cpu) if env else "")
    gate_failed = any(
        is_code(f, "psnr-gate-failed") and f.severity is Severity.ERROR for f in found
    )
    failure = None
    if gate_failed:
        failure = Failure(category="below_gate", message="; ".join(result.reasons) or "PSNR gate")
    found += unresolved_runtime(measured)
    return Verdict(result, [*found, *protocol_findings(measured, ruleset, manifest)], failure)


def unresolved_runtime(measured: Measurements) -> list[Finding]:
    scored, floored = resolved_runtime(measured.official, measured.stable)
    if not floored:
        return []
    return [
        finding(
            "runtime-unresolved",
            f"the official runtime is 0 ms once the channel's overhead is taken off; scored "
            f"at the clock's resolution, {scored:.4g} ms, an upper bound",
        )
    ]
