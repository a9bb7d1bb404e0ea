"""Access to the Docker SDK, an optional dependency (``esr-validator[docker]``).

The SDK is imported by name at call time: the package is optional, and the source tree's own
``docker/`` directory (Dockerfile, locks) would otherwise shadow it for static type checkers.
"""

from __future__ import annotations

import importlib
from typing import Any

from esr_validator.errors import EnvironmentProblem


def sdk() -> Any:
    try:
        return importlib.import_module("docker")
    except ImportError as exc:
        raise EnvironmentProblem(
            "the docker Python package is missing", hint="pip install 'esr-validator[docker]'"
        ) from exc


def client(*, timeout: int = 120) -> Any:
    """A client whose engine answered a ping, or EnvironmentProblem saying why not."""
    docker = sdk()
    try:
        engine = docker.from_env(timeout=timeout)
        engine.ping()
    except docker.errors.DockerException as exc:
        raise EnvironmentProblem(
            f"no Docker engine answers: {exc}",
            hint="start dockerd (scripts/ci_docker_setup.sh does it) or choose --runner local",
        ) from exc
    return engine


def requests_errors() -> tuple[type[BaseException], ...]:
    """What a client call raises when its HTTP timeout passes (the SDK talks over requests)."""
    exceptions = importlib.import_module("requests.exceptions")
    return (exceptions.ReadTimeout, exceptions.ConnectionError)
