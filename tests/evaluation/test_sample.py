"""The committed sample zip is in step with its sources, and it passes every check."""

from __future__ import annotations

from pathlib import Path

from esr_validator.intake.check import run_intake
from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ZIP = ROOT / "sample_submission" / "team01_TinyESR.zip"


def test_sample_zip_matches_its_sources(tmp_path: Path) -> None:
    rebuilt = load_script("make_sample").build(tmp_path / "rebuilt.zip")
    assert rebuilt.read_bytes() == SAMPLE_ZIP.read_bytes(), "run `make sample` and commit the zip"


def test_sample_zip_passes_check() -> None:
    with run_intake(SAMPLE_ZIP) as intake:
        assert intake.runnable, intake.findings
        assert not intake.findings, intake.findings
