"""Evaluate an intake-approved submission: sandbox sessions → (untrusted answers) → scorer.

The data flow is the trust boundary. This trusted side decodes the LR images and hands them
to sandbox processes one at a time through a channel (:mod:`esr_validator.official`): one
process counts complexity, then each official run is a fresh process. Every answer is parsed
as hostile input and timed from here. The SR outputs of run 0 land in a folder only the
scorer reads; HR stays where it is and only the scorer, which never runs submission code,
reads it. The sandbox gets the submission, read-only, and nothing else on disk.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from esr_validator.checks import process_findings
from esr_validator.codes import finding
from esr_validator.data import Dataset
from esr_validator.fidelity import measure_fidelity
from esr_validator.figures import measure
from esr_validator.intake.check import Intake
from esr_validator.integrity import assemble, complexity_findings
from esr_validator.noise import worth_confirming
from esr_validator.official import (
    NULL_PASSES,
    OUTPUT_TOLERANCE,
    Confirmation,
    LRImage,
    RunRecord,
    SessionFailed,
    Sessions,
    decode,
)
from esr_validator.owner import owned_tempdir
from esr_validator.runners.base import Mount, ProcessSpec, Runner
from esr_validator.schemas.fidelity import ScoreItem, ScoreOutput, ScoreRequest
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import DatasetInfo, SplitData
from esr_validator.schemas.ruleset import YChannel
from esr_validator.schemas.worker import (
    WorkerConfig,
    WorkerResult,
    reference_layers,
)
from esr_validator.settings import ComplexityInputOption, SyntheticOptions

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class EvalOptions:
    """``synthetic`` replaces per-image timing (runs, stable_runs, warmup) when set."""

    runs: int = 5
    stable_runs: int = 5
    warmup: int = 3
    device: str = "cpu"
    gpu: int | None = None
    cudnn_benchmark: bool = False
    timeout_s: float = 1800.0
    ssim: bool = False
    legacy_flops: bool = False
    threads: int | None = None
    synthetic: SyntheticOptions | None = None
    border: int = 4
    psnr_y: YChannel = "off"
    complexity_input: ComplexityInputOption = field(default_factory=ComplexityInputOption)


@dataclass
class Evaluated:
    """What one evaluation produced; ``result`` is None when the worker failed outright."""

    result: WorkerResult | None
    scores: ScoreOutput | None
    findings: list[Finding]
    wall_s: float


def dataset_info(dataset: Dataset, *, smoke: bool) -> DatasetInfo:
    return DatasetInfo(
        name="smoke" if smoke else dataset.root.name,
        smoke=smoke,
        layout=dataset.splits[0].prefix if dataset.splits else "",
        splits=[
            SplitData(name=s.name, count=len(s.pairs), lr_sha256=s.lr_digest, hr_sha256=s.hr_digest)
            for s in dataset.splits
        ],
    )


class SandboxRun:
    """The sandbox half of an evaluation: complexity, then each official run, each a fresh
    process fed ``images`` one at a time; SR outputs of run 0 land in ``sr_dir``.

    ``run`` never raises for the model: its failures come back as findings.
    """

    def __init__(
        self,
        intake: Intake,
        images: list[LRImage],
        *,
        runner: Runner,
        options: EvalOptions,
        sr_dir: Path,
    ) -> None:
        assert intake.runnable and intake.root and intake.manifest
        self.intake = intake
        self.images = images
        self.runner = runner
        self.options = options
        self.sr_dir = sr_dir

    def _config(self) -> WorkerConfig:
        sub = self._submission_mount()
        assert self.intake.manifest and self.intake.model_file and self.intake.checkpoint_file
        o = self.options
        return WorkerConfig(
            manifest=self.intake.manifest,
            submission_dir=self.runner.path_in_view(sub),
            model_file=self.intake.model_file,
            model_package=self.intake.model_package,
            checkpoint_file=self.intake.checkpoint_file,
            device="cuda" if o.gpu is not None else "cpu",
            cudnn_benchmark=o.cudnn_benchmark,
            legacy_flops=o.legacy_flops,
            complexity_input=o.complexity_input.hw(self.intake.manifest.scale),
            threads=o.threads,
            synthetic=o.synthetic.spec(self.intake.manifest.scale) if o.synthetic else None,
        )

    def _submission_mount(self) -> Mount:
        assert self.intake.root is not None
        return Mount(self.intake.root, "/submission", read_only=True)

    def _sessions(self, progress: Progress | None) -> Sessions:
        if self.runner.sandboxed:
            # The container's unprivileged user must read the (read-only) submission mount.
            assert self.intake.root is not None
            self.intake.root.chmod(0o755)
        self.sr_dir.mkdir(parents=True, exist_ok=True)
        runs = 1 if self.options.synthetic else self.options.runs
        repeat = self.options.synthetic is None and self.options.stable_runs > 0
        return Sessions(
            runner=self.runner,
            config=self._config(),
            images=self.images,
            mounts=(self._submission_mount(),),
            timeout_s=self.options.timeout_s,
            gpu=self.options.gpu,
            sr_dir=self.sr_dir,
            progress=progress,
            total=len(self.images) * (NULL_PASSES + runs) + (runs if repeat else 0),
        )

    @property
    def _reference(self) -> bool:
        """Whether a spread the clock does not explain is judged against the machine's: only
        where there is a run-to-run spread to judge."""
        o = self.options
        return o.synthetic is None and o.stable_runs > 0 and o.runs >= 2

    def run(self, progress: Progress | None = None) -> tuple[WorkerResult | None, list[Finding]]:
        started = time.perf_counter()
        sessions = self._sessions(progress)
        runs = 1 if self.options.synthetic else self.options.runs
        repeat = self.options.synthetic is None and self.options.stable_runs > 0
        try:
            overhead, counted = sessions.overhead()
            if counted.complexity is not None:
                c = counted.complexity
                pixels = c.input_height * c.input_width
                scale = sessions.config.manifest.scale
                sessions.reference_layers = reference_layers(c.flops, pixels, scale)
            records = [sessions.official_run(r, repeat=repeat) for r in range(runs)]
        except SessionFailed as exc:
            return self._failed(exc)

        def assembled(
            references: list[RunRecord], round_: Confirmation | None = None
        ) -> tuple[WorkerResult, list[Finding]]:
            return assemble(
                sessions.images,
                records,
                overhead,
                cuda=self.options.gpu is not None,
                synthetic=self.options.synthetic is not None,
                tolerance=OUTPUT_TOLERANCE,
                null=sessions.null,
                references=references,
                confirmation=round_,
            )

        # Each step is paid for only where the one before would blame the model: a spread
        # beyond the clock's gets the machine timed after the runs; a spread beyond the
        # machine's gets a confirmation round, which decides (esr_validator/noise.py).
        result, findings = assembled([])
        if self._reference and measure(result, []).stable.noisy:
            references = self._reference_runs(sessions, runs)
            if references:
                result, findings = assembled(references)
                stable = measure(result, []).stable
                if worth_confirming(stable.run_cv, stable.machine_cv):
                    round_ = self._confirmation(sessions, runs, repeat=repeat)
                    if round_ is not None:
                        result, findings = assembled(references, round_)
        if any(o.log_truncated for o in sessions.outcomes):
            findings.append(
                finding("worker-output-flood", "the model printed more than the log keeps")
            )
        if counted.complexity is not None:
            asked = sessions.config.complexity_input
            findings += complexity_findings(counted.complexity, asked=asked)
        wall = time.perf_counter() - started
        result = result.model_copy(update={"complexity": counted.complexity, "wall_s": wall})
        return result, findings

    @staticmethod
    def _reference_runs(sessions: Sessions, runs: int) -> list[RunRecord]:
        """As many reference runs as official ones, each a process of its own; [] if one
        failed (the validator's own model: the stable set is then judged without it)."""
        sessions.total += len(sessions.images) * runs
        try:
            return [sessions.reference_run() for _ in range(runs)]
        except SessionFailed:
            return []

    @staticmethod
    def _confirmation(sessions: Sessions, runs: int, *, repeat: bool) -> Confirmation | None:
        """The confirmation round: as many more runs of the entry as official ones, each a
        fresh process like an official run, each followed at once by a reference run. None
        if any of them failed: the runs' verdict beside the machine then stands, so an entry
        cannot buy a better one by failing."""
        sessions.total += len(sessions.images) * 2 * runs + (runs if repeat else 0)
        round_ = Confirmation()
        try:
            for r in range(runs):
                round_.runs.append(sessions.official_run(runs + r, repeat=repeat))
                round_.references.append(sessions.reference_run())
        except SessionFailed:
            return None
        return round_

    @staticmethod
    def _failed(exc: SessionFailed) -> tuple[WorkerResult | None, list[Finding]]:
        """A session that gave no usable answer: its own failure record, else its exit."""
        outcome = exc.outcome
        problems: list[Finding] = []
        if outcome is not None and outcome.log_truncated:
            problems.append(
                finding("worker-output-flood", "the model printed more than the log keeps")
            )
        if outcome is not None and outcome.timed_out:
            return None, problems + process_findings(outcome, role="worker")
        if exc.result is not None and exc.result.status == "failed":
            return exc.result, problems
        if outcome is not None and (outcome.exit_code != 0 or outcome.signal is not None):
            return None, problems + process_findings(outcome, role="worker")
        message = str(exc) or "the sandbox gave no result"
        return None, [*problems, finding("worker-result-invalid", message)]


class Evaluation:
    """One submission on one dataset with one runner; ``run`` never raises for the model."""

    def __init__(
        self, intake: Intake, dataset: Dataset, *, runner: Runner, options: EvalOptions
    ) -> None:
        assert intake.runnable and intake.root and intake.manifest
        self.intake = intake
        self.dataset = dataset
        self.runner = runner
        self.options = options
        self.ws = owned_tempdir("esr-eval-")

    def _score_items(self, result: WorkerResult) -> list[ScoreItem]:
        # Only files the host expects are scored; whatever else the worker wrote is ignored.
        written = {(im.split, im.stem): im.sr_file for im in result.images}
        items = []
        for split in self.dataset.splits:
            for pair in split.pairs:
                expected = f"sr/{split.name}/{pair.stem}.npy"
                got = written.get((split.name, pair.stem))
                items.append(
                    ScoreItem(
                        split=split.name,
                        stem=pair.stem,
                        hr_file=str(pair.hr.relative_to(self.dataset.root)),
                        lr_file=str(pair.lr.relative_to(self.dataset.root)),
                        sr_file=expected if got == expected else None,
                    )
                )
        return items

    def _score(self, result: WorkerResult) -> tuple[ScoreOutput | None, list[Finding]]:
        """Score in-process when the runner is local, else in a second, submission-free sandbox."""
        assert self.intake.manifest is not None
        hr = Mount(self.dataset.root, "/data", read_only=True)
        sr = Mount(self.ws / "out", "/sr", read_only=True)
        box = Mount(self.ws / "score", "/score", read_only=False)
        view = self.runner.path_in_view if self.runner.sandboxed else (lambda m: str(m.host))
        request = ScoreRequest(
            hr_dir=view(hr),
            lr_dir=view(hr),  # the LR images sit in the dataset folder too
            sr_dir=view(sr),
            out_file=f"{view(box)}/score.json",
            scale=self.intake.manifest.scale,
            border=self.options.border,
            ssim=self.options.ssim,
            y_channel=self.options.psnr_y,
            items=self._score_items(result),
        )
        if not self.runner.sandboxed:
            return measure_fidelity(request), []
        box.host.mkdir()
        box.host.chmod(0o777)  # the scorer container runs as an unprivileged user too
        (box.host / "request.json").write_text(request.model_dump_json())
        spec = ProcessSpec(
            role="scorer",
            module="esr_validator.fidelity",
            args=(f"{view(box)}/request.json",),
            mounts=(hr, sr, box),
            timeout_s=self.options.timeout_s,
        )
        outcome = self.runner.run(spec)
        out = box.host / "score.json"
        if outcome.exit_code != 0 or not out.is_file():
            return None, process_findings(outcome, role="scorer")
        return ScoreOutput.model_validate_json(out.read_bytes()), []

    def run(self, progress: Progress | None = None) -> Evaluated:
        try:
            started = time.perf_counter()
            sandbox = SandboxRun(
                self.intake,
                decode(self.dataset),
                runner=self.runner,
                options=self.options,
                sr_dir=self.ws / "out",
            )
            result, problems = sandbox.run(progress)
            wall = time.perf_counter() - started
            if result is None or result.status != "ok":
                return Evaluated(result, None, problems, wall)
            scores, scoring_problems = self._score(result)
            return Evaluated(result, scores, problems + scoring_problems, wall)
        finally:
            shutil.rmtree(self.ws, ignore_errors=True)
