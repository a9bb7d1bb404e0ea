"""The real worker (esr_validator.sandbox) in the CPU image, end to end on the smoke set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from esr_validator.runners.docker import DockerRunner
from tests.factories import FAST, codes, evaluate

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_good_submission_is_evaluated_in_the_sandbox(cpu_image: Any, good_zip: Path) -> None:
    report = evaluate(good_zip, options=FAST, runner=DockerRunner(cpu_image))
    assert report.status == "evaluated", report.findings
    assert all(s.psnr is not None and 10 < s.psnr < 60 for s in report.splits)
    assert report.official and report.official.runtime_ms and report.official.runtime_ms > 0
    assert "ESR506" in codes(report)
