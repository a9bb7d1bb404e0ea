"""The Ray executor on a local Ray with two logical GPUs: the same reports as the local one.

The logical GPUs have no device behind them, so each task times on the CPU, like the
local executor on this machine; what must match is every report's content apart from
timings and timestamps. Marked ``ray`` (see tests/components.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from esr_validator.cli import main
from tests import batch_support as bs

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture
def ray_module() -> Iterator[Any]:
    import ray

    yield ray
    ray.shutdown()


def test_ray_reports_match_the_local_executors(
    ray_module: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    local = bs.mixed_run(tmp_path_factory)
    out = tmp_path / "out"
    args = ("--executor", "ray", "--ray-num-gpus", "2", "--ray-num-cpus", "2", "--no-progress")
    assert main(local.args(out, *args)) == 0
    assert ray_module.cluster_resources().get("GPU") == 2.0  # tasks held logical GPUs
    names = sorted(p.name for p in (local.out / "reports").iterdir())
    assert sorted(p.name for p in (out / "reports").iterdir()) == names
    for name in names:
        ours = bs.report_content(out / "reports" / name)
        assert ours == bs.report_content(local.out / "reports" / name), name
        assert ours["options"]["device"] == "cpu"
    assert bs.board_content(out / "leaderboard.csv") == bs.board_content(
        local.out / "leaderboard.csv"
    )
    # The keys are the same: the local executor finds every submission done.
    before = {p.name: p.read_bytes() for p in (out / "reports").iterdir()}
    assert main(local.args(out, "--no-progress")) == 0
    assert {p.name: p.read_bytes() for p in (out / "reports").iterdir()} == before
