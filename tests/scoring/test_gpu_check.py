"""scripts/gpu_check.sh keeps working: its CPU dry run generates the data, packs an fp32 and
an fp16 entry, validates both and runs the comparison code (the official loop needs CUDA and
the organizers' tree, so it is skipped there and only its command is printed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


@pytest.mark.slow
def test_gpu_check_dry_run(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    env = os.environ | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHON": sys.executable,
        "ESR": str(bin_dir / "esr-validator"),
        "WORK": str(tmp_path / "work"),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "skipping the official loop" in out and "test_demo.py --data_dir" in out
    assert "validator: runtime" in out and "valid memory" in out
    assert "fp16 entry: status evaluated" in out
    assert "gpu_check: all goals met" in out
    data = tmp_path / "work" / "data"
    assert len(list((data / "DIV2K_LSDIR_valid_LR").glob("*x4.png"))) == 2
    assert len(list((data / "DIV2K_LSDIR_test_HR").glob("*.png"))) == 2


def test_gpu_check_refuses_a_tree_without_the_official_files(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "has no test_demo.py" in done.stderr


def test_gpu_check_needs_a_tree_outside_a_dry_run() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage" in done.stderr
