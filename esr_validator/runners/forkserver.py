"""The local runner's fork server: sandbox processes forked from one that imported torch.

:mod:`esr_validator.sandbox.zygote` is started once, under the reaper, with the environment
a worker gets; it imports torch, fvcore and the sandbox, and forks a child per run (see its
docstring for what the child shares and what it makes fresh). This side asks for a fork,
gives the child a fresh home folder and a log pipe, times it out exactly as a fresh process
would be, and turns its wait status into a :class:`ProcessOutcome`.

It serves CPU worker processes only, one at a time. Whatever it cannot do (a GPU run, a
second run while one is in flight, a zygote that failed to start or died) makes ``run``
return None, and the runner starts a fresh interpreter instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from esr_validator import owner
from esr_validator.runners.base import ProcessOutcome, ProcessSpec
from esr_validator.runners.logtail import TailReader

ZYGOTE = "esr_validator.sandbox.zygote"
FORKABLE = "esr_validator.sandbox"
START_TIMEOUT_S = 120.0
GRACE_S = 5.0
_MAX_MESSAGE = 64 * 1024

EnvFor = Callable[[ProcessSpec, str], dict[str, str]]


def _stop(proc: subprocess.Popen[bytes], ctl: socket.socket | None, home: Path) -> None:
    if ctl is not None:
        ctl.close()  # the zygote reads end of file and exits; the reaper then ends too
    try:
        proc.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        proc.wait()
    shutil.rmtree(home, ignore_errors=True)


class ForkServer:
    def __init__(self, *, reaper: str, env_for: EnvFor) -> None:
        self._reaper, self._env_for = reaper, env_for
        self._ctl: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self.failed = False  # once the zygote cannot start, stop trying

    @staticmethod
    def serves(spec: ProcessSpec) -> bool:
        return spec.module == FORKABLE and spec.gpu is None

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._ctl = self._proc = self._finalizer = None

    # -- start --------------------------------------------------------------------------
    def _start(self, spec: ProcessSpec) -> bool:
        folder = owner.owned_tempdir("esr-zygote-")
        home = owner.owned_tempdir("esr-zygote-home-")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            listener.bind(str(folder / "s"))
            listener.listen(1)
            listener.settimeout(0.2)
            proc = self._launch(spec, folder / "s", home)
            ctl = self._accept(listener, proc)
        except OSError:
            shutil.rmtree(home, ignore_errors=True)
            self.failed = True
            return False
        finally:
            listener.close()
            shutil.rmtree(folder, ignore_errors=True)  # nobody else can connect from now on
        if ctl is None or not self._message(ctl, START_TIMEOUT_S).get("ready"):
            _stop(proc, ctl, home)
            self.failed = True
            return False
        self._ctl, self._proc = ctl, proc
        self._finalizer = weakref.finalize(self, _stop, proc, ctl, home)
        return True

    def _launch(self, spec: ProcessSpec, path: Path, home: Path) -> subprocess.Popen[bytes]:
        """Start the zygote from a thread that lives as long as it does: the reaper's
        parent-death signal fires when the *thread* that started it ends, and runs are
        driven from short-lived threads."""
        cmd = [sys.executable, "-m", self._reaper, sys.executable, "-m", ZYGOTE, str(path)]
        launched: list[subprocess.Popen[bytes]] = []
        ready = threading.Event()

        def own() -> None:
            try:
                launched.append(
                    subprocess.Popen(
                        cmd,
                        cwd=home,
                        env=self._env_for(spec, str(home)),
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
            finally:
                ready.set()
            launched[0].wait()

        threading.Thread(target=own, name="esr-zygote", daemon=True).start()
        ready.wait()
        if not launched:
            raise OSError("the fork server could not be started")
        return launched[0]

    @staticmethod
    def _accept(listener: socket.socket, proc: subprocess.Popen[bytes]) -> socket.socket | None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(TimeoutError):
                return listener.accept()[0]
        return None

    @staticmethod
    def _message(ctl: socket.socket, timeout_s: float) -> dict[str, Any]:
        """The next message, or {} when the zygote is gone, silent or nonsensical."""
        ctl.settimeout(max(timeout_s, 0.001))
        try:
            data = ctl.recv(_MAX_MESSAGE)
            found = json.loads(data) if data else {}
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    # -- run ----------------------------------------------------------------------------
    def run(self, spec: ProcessSpec) -> ProcessOutcome | None:
        """One forked worker, or None: the caller then starts a fresh interpreter."""
        if self.failed or not self.serves(spec) or not self._lock.acquire(blocking=False):
            return None
        try:
            if self._ctl is None and not self._start(spec):
                return None
            return self._fork(spec)
        finally:
            self._lock.release()

    def _fork(self, spec: ProcessSpec) -> ProcessOutcome | None:
        assert self._ctl is not None
        home = owner.owned_tempdir(f"esr-{spec.role}-home-")
        read_end, write_end = os.pipe()
        started = time.perf_counter()
        request = json.dumps({"argv": list(spec.args), "home": str(home)}).encode()
        try:
            socket.send_fds(self._ctl, [request], [write_end])
        except OSError:
            self.close()
            os.close(read_end)
            shutil.rmtree(home, ignore_errors=True)
            return None
        finally:
            os.close(write_end)
        reader = TailReader(os.fdopen(read_end, "rb"), spec.log_limit_bytes)
        reader.start()
        try:
            return self._await(spec, reader, started)
        finally:
            reader.join(timeout=5)
            shutil.rmtree(home, ignore_errors=True)

    def _await(self, spec: ProcessSpec, reader: TailReader, started: float) -> ProcessOutcome:
        assert self._ctl is not None
        deadline = started + spec.timeout_s
        forked = self._message(self._ctl, START_TIMEOUT_S)
        status = self._message(self._ctl, deadline - time.perf_counter()) if forked else {}
        timed_out = bool(forked) and not status and time.perf_counter() >= deadline
        if timed_out:
            with contextlib.suppress(OSError):
                self._ctl.send(b'{"kill": true}')
            status = self._message(self._ctl, GRACE_S)
        if "status" not in status:  # the zygote died or stopped answering: start afresh
            self.close()
        code = os.waitstatus_to_exitcode(int(status["status"])) if "status" in status else None
        lost = code is None and not timed_out
        return ProcessOutcome(
            exit_code=None if timed_out or lost else code,
            timed_out=timed_out,
            signal=9 if lost else (-code if code is not None and code < 0 else None),
            log_tail=reader.text(),
            log_truncated=reader.total > spec.log_limit_bytes,
            wall_s=time.perf_counter() - started,
            details={"start": "fork", **({"fork_server": "lost"} if lost else {})},
        )
