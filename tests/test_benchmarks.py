"""The benchmark scripts still run (tiny sizes; the figures are in docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_bench_evaluate_runs_on_tiny_data() -> None:
    cmd = [sys.executable, "benchmarks/bench_evaluate.py", "--images", "1", "--lr-size", "32"]
    cmd += ["--runs", "2", "--rounds", "1", "--exec"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    ratio = next(line for line in lines if line.startswith("(a)/(b) = "))
    assert float(ratio.split("= ")[1]) > 0
    assert any(line.startswith("(c)/(b) = ") for line in lines)
