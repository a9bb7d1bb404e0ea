"""``validate`` wall time for the sample submission: docker runner versus local runner.

Alternates the two runners (so machine noise hits both alike) and prints medians and their
ratio. Needs a Docker engine and the CPU image (`make image`).

    .venv/bin/python benchmarks/bench_runners.py [--repeat 3] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from esr_validator.pipeline import prepare, validate_zip
from esr_validator.settings import resolve

SAMPLE = Path(__file__).resolve().parent.parent / "sample_submission" / "team01_TinyESR.zip"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = resolve({"runs": args.runs, "stable_runs": args.runs}, gpu=None)
    setups = {
        kind: prepare(replace(settings, runner=kind)) for kind in ("local", "docker")
    }
    walls: dict[str, list[float]] = {kind: [] for kind in setups}
    for _ in range(args.repeat):
        for kind, setup in setups.items():
            t0 = time.perf_counter()
            report = validate_zip(SAMPLE, setup)
            walls[kind].append(time.perf_counter() - t0)
            assert report.status == "evaluated", report.findings
    med = {kind: statistics.median(v) for kind, v in walls.items()}
    for kind, values in walls.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"{kind:6s}: median {med[kind]:.2f} s  ({shown})")
    print(f"docker / local: {med['docker'] / med['local']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
