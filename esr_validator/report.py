"""Assemble the one ``Report`` a run produces, whatever happened along the way.

The stages run in one line and each returns its own findings: measurements
(:func:`esr_validator.figures.measure`), then checks (:mod:`esr_validator.checks`), then the
ruleset's verdict (:mod:`esr_validator.verdict`). The report is built once, from all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from esr_validator import __version__, checks, figures
from esr_validator.codes import code_of, finding
from esr_validator.evaluate import Evaluated
from esr_validator.intake.check import Intake
from esr_validator.schemas.findings import Finding, has_errors
from esr_validator.schemas.report import (
    DatasetInfo,
    Failure,
    Report,
    RunnerInfo,
    RunOptions,
    SubmissionInfo,
)
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration
from esr_validator.schemas.worker import WorkerFailure
from esr_validator.verdict import judge
from esr_validator.waivers import Waivers, apply_waivers

_WORKER_FAILURE = {
    "load_failed": "model-load-failed",
    "crashed": "worker-crashed",
    "out_of_memory": "worker-out-of-memory",
    "bad_output": "output-shape",
}


@dataclass(frozen=True)
class RunContext:
    started_at: datetime
    dataset: DatasetInfo | None
    runner: RunnerInfo | None
    options: RunOptions | None
    ruleset: Ruleset | None = None  # None: no verdict (the report is not scored)
    calibration: Calibration | None = None
    waivers: Waivers | None = None
    team: int | None = None  # whose waivers apply

    def waive(self, findings: list[Finding]) -> list[Finding]:
        return apply_waivers(findings, self.waivers, team=self.team)


def now() -> datetime:
    return datetime.now(UTC)


def submission_info(intake: Intake) -> SubmissionInfo:
    return SubmissionInfo(
        zip_name=intake.zip_path.name,
        zip_sha256=intake.zip_sha256,
        model_file=intake.model_file,
        model_sha256=intake.file_sha256(intake.model_file),
        model_package=intake.model_package,
        package_sha256={f: d for f in intake.package_files if (d := intake.file_sha256(f))},
        checkpoint_file=intake.checkpoint_file,
        checkpoint_sha256=intake.file_sha256(intake.checkpoint_file),
        manifest=intake.manifest,
    )


def _failure_finding(failure: WorkerFailure) -> Finding:
    where = f" (during {failure.where})" if failure.where else ""
    return finding(_WORKER_FAILURE[failure.category], f"{failure.message}{where}")


def failure_of(findings: list[Finding], *, invalid: bool) -> Failure | None:
    """The failure category a batch records, from the first decisive error."""
    if invalid:
        errors = [f for f in findings if f.severity.value == "error"]
        first = next((f for f in errors if f.waived is None), errors[0])
        return Failure(category="invalid_package", message=f"{first.code}: {first.message}")
    for f in findings:
        if f.waived is not None:
            continue
        category = code_of(f).failure
        if category:
            return Failure(category=category, message=f"{f.code}: {f.message}"[:2000])
    return None


def _smoke_note(dataset: DatasetInfo | None) -> list[Finding]:
    if dataset is None or not dataset.smoke:
        return []
    return [
        finding(
            "smoke-data",
            "PSNR comes from the embedded smoke set and is not comparable "
            "to the challenge's PSNR thresholds",
        )
    ]


def assemble(
    intake: Intake,
    ctx: RunContext,
    evaluated: Evaluated | None,
    *,
    pre_findings: list[Finding] = (),  # type: ignore[assignment]
) -> Report:
    """The report of one submission; ``pre_findings`` come from the stages before the worker."""
    findings = ctx.waive([*intake.findings, *pre_findings])
    base = dict(
        validator_version=__version__,
        started_at=ctx.started_at,
        submission=submission_info(intake),
        dataset=ctx.dataset,
        runner=ctx.runner,
        options=ctx.options,
    )
    if evaluated is None:
        failure = failure_of(findings, invalid=True) if has_errors(findings) else None
        return Report(
            **base, finished_at=now(), status="invalid", ok=False, findings=findings,
            failure=failure,
        )  # fmt: skip
    findings += evaluated.findings
    result = evaluated.result
    if result is None or result.status != "ok":
        if result is not None and result.failure is not None:
            findings.append(_failure_finding(result.failure))
        findings = ctx.waive(findings)
        return Report(
            **base,
            finished_at=now(),
            status="failed",
            ok=False,
            findings=findings,
            failure=failure_of(findings, invalid=False),
            environment=result.environment if result else None,
        )
    manifest = intake.manifest
    assert manifest is not None  # a runnable intake has one
    scores = evaluated.scores.images if evaluated.scores else []
    measured = figures.measure(result, scores)
    findings += checks.measurement_findings(measured, result, scores, manifest)
    findings += _smoke_note(ctx.dataset)
    verdict = None
    if ctx.ruleset is not None:
        smoke = ctx.dataset is not None and ctx.dataset.smoke
        verdict = judge(
            measured, ctx.ruleset, manifest=manifest, smoke=smoke, calibration=ctx.calibration
        )
        findings += verdict.findings
    findings = ctx.waive(findings)
    return Report(
        **base,
        finished_at=now(),
        status="evaluated",
        ok=not has_errors(findings),
        failure=failure_of(findings, invalid=False) or (verdict.failure if verdict else None),
        findings=findings,
        environment=measured.environment,
        images=measured.images,
        runs=list(measured.runs),
        splits=measured.splits,
        official=measured.official,
        stable=measured.stable,
        synthetic=measured.synthetic,
        complexity=measured.complexity,
        scoring=verdict.scoring if verdict else None,
    )
