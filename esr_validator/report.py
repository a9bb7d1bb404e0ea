"""Assemble the one ``Report`` a run produces, whatever happened along the way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from esr_validator import __version__, assess, figures
from esr_validator.codes import finding
from esr_validator.evaluate import Evaluated
from esr_validator.intake.check import Intake
from esr_validator.schemas.findings import Finding, has_errors
from esr_validator.schemas.report import (
    DatasetInfo,
    Failure,
    FailureCategory,
    ImageResult,
    Report,
    RunnerInfo,
    RunOptions,
    SubmissionInfo,
)
from esr_validator.schemas.worker import WorkerFailure

_WORKER_FAILURE = {
    "load_failed": "model-load-failed",
    "crashed": "worker-crashed",
    "out_of_memory": "worker-out-of-memory",
    "bad_output": "output-shape",
}
_CATEGORY_BY_CODE: dict[str, FailureCategory] = {
    "ESR601": "crashed",
    "ESR605": "crashed",
    "ESR606": "crashed",
    "ESR602": "timeout",
    "ESR603": "out_of_memory",
    "ESR604": "out_of_memory",
    "ESR501": "bad_output",
    "ESR502": "bad_output",
    "ESR503": "bad_output",
}


@dataclass(frozen=True)
class RunContext:
    started_at: datetime
    dataset: DatasetInfo | None
    runner: RunnerInfo | None
    options: RunOptions | None


def now() -> datetime:
    return datetime.now(UTC)


def submission_info(intake: Intake) -> SubmissionInfo:
    return SubmissionInfo(
        zip_name=intake.zip_path.name,
        zip_sha256=intake.zip_sha256,
        model_file=intake.model_file,
        model_sha256=intake.file_sha256(intake.model_file),
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
        first = next(f for f in findings if f.severity.value == "error")
        return Failure(category="invalid_package", message=f"{first.code}: {first.message}")
    for f in findings:
        category = _CATEGORY_BY_CODE.get(f.code)
        if category:
            return Failure(category=category, message=f"{f.code}: {f.message}"[:2000])
    return None


def build_report(intake: Intake, ctx: RunContext, evaluated: Evaluated | None) -> Report:
    findings = list(intake.findings)
    base = dict(
        validator_version=__version__,
        started_at=ctx.started_at,
        submission=submission_info(intake),
        dataset=ctx.dataset,
        runner=ctx.runner,
        options=ctx.options,
    )
    if evaluated is None:
        return Report(
            **base,
            finished_at=now(),
            status="invalid",
            ok=False,
            findings=findings,
            failure=failure_of(findings, invalid=True),
        )
    findings += evaluated.findings
    result = evaluated.result
    if result is None or result.status != "ok":
        if result is not None and result.failure is not None:
            findings.append(_failure_finding(result.failure))
        return Report(
            **base,
            finished_at=now(),
            status="failed",
            ok=False,
            findings=findings,
            failure=failure_of(findings, invalid=False),
            environment=result.environment if result else None,
        )
    return _evaluated_report(intake, base, findings, evaluated)


def _evaluated_report(
    intake: Intake, base: dict[str, object], findings: list[Finding], ev: Evaluated
) -> Report:
    assert ev.result is not None and intake.manifest is not None
    result, scores = ev.result, (ev.scores.images if ev.scores else [])
    manifest = intake.manifest
    by_key = {(s.split, s.stem): s for s in scores}
    memory = {m.split: m for m in result.memory}
    split_names = list(dict.fromkeys(im.split for im in result.images))
    splits = [
        figures.split_figures(
            name,
            [im for im in result.images if im.split == name],
            [s for s in scores if s.split == name],
            memory.get(name),
        )
        for name in split_names
    ]
    synthetic = figures.synthetic_figures(result.synthetic) if result.synthetic else None
    if synthetic is not None:
        official, stable = figures.synthetic_sets(synthetic)
    else:
        official, stable = figures.official_set(splits), figures.stable_set(splits, result.images)
    findings += assess.output_findings(
        result.images, scores, data_range=manifest.data_range, scale=manifest.scale
    )
    findings += assess.psnr_findings(splits, data_range=manifest.data_range)
    findings += assess.timing_findings(stable)
    complexity = None
    if result.complexity is not None:
        findings += assess.complexity_findings(result.complexity)
        complexity = assess.complexity_figures(result.complexity, size=256)
    images = []
    for im in result.images:
        s = by_key.get((im.split, im.stem))
        images.append(
            ImageResult(
                split=im.split,
                stem=im.stem,
                psnr=s.psnr if s else None,
                identical=bool(s and s.identical),
                psnr_y=s.psnr_y if s else None,
                ssim=s.ssim if s else None,
                bicubic_psnr=s.bicubic_psnr if s else None,
                official_ms=im.official_ms,
                stable_ms=im.stable_ms,
            )
        )
    dataset = base.get("dataset")
    if isinstance(dataset, DatasetInfo) and dataset.smoke:
        findings.append(
            finding(
                "smoke-data",
                "PSNR comes from the embedded smoke set and is not comparable "
                "to the challenge's PSNR thresholds",
            )
        )
    return Report(
        **base,
        finished_at=now(),
        status="evaluated",
        ok=not has_errors(findings),
        failure=failure_of(findings, invalid=False),
        findings=findings,
        environment=result.environment,
        images=images,
        splits=splits,
        official=official,
        stable=stable,
        synthetic=synthetic,
        complexity=complexity,
    )
