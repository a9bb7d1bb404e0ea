"""Evaluate an intake-approved submission: worker → (untrusted result) → scorer → report.

The data flow is the trust boundary. This trusted side stages the LR images into a fresh
folder, hands the worker that folder, the submission and an empty output folder, and then
parses what the worker wrote as hostile input. HR stays where it is and only the scorer,
which never runs submission code, reads it.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from esr_validator.checks import process_findings
from esr_validator.codes import finding
from esr_validator.data import Dataset
from esr_validator.fidelity import measure_fidelity
from esr_validator.intake.check import Intake
from esr_validator.runners.base import Mount, ProcessSpec, Runner
from esr_validator.schemas.fidelity import ScoreItem, ScoreOutput, ScoreRequest
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import DatasetInfo, SplitData
from esr_validator.schemas.ruleset import YChannel
from esr_validator.schemas.worker import (
    WorkerConfig,
    WorkerResult,
)
from esr_validator.settings import SyntheticOptions

MAX_RESULT_BYTES = 16 << 20
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


def _watch(progress_file: Path, total: int, report: Progress, stop: threading.Event) -> None:
    while not stop.wait(0.25):
        try:
            report(min(int(progress_file.read_text() or 0), total), total)
        except (OSError, ValueError):
            continue


def _read_result(out: Path) -> tuple[WorkerResult | None, list[Finding]]:
    path = out / "result.json"
    if not path.is_file() or path.is_symlink():
        return None, []
    if path.stat().st_size > MAX_RESULT_BYTES:
        return None, [finding("worker-result-invalid", "result.json is larger than 16 MiB")]
    try:
        return WorkerResult.model_validate_json(path.read_bytes()), []
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(map(str, first["loc"]))
        return None, [
            finding(
                "worker-result-invalid",
                f"{exc.error_count()} problem(s), first at {where}: {first['msg']}",
            )
        ]


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
        self.ws = Path(tempfile.mkdtemp(prefix="esr-eval-"))

    def _mounts(self) -> tuple[Mount, Mount, Mount]:
        assert self.intake.root is not None
        return (
            Mount(self.intake.root, "/submission", read_only=True),
            Mount(self.ws / "lr", "/lr", read_only=True),
            Mount(self.ws / "out", "/out", read_only=False),
        )

    def _worker_spec(self) -> ProcessSpec:
        from esr_validator.data import stage_lr

        stage_lr(self.dataset, self.ws / "lr", link=False)
        out = self.ws / "out"
        out.mkdir()
        out.chmod(0o777)  # the sandboxed worker runs as an unprivileged user
        if self.runner.sandboxed:
            # The container's unprivileged user must read the (read-only) submission mount.
            assert self.intake.root is not None
            self.intake.root.chmod(0o755)
        sub, lr, outm = self._mounts()
        view = self.runner.path_in_view
        assert self.intake.manifest and self.intake.model_file and self.intake.checkpoint_file
        o = self.options
        config = WorkerConfig(
            manifest=self.intake.manifest,
            submission_dir=view(sub),
            model_file=self.intake.model_file,
            checkpoint_file=self.intake.checkpoint_file,
            lr_dir=view(lr),
            out_dir=view(outm),
            splits=[s.name for s in self.dataset.splits],
            runs=o.runs,
            stable_runs=o.stable_runs,
            warmup=o.warmup,
            device="cuda" if o.gpu is not None else "cpu",
            cudnn_benchmark=o.cudnn_benchmark,
            legacy_flops=o.legacy_flops,
            threads=o.threads,
            synthetic=o.synthetic.spec(self.intake.manifest.scale) if o.synthetic else None,
        )
        (out / "config.json").write_text(config.model_dump_json())
        return ProcessSpec(
            role="worker",
            module="esr_validator.sandbox",
            args=(f"{view(outm)}/config.json",),
            mounts=(sub, lr, outm),
            timeout_s=o.timeout_s,
            gpu=o.gpu,
        )

    def _total_forwards(self) -> int:
        n = sum(len(s.pairs) for s in self.dataset.splits)
        o = self.options
        if o.synthetic is not None:
            return n + o.synthetic.warmup + o.synthetic.passes
        return n * (o.runs + o.stable_runs) + min(o.warmup, n)

    def _run_worker(
        self, progress: Progress | None
    ) -> tuple[WorkerResult | None, list[Finding], float]:
        spec = self._worker_spec()
        stop = threading.Event()
        if progress:
            total = self._total_forwards()
            args = (self.ws / "out" / "progress", total, progress, stop)
            threading.Thread(target=_watch, args=args, daemon=True).start()
        try:
            outcome = self.runner.run(spec)
        finally:
            stop.set()
        result, problems = _read_result(self.ws / "out")
        if outcome.log_truncated:
            problems.append(
                finding("worker-output-flood", "the model printed more than the log keeps")
            )
        if result is None and not problems:
            problems = process_findings(outcome, role="worker")
        elif outcome.timed_out:
            problems = process_findings(outcome, role="worker")
            result = None
        return result, problems, outcome.wall_s

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
                        lr_file=f"{split.name}/{pair.stem}{pair.lr.suffix}",  # as staged
                        sr_file=expected if got == expected else None,
                    )
                )
        return items

    def _score(self, result: WorkerResult) -> tuple[ScoreOutput | None, list[Finding]]:
        """Score in-process when the runner is local, else in a second, submission-free sandbox."""
        assert self.intake.manifest is not None
        hr = Mount(self.dataset.root, "/data", read_only=True)
        lr = Mount(self.ws / "lr", "/lr", read_only=True)
        sr = Mount(self.ws / "out", "/sr", read_only=True)
        box = Mount(self.ws / "score", "/score", read_only=False)
        view = self.runner.path_in_view if self.runner.sandboxed else (lambda m: str(m.host))
        request = ScoreRequest(
            hr_dir=view(hr),
            lr_dir=view(lr),
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
            mounts=(hr, lr, sr, box),
            timeout_s=self.options.timeout_s,
        )
        outcome = self.runner.run(spec)
        out = box.host / "score.json"
        if outcome.exit_code != 0 or not out.is_file():
            return None, process_findings(outcome, role="scorer")
        return ScoreOutput.model_validate_json(out.read_bytes()), []

    def run(self, progress: Progress | None = None) -> Evaluated:
        try:
            result, problems, wall = self._run_worker(progress)
            if result is None or result.status != "ok":
                return Evaluated(result, None, problems, wall)
            scores, scoring_problems = self._score(result)
            return Evaluated(result, scores, problems + scoring_problems, wall)
        finally:
            shutil.rmtree(self.ws, ignore_errors=True)
