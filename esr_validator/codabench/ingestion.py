"""The ingestion program: the untrusted side, in Codabench's prediction container.

    python -m esr_validator.codabench.ingestion SUBMISSION_DIR INPUT_DATA OUTPUT

It packs the unzipped submission back into a zip (copied to OUTPUT for the scorer to check
again), runs the static checks, and, when they pass, runs the sandbox sessions
(:class:`esr_validator.evaluate.SandboxRun`: complexity, then each official run a fresh
``python -m esr_validator.sandbox`` process fed one image at a time) on the LR images of
INPUT_DATA, laid out as ``<split>/<stem>.png``. It writes the worker result and run 0's SR
arrays to ``OUTPUT/worker/``. It never receives ground truth. It exits 0
whenever it could write its output, so that the scoring step can report the findings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import zipfile
from pathlib import Path

from esr_validator.codabench.layout import INTAKE_FILE, RESULT_FILE, SUBMISSION_ZIP, WORKER_DIR
from esr_validator.evaluate import SandboxRun
from esr_validator.intake.check import run_intake
from esr_validator.official import decode_folder
from esr_validator.runners.local import LocalRunner
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
        sandbox = SandboxRun(
            intake,
            decode_folder(input_data),
            runner=LocalRunner(),
            options=settings.eval_options(),
            sr_dir=out,
        )
        result, findings = sandbox.run()
        out.mkdir(parents=True, exist_ok=True)
        if result is not None:
            (out / RESULT_FILE).write_text(result.model_dump_json())
        shown = ", ".join(f.code for f in findings) or "none"
        got = "a result" if result else "no result"
        print(f"sandbox: {got}; findings {shown}", file=sys.stderr)
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
