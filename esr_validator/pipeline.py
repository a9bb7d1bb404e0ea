"""One submission through every stage: intake → evaluation → report → ruleset.

``validate`` and ``batch`` both call :func:`validate_zip`; it never raises for anything the
submission does, so a batch survives any entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from esr_validator.codes import finding
from esr_validator.data import Dataset
from esr_validator.evaluate import EvalOptions, Evaluation, Progress, dataset_info
from esr_validator.intake.check import run_intake
from esr_validator.intake.manifest import MANIFEST_NAME
from esr_validator.judge import judge
from esr_validator.report import RunContext, build_report, now
from esr_validator.runners.base import Runner
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import Report, RunnerInfo, RunOptions
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration


@dataclass(frozen=True)
class Setup:
    """Everything shared by the submissions of one run.

    ``datasets`` holds one dataset per scale when the ruleset has several (RTSR 2023: x2
    and x3); ``dataset`` is then the first of them. Empty: ``dataset`` serves every entry.
    ``calibrations``, likewise, holds a baseline timing per scale in place of ``calibration``.
    """

    dataset: Dataset
    smoke: bool
    ruleset: Ruleset
    runner: Runner
    unsandboxed_reason: str | None
    options: EvalOptions
    calibration: Calibration | None = None
    datasets: dict[int, Dataset] = field(default_factory=dict)
    calibrations: dict[int, Calibration] = field(default_factory=dict)

    def dataset_for(self, scale: int) -> Dataset | None:
        return self.datasets.get(scale) if self.datasets else self.dataset


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
        timing="synthetic" if o.synthetic else "dataset",
        psnr_border=o.border,
        psnr_y="bt601" if o.psnr_y == "off" and o.ssim else o.psnr_y,
    )


def runner_info(runner: Runner) -> RunnerInfo:
    facts = runner.describe()
    fields = ("image", "image_id", "base_image", "base_digest", "lock_sha256")
    return RunnerInfo(
        kind=runner.kind, sandboxed=runner.sandboxed, **{k: facts.get(k) for k in fields}
    )


def _no_data(setup: Setup, scale: int) -> Finding:
    have = ", ".join(f"x{s}" for s in sorted(setup.datasets))
    return finding(
        "scale-invalid",
        f"scale {scale} is in {setup.ruleset.name}, but this run has data for {have} only",
        path=f"{MANIFEST_NAME}:scale",
        hint=f"Run again with a --data-dir that holds x{scale} data (HR/ and LR/, or x{scale}/).",
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
        scale = intake.manifest.scale if intake.manifest else None
        dataset = setup.dataset if scale is None else setup.dataset_for(scale)
        if dataset is not None:
            ctx = replace(ctx, dataset=dataset_info(dataset, smoke=setup.smoke))
        elif scale in setup.ruleset.scales:  # other scales already have their finding
            intake.findings.append(_no_data(setup, scale))
        if intake.runnable and dataset is not None:
            if setup.unsandboxed_reason:
                intake.findings.append(finding("not-sandboxed", setup.unsandboxed_reason))
            evaluation = Evaluation(intake, dataset, runner=runner, options=setup.options)
            evaluated = evaluation.run(progress)
        report = build_report(intake, ctx, evaluated)
    calibration = setup.calibrations.get(scale or 0, setup.calibration)
    return judge(report, setup.ruleset, calibration=calibration)
