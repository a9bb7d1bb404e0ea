from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from tests import components, subs

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

from tests.docker_support import *  # noqa: E402, F403  (docker fixtures, no-container guard)


@pytest.fixture
def good_zip(tmp_path: Path) -> Path:
    return subs.write_zip(tmp_path / "team16.zip", subs.good_members())


@pytest.fixture
def make_zip(tmp_path: Path):  # type: ignore[no-untyped-def]
    counter = iter(range(10_000))

    def _make(members: dict[str, bytes], name: str | None = None) -> Path:
        return subs.write_zip(tmp_path / (name or f"sub{next(counter)}.zip"), members)

    return _make


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every component marker is checked here, the same way (see tests/components.py)."""
    for component in components.CHECKS:
        if item.get_closest_marker(component):
            reason = components.missing(component)
            if reason:
                components.unavailable(component, reason)
