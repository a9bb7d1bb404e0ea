"""The ingestion program: the untrusted side, in Codabench's prediction container.

    python -m esr_validator.codabench.ingestion SUBMISSION_DIR INPUT_DATA OUTPUT

It packs the unzipped submission back into a zip (copied to OUTPUT for the scorer to check
again), runs the static checks, and, when they pass, runs the inference worker
(``python -m esr_validator.sandbox``, a child process) on the LR images of INPUT_DATA, which
are already laid out as ``<split>/<stem>.png``. It never receives ground truth. It exits 0
whenever it could write its output, so that the scoring step can report the findings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

from esr_validator.codabench.layout import INTAKE_FILE, SUBMISSION_ZIP, WORKER_DIR
from esr_validator.intake.check import Intake, run_intake
from esr_validator.runners.base import Mount, ProcessSpec
from esr_validator.runners.local import LocalRunner
from esr_validator.schemas.worker import WorkerConfig
from esr_validator.settings import Settings, resolve

_EPOCH = (1980, 1, 1, 0, 0, 0)


def pack_dir(src: Path, out: Path) -> Path:
    """The unzipped submission as a zip again: sorted members, fixed times, no links."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return out


def _worker_spec(intake: Intake, lr_dir: Path, out: Path, settings: Settings) -> ProcessSpec:
    assert intake.root and intake.manifest and intake.model_file and intake.checkpoint_file
    o = settings.eval_options()
    config = WorkerConfig(
        manifest=intake.manifest,
        submission_dir=str(intake.root),
        model_file=intake.model_file,
        checkpoint_file=intake.checkpoint_file,
        lr_dir=str(lr_dir),
        out_dir=str(out),
        splits=sorted(p.name for p in lr_dir.iterdir() if p.is_dir()),
        runs=o.runs,
        stable_runs=o.stable_runs,
        warmup=o.warmup,
        device="cuda" if o.gpu is not None else "cpu",
        cudnn_benchmark=o.cudnn_benchmark,
        legacy_flops=o.legacy_flops,
        synthetic=o.synthetic.spec(intake.manifest.scale) if o.synthetic else None,
    )
    (out / "config.json").write_text(config.model_dump_json())
    mounts = (Mount(lr_dir, str(lr_dir), read_only=True), Mount(out, str(out), read_only=False))
    return ProcessSpec(
        role="worker",
        module="esr_validator.sandbox",
        args=(str(out / "config.json"),),
        mounts=mounts,
        timeout_s=o.timeout_s,
        gpu=o.gpu,
    )


def ingest(submission: Path, input_data: Path, output: Path, *, settings: Settings) -> bool:
    """Run the prediction step; True when the worker ran."""
    output.mkdir(parents=True, exist_ok=True)
    zip_path = pack_dir(submission, output / SUBMISSION_ZIP)
    with run_intake(zip_path, scales=tuple(settings.ruleset.scales)) as intake:
        verdict = {"runnable": intake.runnable, "findings": len(intake.findings)}
        (output / INTAKE_FILE).write_text(json.dumps(verdict) + "\n")
        if not intake.runnable:
            print(f"static checks failed: {len(intake.findings)} finding(s)", file=sys.stderr)
            return False
        out = output / WORKER_DIR
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        outcome = LocalRunner().run(_worker_spec(intake, input_data, out, settings))
        print(f"worker exited {outcome.exit_code} after {outcome.wall_s:.1f} s", file=sys.stderr)
        return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="esr_validator.codabench.ingestion")
    p.add_argument("submission", type=Path)
    p.add_argument("input_data", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--ruleset", default=None)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    cli = {"ruleset": args.ruleset, "device": args.device, "runner": "local"}
    ingest(args.submission, args.input_data, args.output, settings=resolve(cli, env={}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
