"""The local runner: a plain child process. It is NOT a sandbox.

It keeps the trust boundary's data separation (the worker gets LR only, a scrubbed
environment and its own working directory) but the model can still read anything this user
can. Reports say so (the ``not-sandboxed`` finding); use the docker runner for untrusted entries.

Every process runs under :mod:`esr_validator.runners.reaper`, a child subreaper that kills
the whole tree the worker leaves, including processes that started a new session, and also
when this process dies without a word (kill -9: the reaper's parent-death signal).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Literal

import esr_validator
from esr_validator import owner
from esr_validator.runners.base import Mount, ProcessOutcome, ProcessSpec

REAPER = "esr_validator.runners.reaper"
GRACE_S = 5.0  # after SIGTERM, how long the reaper may take to kill the tree
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


class _TailReader(threading.Thread):
    """Drain a pipe, keeping only the last ``limit`` bytes, so a flood cannot fill memory."""

    def __init__(self, stream: object, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.chunks: deque[bytes] = deque()
        self.kept = 0
        self.total = 0

    def run(self) -> None:
        read = self.stream.read1  # type: ignore[attr-defined]
        while chunk := read(65536):
            self.total += len(chunk)
            self.chunks.append(chunk)
            self.kept += len(chunk)
            while self.kept - len(self.chunks[0]) >= self.limit:
                self.kept -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks)[-self.limit :].decode("utf-8", errors="replace")


def _env(spec: ProcessSpec, home: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(
        HOME=home,
        TMPDIR=home,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONNOUSERSITE="1",
        # A label, not a secret: `cleanup` kills what a run killed with -9 left running.
        ESR_OWNER=owner.env_value(),
        # The package's parent directory, in case it runs from a source checkout.
        PYTHONPATH=str(Path(esr_validator.__file__).resolve().parent.parent),
    )
    if spec.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = str(spec.gpu)
    return env


class LocalRunner:
    kind: Literal["local", "docker"] = "local"
    sandboxed = False

    def path_in_view(self, mount: Mount) -> str:
        return str(mount.host)

    def describe(self) -> dict[str, str | None]:
        return {
            "image": None,
            "image_id": None,
            "base_image": None,
            "base_digest": None,
            "lock_sha256": None,
        }

    def run(self, spec: ProcessSpec) -> ProcessOutcome:
        home = str(owner.owned_tempdir(f"esr-{spec.role}-home-"))
        # The reaper kills whatever the worker leaves behind, new sessions included.
        cmd = [sys.executable, "-m", REAPER, sys.executable, "-m", spec.module, *spec.args]
        started = time.perf_counter()
        proc = subprocess.Popen(
            cmd,
            cwd=home,
            env=_env(spec, home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: killed too, should the reaper not answer
        )
        reader = _TailReader(proc.stdout, spec.log_limit_bytes)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=spec.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            proc.send_signal(signal.SIGTERM)  # the reaper kills the whole tree, then exits
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=GRACE_S)
        finally:
            self._kill_group(proc)
            reader.join(timeout=5)
            shutil.rmtree(home, ignore_errors=True)
        code = proc.returncode
        sig = -code if code is not None and code < 0 else None
        return ProcessOutcome(
            exit_code=None if timed_out else code,
            timed_out=timed_out,
            signal=None if timed_out else sig,
            log_tail=reader.text(),
            log_truncated=reader.total > spec.log_limit_bytes,
            wall_s=time.perf_counter() - started,
        )

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        """Kill what is left of the group (children the model forked, or all on timeout)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
