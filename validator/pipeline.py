"""One submission through every stage: intake → evaluation → report → ruleset.

``validate`` and ``batch`` both call :func:`validate_zip`; it never raises for anything the
submission does, so a batch survives any entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.report import Report, RunnerInfo, RunOptions
from schemas.ruleset import Ruleset
from schemas.scoring import Calibration
from validator.codes import finding
from validator.data import Dataset
from validator.evaluate import EvalOptions, Evaluation, Progress, dataset_info
from validator.intake.check import run_intake
from validator.judge import judge
from validator.report import RunContext, build_report, now
from validator.runners.base import Runner


@dataclass(frozen=True)
class Setup:
    """Everything shared by the submissions of one run."""

    dataset: Dataset
    smoke: bool
    ruleset: Ruleset
    runner: Runner
    unsandboxed_reason: str | None
    options: EvalOptions
    calibration: Calibration | None = None


def run_options(setup: Setup) -> RunOptions:
    o = setup.options
    return RunOptions(
        runs=o.runs,
        stable_runs=o.stable_runs,
        warmup=o.warmup,
        device="cpu" if o.gpu is None else f"cuda:{o.gpu}",
        cudnn_benchmark=o.cudnn_benchmark,
        timeout_s=o.timeout_s,
        ruleset=setup.ruleset.name,
    )


def runner_info(runner: Runner) -> RunnerInfo:
    facts = runner.describe()
    fields = ("image", "image_id", "base_image", "base_digest", "lock_sha256")
    return RunnerInfo(
        kind=runner.kind, sandboxed=runner.sandboxed, **{k: facts.get(k) for k in fields}
    )


def validate_zip(zip_path: Path, setup: Setup, *, progress: Progress | None = None) -> Report:
    runner = setup.runner
    ctx = RunContext(
        started_at=now(),
        dataset=dataset_info(setup.dataset, smoke=setup.smoke),
        runner=runner_info(runner),
        options=run_options(setup),
    )
    with run_intake(zip_path, scales=tuple(setup.ruleset.scales)) as intake:
        evaluated = None
        if intake.runnable:
            if setup.unsandboxed_reason:
                intake.findings.append(finding("not-sandboxed", setup.unsandboxed_reason))
            evaluation = Evaluation(intake, setup.dataset, runner=runner, options=setup.options)
            evaluated = evaluation.run(progress)
        report = build_report(intake, ctx, evaluated)
    return judge(report, setup.ruleset, calibration=setup.calibration)
