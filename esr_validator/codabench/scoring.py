"""The scoring program: the trusted side, in Codabench's scoring container.

    python -m esr_validator.codabench.scoring --ruleset R INPUT OUTPUT

INPUT holds ``ref/`` (the reference data: the dataset, HR included) and ``res/`` (the
prediction step's output, written where submission code ran, so hostile). The static checks
run again on ``res/submission.zip``; the worker's ``result.json`` and SR arrays are parsed as
the docker runner's are; PSNR is computed here against HR. The report is assembled as
``validate`` assembles it, and OUTPUT gets ``scores.json`` (the leaderboard's columns),
``detailed_results.html`` and ``report.json``. Exit 1, without ``scores.json``, when the
submission could not be evaluated: Codabench then shows the submission as failed, with the
findings in the detailed results.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from esr_validator.codabench.layout import (
    DETAILS_FILE,
    MAX_RESULT_BYTES,
    REPORT_FILE,
    RESULT_FILE,
    SCORES_FILE,
    SUBMISSION_ZIP,
    WORKER_DIR,
)
from esr_validator.codabench.results import leaderboard_scores, render_html
from esr_validator.codes import finding
from esr_validator.data import Dataset, discover
from esr_validator.drive import parse_result
from esr_validator.evaluate import Evaluated, dataset_info
from esr_validator.fidelity import measure_fidelity
from esr_validator.intake.check import Intake, run_intake
from esr_validator.integrity import complexity_findings
from esr_validator.report import RunContext, assemble, now
from esr_validator.reporters.text import dump_json
from esr_validator.schemas.channel import ChannelError
from esr_validator.schemas.fidelity import ScoreItem, ScoreRequest
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.report import Report, RunnerInfo
from esr_validator.schemas.worker import WorkerResult
from esr_validator.settings import Settings, resolve

# Codabench runs the prediction step in a container, not esr-validator's own sandbox.
_RUNNER = RunnerInfo(kind="docker", sandboxed=True, image="codabench prediction step")


def _items(dataset: Dataset, result: WorkerResult) -> list[ScoreItem]:
    # Only files the scorer expects are read; whatever else the worker wrote is ignored.
    written = {(im.split, im.stem): im.sr_file for im in result.images}
    items = []
    for split in dataset.splits:
        for pair in split.pairs:
            expected = f"sr/{split.name}/{pair.stem}.npy"
            items.append(
                ScoreItem(
                    split=split.name,
                    stem=pair.stem,
                    hr_file=str(pair.hr.relative_to(dataset.root)),
                    lr_file=str(pair.lr.relative_to(dataset.root)),
                    sr_file=expected if written.get((split.name, pair.stem)) == expected else None,
                )
            )
    return items


def read_result(path: Path) -> tuple[WorkerResult | None, list[Finding]]:
    """The prediction step's result, read as hostile input: a regular file, never followed
    through a link, bounded in size, validated."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None, [finding("worker-crashed", "the prediction step left no worker result")]
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None, [finding("worker-result-invalid", "result.json is not a regular file")]
        data = handle.read(MAX_RESULT_BYTES + 1)
    if len(data) > MAX_RESULT_BYTES:
        return None, [finding("worker-result-invalid", "result.json is larger than 16 MiB")]
    try:
        result = parse_result(data)
    except ChannelError as exc:
        return None, [finding("worker-result-invalid", str(exc))]
    found = complexity_findings(result.complexity) if result.complexity else []
    failure = result.failure
    if result.status != "ok" and failure is not None:
        found.append(finding("worker-crashed", f"{failure.category}: {failure.message}"[:2000]))
    return result, found


def _evaluate(intake: Intake, dataset: Dataset, res: Path, settings: Settings) -> Evaluated:
    assert intake.manifest is not None
    result, problems = read_result(res / WORKER_DIR / RESULT_FILE)
    if result is None or result.status != "ok":
        return Evaluated(result, None, problems, 0.0)
    request = ScoreRequest(
        hr_dir=str(dataset.root),
        lr_dir=str(dataset.root),
        sr_dir=str(res / WORKER_DIR),
        out_file=str(res / "unused.json"),
        scale=intake.manifest.scale,
        border=settings.border,
        ssim=settings.ssim,
        y_channel=settings.ruleset.psnr.y_channel,
        items=_items(dataset, result),
    )
    return Evaluated(result, measure_fidelity(request), problems, 0.0)


def score_prediction(input_dir: Path, *, settings: Settings) -> Report:
    started = now()
    dataset = discover(input_dir / "ref", scale=settings.ruleset.scales[0])
    ctx = RunContext(
        started_at=started,
        dataset=dataset_info(dataset, smoke=False),
        runner=_RUNNER,
        options=settings.run_options(),
        ruleset=settings.ruleset,
    )
    res = input_dir / "res"
    with tempfile.TemporaryDirectory(prefix="esr-codabench-") as tmp:
        zip_path = Path(tmp) / SUBMISSION_ZIP
        given = res / SUBMISSION_ZIP
        if given.is_file() and not given.is_symlink():
            shutil.copyfile(given, zip_path)
        else:
            zip_path.write_bytes(b"")  # intake turns "not a zip" into its finding
        with run_intake(zip_path, scales=tuple(settings.ruleset.scales)) as intake:
            evaluated = _evaluate(intake, dataset, res, settings) if intake.runnable else None
            return assemble(intake, ctx, evaluated)


def write_outputs(report: Report, output: Path, *, settings: Settings) -> bool:
    """Write the detailed results and the report; scores only for an evaluated entry."""
    output.mkdir(parents=True, exist_ok=True)
    (output / REPORT_FILE).write_text(dump_json(report.model_dump(mode="json")) + "\n")
    (output / DETAILS_FILE).write_text(render_html(report))
    if report.status != "evaluated":
        return False
    scores = leaderboard_scores(report, settings.ruleset)
    (output / SCORES_FILE).write_text(dump_json(scores) + "\n")
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="esr_validator.codabench.scoring")
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--ruleset", default=None)
    args = p.parse_args(argv)
    settings = resolve({"ruleset": args.ruleset, "runner": "local"}, env={}, gpu=None)
    report = score_prediction(args.input, settings=settings)
    ok = write_outputs(report, args.output, settings=settings)
    print(f"status {report.status}: {len(report.findings)} finding(s)", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
