"""Factories for tests: settings, setups and evaluated reports built the way commands build them.

Settings come from :func:`esr_validator.settings.resolve`, like every command's, so a test
never assembles an options object by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from esr_validator.evaluate import EvalOptions, Evaluation, dataset_info
from esr_validator.intake.check import run_intake
from esr_validator.pipeline import Setup, load_data, prepare
from esr_validator.report import RunContext, assemble, now
from esr_validator.runners.base import Runner
from esr_validator.runners.local import LocalRunner
from esr_validator.schemas.report import Report
from esr_validator.settings import Settings, resolve

QUICK = {"runs": 2, "stable_runs": 1, "warmup": 1, "timeout": 120.0}


def make_settings(
    *, gpu: int | None = None, env: dict[str, str] | None = None, **cli: Any
) -> Settings:
    """Settings as ``validate`` resolves them from these command-line values (CPU by default)."""
    return resolve(cli, env=env or {}, gpu=gpu)


def make_setup(*, runner: Runner | None = None, **cli: Any) -> Setup:
    """A run's setup on the local runner (or ``runner``), from command-line values."""
    return prepare(make_settings(**cli), runner=runner or LocalRunner())


FAST = make_settings(**QUICK).eval_options()


def evaluate(
    zip_path: Path, *, options: EvalOptions = FAST, runner: object | None = None
) -> Report:
    """The report of ``zip_path`` on the smoke set, without a ruleset verdict."""
    dataset = next(iter(load_data(make_settings()).values()))
    with run_intake(zip_path) as intake:
        assert intake.runnable, intake.findings
        ctx = RunContext(now(), dataset_info(dataset, smoke=True), None, None)
        ev = Evaluation(intake, dataset, runner=runner or LocalRunner(), options=options)  # type: ignore[arg-type]
        return assemble(intake, ctx, ev.run())


def codes(report: Report) -> set[str]:
    return {f.code for f in report.findings}
