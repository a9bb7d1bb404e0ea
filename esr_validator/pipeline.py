"""One submission through every stage, in one straight line.

    intake → evaluation (sandbox) → measurements → findings → scores → report

:func:`prepare` turns resolved :class:`~esr_validator.settings.Settings` into the
:class:`Setup` shared by every submission of a run (datasets, runner, calibration);
:func:`validate_zip` takes one zip through the stages. Each stage returns its own findings;
the report is built once, at the end. It never raises for anything the submission does, so a
batch survives any entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from esr_validator.codes import finding
from esr_validator.data import DataError, Dataset, load_datasets
from esr_validator.errors import InputError, UsageError
from esr_validator.evaluate import Evaluation, Progress, dataset_info
from esr_validator.intake.check import run_intake
from esr_validator.intake.manifest import MANIFEST_NAME
from esr_validator.report import RunContext, assemble, now
from esr_validator.ruleset_env import environment_findings
from esr_validator.runners.base import Runner
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import Report, RunnerInfo
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import Calibration
from esr_validator.settings import Settings
from esr_validator.waivers import apply_waivers, team_of


@dataclass(frozen=True)
class Setup:
    """Everything shared by the submissions of one run. ``datasets`` and ``calibrations``
    are keyed by scale; ``datasets`` is never empty."""

    settings: Settings
    datasets: dict[int, Dataset]
    runner: Runner
    unsandboxed_reason: str | None
    calibrations: dict[int, Calibration] = field(default_factory=dict)

    @property
    def ruleset(self) -> Ruleset:
        return self.settings.ruleset

    @property
    def dataset(self) -> Dataset:
        """The first scale's dataset: what a report names before the entry's scale is read."""
        return next(iter(self.datasets.values()))

    def on(self, gpu: int | None) -> Setup:
        return Setup(
            self.settings.on(gpu), self.datasets, self.runner, self.unsandboxed_reason,
            self.calibrations,
        )


def load_data(settings: Settings) -> dict[int, Dataset]:
    try:
        return load_datasets(settings.data_dir, scales=settings.ruleset.scales)
    except DataError as exc:
        raise InputError(f"--data-dir {settings.data_dir}: {exc}") from None


def prepare(settings: Settings, *, runner: Runner | None = None) -> Setup:
    """Discover the data and select the runner (docker, else local with its reason)."""
    datasets = load_data(settings)
    if runner is not None:
        reason = None if runner.sandboxed else "the local runner: model code runs unsandboxed"
        return Setup(settings, datasets, runner, reason)
    from esr_validator.runners.select import select_runner

    selection = select_runner(
        settings.runner,
        variant="cpu" if settings.gpu is None else "cuda",
        require_docker=settings.require_docker,
    )
    return Setup(settings, datasets, selection.runner, selection.unsandboxed_reason)


def guard_key(setup: Setup, *, signing: bool) -> None:
    """Refuse to sign when the model runs unsandboxed, unless the user accepted it.

    Outside the sandbox the model runs as the organizer's user: it can read the key file, or
    its path from the parent's command line (/proc/PPID/cmdline) and environment. A report
    signed there proves nothing, so signing needs ``--allow-unsandboxed-signing``, which the
    signed report then records (``options.unsandboxed_signing``).
    """
    if signing and not setup.runner.sandboxed and not setup.settings.allow_unsandboxed_signing:
        raise UsageError(
            "refusing to sign: the entry would run unsandboxed, within reach of the key",
            hint="use the Docker runner (--runner docker), or pass --allow-unsandboxed-signing "
            "to sign anyway (the report records it)",
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
    started = now()
    with run_intake(zip_path, scales=tuple(setup.ruleset.scales)) as intake:
        scale = intake.manifest.scale if intake.manifest else None
        team = team_of(
            manifest_team=intake.manifest.team_id if intake.manifest else None,
            zip_name=zip_path.name,
        )
        # Before the runnability decision: an intake error the organizers waived is evaluated.
        intake.findings = apply_waivers(intake.findings, setup.settings.waivers, team=team)
        dataset = setup.dataset if scale is None else setup.datasets.get(scale)
        stage: list[Finding] = []
        if dataset is None and scale in setup.ruleset.scales:  # others have their finding
            stage.append(_no_data(setup, scale))
        evaluated = None
        if intake.runnable and dataset is not None:
            if setup.unsandboxed_reason:
                stage.append(finding("not-sandboxed", setup.unsandboxed_reason))
            variant = "cpu" if setup.settings.gpu is None else "cuda"
            stage += environment_findings(setup.ruleset, runner=setup.runner.kind, variant=variant)
            options = setup.settings.eval_options()
            evaluated = Evaluation(intake, dataset, runner=setup.runner, options=options).run(
                progress
            )
        ctx = RunContext(
            started_at=started,
            dataset=dataset_info(dataset or setup.dataset, smoke=(dataset or setup.dataset).smoke),
            runner=runner_info(setup.runner),
            options=setup.settings.run_options(),
            ruleset=setup.ruleset,
            calibration=setup.calibrations.get(scale or setup.ruleset.scales[0]),
            waivers=setup.settings.waivers,
            team=team,
        )
        return assemble(intake, ctx, evaluated, pre_findings=stage)
