"""Apply a ruleset to an evaluated report: scores, gates, verdict (and calibration)."""

from __future__ import annotations

from esr_validator.codes import finding
from esr_validator.data import Dataset
from esr_validator.evaluate import SyntheticOptions
from esr_validator.metrics.convert import read_image
from esr_validator.schemas.findings import Finding, Severity, has_errors
from esr_validator.schemas.report import Failure, Report
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration
from esr_validator.scoring import ScoringInputs, score, scoring_findings


def calibrate_on(
    ruleset: Ruleset,
    dataset: Dataset,
    *,
    device: str,
    runs: int,
    synthetic: SyntheticOptions | None = None,
    scale: int | None = None,
) -> Calibration:
    """Time the ruleset's baseline here, on the same LR images, with the official protocol;
    a synthetic protocol runs with the warm-up and passes the entries run with."""
    from esr_validator.calibration import calibrate

    if synthetic is not None:
        update = {"warmup": synthetic.warmup, "timed_passes": synthetic.passes}
        timing = ruleset.timing.model_copy(update=update)
        return calibrate(ruleset, device=device, timing=timing, scale=scale)
    images = [read_image(p.lr) for s in dataset.splits for p in s.pairs]
    return calibrate(ruleset, device=device, runs=runs, images=images)


def protocol_findings(report: Report, ruleset: Ruleset) -> list[Finding]:
    """ESR704 when the runtime was not measured by ``ruleset``'s own protocol."""
    t, s = ruleset.timing, report.synthetic
    changed: list[str] = []
    if t.input == "dataset" and s is not None:
        changed.append("timed on a fixed input; the ruleset times each LR image")
    elif t.input == "synthetic" and s is None:
        changed.append(f"timed per LR image; the ruleset times {t.timed_passes} fixed-input passes")
    elif t.input == "synthetic" and s is not None:
        manifest = report.submission.manifest
        if t.output_size and manifest:
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


def judge(report: Report, ruleset: Ruleset, *, calibration: Calibration | None = None) -> Report:
    """Return ``report`` with its scoring block, the ruleset's findings and verdict."""
    if report.status != "evaluated":
        return report
    result = score(ScoringInputs.from_report(report, ruleset), ruleset, calibration=calibration)
    env = report.environment
    found = scoring_findings(result, device=(env.gpu_name or env.cpu) if env else "")
    smoke = report.dataset is not None and report.dataset.smoke
    if smoke:
        # Smoke-set PSNR says nothing about the thresholds: show the gate, do not fail on it.
        found = [
            f.model_copy(
                update={"severity": Severity.WARNING, "message": f.message + " (smoke data)"}
            )
            if f.code == "ESR701"
            else f
            for f in found
        ]
    findings = [*report.findings, *found, *protocol_findings(report, ruleset)]
    failure = report.failure
    if failure is None and any(f.code == "ESR701" and f.severity is Severity.ERROR for f in found):
        failure = Failure(category="below_gate", message="; ".join(result.reasons) or "PSNR gate")
    return report.model_copy(
        update={
            "scoring": result,
            "findings": findings,
            "ok": not has_errors(findings),
            "failure": failure,
        }
    )
