"""The runner interface.

A runner starts one process, the untrusted inference worker or the trusted scorer, and
reports how it ended. It never interprets results: the evaluation stage parses the files the
process wrote and turns every outcome, including a timeout or a kill, into a finding.

The worker's view of the disk is three directories:
- ``submission`` (read-only): the extracted submission;
- ``lr`` (read-only): ``<split>/<stem>.png``, LR images only;
- ``out`` (writable, size-capped): ``result.json`` and ``sr/<split>/<stem>.npy``.
The config file lives in ``out`` before the worker starts. HR never enters this view.

The scorer's view is ``hr`` (read-only), ``out`` of the worker (read-only) and its own
``score`` directory; it never sees the submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

Role = Literal["worker", "scorer"]


@dataclass(frozen=True)
class Mount:
    host: Path
    target: str  # path inside the runner's view, e.g. "/sub"
    read_only: bool = True


@dataclass(frozen=True)
class ProcessSpec:
    """One process to run: ``python -m <module> <args...>`` with the given mounts."""

    role: Role
    module: str  # "esr_validator.sandbox" or "esr_validator.fidelity"
    args: tuple[str, ...]
    mounts: tuple[Mount, ...]
    timeout_s: float
    gpu: int | None = None  # CUDA device index, None for CPU
    memory_limit_mb: int | None = None
    log_limit_bytes: int = 1_000_000


@dataclass
class ProcessOutcome:
    exit_code: int | None  # None when killed by the host (timeout)
    timed_out: bool = False
    signal: int | None = None  # negative exit codes / 128+N translated to N
    oom_killed: bool = False
    log_tail: str = ""  # last part of stdout+stderr, capped
    log_truncated: bool = False
    wall_s: float = 0.0
    details: dict[str, str] = field(default_factory=dict)


class Runner(Protocol):
    kind: Literal["local", "docker"]
    sandboxed: bool

    def path_in_view(self, mount: Mount) -> str:
        """Where the process sees ``mount`` (host path for local, target for docker)."""
        ...

    def run(self, spec: ProcessSpec) -> ProcessOutcome: ...

    def describe(self) -> dict[str, str | None]:
        """Runner facts for the report: image, image_id, base_digest, lock_sha256."""
        ...
