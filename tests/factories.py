"""Factories for tests: evaluated reports of a zip, with real intake, worker and scorer."""

from __future__ import annotations

from pathlib import Path

from esr_validator.data import discover
from esr_validator.evaluate import SMOKE_DIR, EvalOptions, Evaluation, dataset_info
from esr_validator.intake.check import run_intake
from esr_validator.report import RunContext, build_report, now
from esr_validator.runners.local import LocalRunner
from esr_validator.schemas.report import Report

FAST = EvalOptions(runs=2, stable_runs=1, warmup=1, timeout_s=120)


def evaluate(
    zip_path: Path, *, options: EvalOptions = FAST, runner: object | None = None
) -> Report:
    dataset = discover(SMOKE_DIR)
    with run_intake(zip_path) as intake:
        assert intake.runnable, intake.findings
        ctx = RunContext(now(), dataset_info(dataset, smoke=True), None, None)
        ev = Evaluation(intake, dataset, runner=runner or LocalRunner(), options=options)  # type: ignore[arg-type]
        return build_report(intake, ctx, ev.run())


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}
