"""Docker fixtures, and the guard that keeps unit tests from starting containers.

tests/conftest.py star-imports this module, which registers:
- ``forbid_container_starts`` (autouse): a test not marked ``docker`` that tries to create
  or start a container through the Docker SDK fails at once;
- ``docker_engine`` (session): a client whose engine answered;
- ``cpu_image`` (session): the CPU evaluation image for the current sources (built if
  missing and the base image and wheelhouse are there);
- ``probe_workspace``: host directories laid out like an evaluation's (``sub``, ``lr``,
  ``out`` with a config file, and an ``hr`` the worker must never see).

Without an engine or image the docker tests skip, unless ``ESR_REQUIRE`` names ``docker`` (CI,
after scripts/ci_docker_setup.sh): then they fail, so a sandbox CI set up is never skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import components

PROBE_DIR = Path(__file__).parent / "fixtures" / "docker_probe"

__all__ = [
    "ProbeWorkspace",
    "cpu_image",
    "docker_engine",
    "forbid_container_starts",
    "probe_workspace",
]


def _unavailable(reason: str) -> None:
    components.unavailable("docker", reason)


def _sdk() -> Any:
    try:
        return importlib.import_module("docker")
    except ImportError:
        return None


@pytest.fixture(autouse=True)
def forbid_container_starts(request: pytest.FixtureRequest) -> Iterator[None]:
    sdk = _sdk()
    if sdk is None or request.node.get_closest_marker("docker"):
        yield
        return

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(
            f"{request.node.nodeid} tried to start a container; mark it @pytest.mark.docker"
        )

    mixin = sdk.api.container.ContainerApiMixin
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mixin, "create_container", refuse)
        patch.setattr(mixin, "start", refuse)
        yield


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    sdk = _sdk()
    if sdk is None:
        _unavailable("the docker Python package is not installed")
    try:
        client = sdk.from_env(timeout=120)
        client.ping()
    except sdk.errors.DockerException as exc:
        _unavailable(f"no Docker engine answers ({exc})")
    return client


@pytest.fixture(scope="session")
def cpu_image(docker_engine: Any) -> Any:
    from esr_validator.errors import EnvironmentProblem
    from esr_validator.runners.image import ensure_image

    try:
        return ensure_image("cpu", build=True, client=docker_engine)
    except EnvironmentProblem as exc:
        _unavailable(f"the CPU image is not available: {exc.describe()}")


@dataclass(frozen=True)
class ProbeWorkspace:
    root: Path
    sub: Path
    lr: Path
    out: Path
    hr: Path


@pytest.fixture
def probe_workspace(tmp_path: Path) -> ProbeWorkspace:
    ws = ProbeWorkspace(
        tmp_path, tmp_path / "sub", tmp_path / "lr", tmp_path / "out", tmp_path / "hr"
    )
    for path in (ws.sub, ws.lr / "val", ws.out, ws.hr / "val"):
        path.mkdir(parents=True)
    (ws.sub / "model.py").write_text("# a submission\n")
    (ws.lr / "val" / "0001.png").write_bytes(b"lr")
    (ws.hr / "val" / "0001_SECRET-HR.png").write_bytes(b"ground truth")
    (ws.out / "config.json").write_text("{}")
    return ws
