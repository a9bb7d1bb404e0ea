"""Time ``esr-validator check`` on a 5 MB submission.

Prints the median of in-process ``run_intake`` calls and of whole CLI invocations (which add
interpreter start-up and imports), measured side by side in one run.

    .venv/bin/python benchmarks/bench_check.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.subs
from esr_validator.intake.check import run_intake
from tests import subs


def make_submission(path: Path, megabytes: float = 5.0) -> Path:
    members = subs.good_members()
    state = subs.tiny_state_dict()
    state["padding.weight"] = torch.randn(int(megabytes * (1 << 20) / 4))  # float32 bytes
    members["model_zoo/team16_TinySR.pth"] = subs.checkpoint_bytes(state)
    # strict=False so the extra tensor loads, like real entries with unused buffers
    members["submission.toml"] = (
        members["submission.toml"].decode() + "\n[checkpoint]\nstrict = false\n"
    ).encode()
    return subs.write_zip(path, members)


def _median_s(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        zip_path = make_submission(Path(tmp) / "team16.zip")
        size_mb = zip_path.stat().st_size / 1e6

        def in_process() -> None:
            with run_intake(zip_path) as intake:
                assert intake.ok, intake.findings

        def cli() -> None:
            cmd = [sys.executable, "-m", "esr_validator", "check", str(zip_path)]
            subprocess.run(cmd, check=True, capture_output=True)

        t_lib = _median_s(in_process, args.repeat)
        t_cli = _median_s(cli, args.repeat)
    print(f"submission zip: {size_mb:.1f} MB")
    print(f"run_intake (in-process), median of {args.repeat}: {t_lib * 1000:.0f} ms")
    print(f"esr-validator check (CLI), median of {args.repeat}: {t_cli * 1000:.0f} ms")
    print(f"ratio CLI / in-process: {t_cli / t_lib:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
