"""Apply a ruleset to an evaluated report: scores, gates, verdict (and calibration)."""

from __future__ import annotations

from schemas.findings import Severity, has_errors
from schemas.report import Failure, Report
from schemas.ruleset import Ruleset
from schemas.scoring import Calibration
from validator.data import Dataset
from validator.metrics.convert import read_image
from validator.scoring import ScoringInputs, score, scoring_findings


def calibrate_on(ruleset: Ruleset, dataset: Dataset, *, device: str, runs: int) -> Calibration:
    """Time the ruleset's baseline here, on the same LR images, with the official protocol."""
    from validator.calibration import calibrate

    images = [read_image(p.lr) for s in dataset.splits for p in s.pairs]
    return calibrate(ruleset, device=device, runs=runs, images=images)


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
    findings = [*report.findings, *found]
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
