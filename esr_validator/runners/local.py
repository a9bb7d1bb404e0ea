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
import time
from pathlib import Path
from typing import Literal

import esr_validator
from esr_validator import owner
from esr_validator.runners.base import Mount, ProcessOutcome, ProcessSpec
from esr_validator.runners.forkserver import ForkServer
from esr_validator.runners.logtail import TailReader

REAPER = "esr_validator.runners.reaper"
GRACE_S = 5.0  # after SIGTERM, how long the reaper may take to kill the tree
_KEEP_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


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
    """``fork``: CPU worker processes are forked from one that has imported torch
    (:mod:`esr_validator.runners.forkserver`) instead of starting an interpreter each."""

    kind: Literal["local", "docker"] = "local"
    sandboxed = False

    def __init__(self, *, fork: bool = True) -> None:
        self._forks = ForkServer(reaper=REAPER, env_for=_env) if fork else None

    def close(self) -> None:
        if self._forks is not None:
            self._forks.close()

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
        if self._forks is not None and (forked := self._forks.run(spec)) is not None:
            return forked
        return self._exec(spec)

    def _exec(self, spec: ProcessSpec) -> ProcessOutcome:
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
        reader = TailReader(proc.stdout, spec.log_limit_bytes)
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
            details={"start": "exec"},
        )

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        """Kill what is left of the group (children the model forked, or all on timeout)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
