"""CUDA timing and memory, on a real GPU. They skip where no GPU is visible, and fail
instead when ``ESR_REQUIRE=gpu`` says the machine was set up with one.

Not run on this project's development machines or CI (no GPU there); run them with
``ESR_REQUIRE=gpu make test PYTEST_ARGS='-m gpu'`` on a GPU host.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from esr_validator.evaluate import EvalOptions
from esr_validator.sandbox.timing import Clock
from tests.factories import evaluate

pytestmark = pytest.mark.gpu


def test_cuda_events_time_the_forward_only() -> None:
    clock = Clock(torch.device("cuda"))
    x = torch.rand(1, 3, 256, 256, device="cuda")
    conv = torch.nn.Conv2d(3, 64, 3, padding=1).cuda()
    y, ms = clock.time(conv, x)
    assert y.shape == (1, 64, 256, 256)
    assert 0 < ms < 1000


def test_gpu_evaluation_reports_memory_and_timing(good_zip: Path) -> None:
    report = evaluate(good_zip, options=EvalOptions(runs=3, stable_runs=2, warmup=2, gpu=0))
    assert report.status == "evaluated", report.findings
    assert report.environment and report.environment.gpu_name
    valid, test = report.splits
    # Official memory is never reset: the test figure is the running maximum.
    assert valid.official_memory_mb and test.official_memory_mb
    assert test.official_memory_mb >= valid.official_memory_mb
    # Stable memory is reset per split, so each split's peak stands alone.
    assert valid.stable_memory_mb and test.stable_memory_mb
    assert report.official and report.official.runtime_ms and report.official.runtime_ms > 0
    assert report.stable and report.stable.runtime_ms and report.stable.runtime_ms > 0
