"""Choosing the runner: docker where it can work, local (not a sandbox) otherwise.

``select_runner`` returns the runner and, when it is not sandboxed, the reason, so the
caller can report the ``not-sandboxed`` finding with it. The preference comes from the
caller (``--runner``), else from the environment variable ``RUNNER``, else ``auto``:

- ``docker``: an engine must answer and the image must exist or be buildable, or the run
  fails (EnvironmentProblem): asking for a sandbox never silently yields none;
- ``local``: the local runner, with the reason "requested";
- ``auto``: docker if possible, else local with a logged warning and the reason; with
  ``require_docker`` (``ESR_REQUIRE=docker``: CI that set up an engine), falling back is an
  error instead.

The preference and ``require_docker`` come resolved from :mod:`esr_validator.settings`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from esr_validator.errors import EnvironmentProblem, UsageError
from esr_validator.runners.base import Runner
from esr_validator.runners.image import Variant

Preference = Literal["auto", "docker", "local"]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    runner: Runner
    unsandboxed_reason: str | None  # set exactly when the runner is not a sandbox


def _preference(preference: str | None) -> Preference:
    value = (preference or "auto").strip().lower()
    if value not in ("auto", "docker", "local"):
        raise UsageError(
            f"unknown runner {value!r}", hint="choose auto, docker or local (--runner or RUNNER)"
        )
    return value  # type: ignore[return-value]


def _docker(variant: Variant, *, build: bool) -> Runner:
    from esr_validator.runners.docker import DockerRunner
    from esr_validator.runners.image import ensure_image

    return DockerRunner(ensure_image(variant, build=build))


def _local() -> Runner:
    from esr_validator.runners.local import LocalRunner

    return LocalRunner()


def select_runner(
    preference: str | None = None,
    *,
    variant: Variant = "cpu",
    build: bool = True,
    require_docker: bool = False,
) -> Selection:
    choice = _preference(preference)
    if choice == "local":
        return Selection(_local(), "the local runner was requested: model code runs unsandboxed")
    try:
        return Selection(_docker(variant, build=build), None)
    except EnvironmentProblem as exc:
        if choice == "docker":
            raise
        if require_docker:
            raise EnvironmentProblem(
                f"no Docker sandbox: {exc.message}",
                hint=f"{exc.hint + '; ' if exc.hint else ''}start the Docker engine "
                "(docs/container.md), or pass --runner local to run the entries unsandboxed",
            ) from None
        reason = f"no Docker sandbox ({exc.message}); model code runs unsandboxed"
        log.warning("WARNING: %s. Hint: %s", reason, exc.hint or "see docs/container.md")
        return Selection(_local(), reason)
