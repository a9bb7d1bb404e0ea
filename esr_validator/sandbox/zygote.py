"""``python -m esr_validator.sandbox.zygote SOCKET``: a fork server for the local runner's runs.

Every official run is a fresh process, as the organizers start ``test_demo.py`` once per
run. What an interpreter costs before it reads its channel (Python, torch, fvcore and this
package: about 3 s on a 2-core CPU) is the same every time and says nothing about the entry.
This process pays it once: it imports them, touches no CUDA, imports no entry code, runs
no operator, and then forks one child per run. From the fork on, a child is exactly
``python -m esr_validator.sandbox CHANNEL``: it imports the entry's module anew, builds and
loads the model, and makes its own threads, kernels and allocator pools on its first
forward, so that first image is still cold (``tests/sandbox/test_zygote.py`` shows it).

The control socket (``SOCK_SEQPACKET``, one JSON message per packet):

- runner → zygote: ``{"argv": [...], "home": DIR}`` with one descriptor, the log's write end;
- zygote → runner: ``{"pid": N}``, then ``{"status": S}`` (the raw wait status) once the
  child has ended and whatever it left behind is killed (the zygote is a child subreaper);
- runner → zygote, while a child runs: ``{"kill": true}`` (the runner's timeout).

End of file on the control socket ends the zygote. The runner only ever uses this for CPU
runs: a GPU run needs a CUDA context of its own, made by a fresh interpreter.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import socket
import sys
import tempfile
import threading
import traceback
from typing import Any, NoReturn

import numpy as np
import torch  # noqa: F401  (the point of this process: imported once, before any fork)

from esr_validator.proctree import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    kill_descendants,
    prctl,
)
from esr_validator.sandbox.__main__ import main as worker_main

MAX_MESSAGE = 64 * 1024


def _send(ctl: socket.socket, message: dict[str, Any]) -> None:
    ctl.send(json.dumps(message).encode())


def _become_worker(argv: list[str], home: str, log_fd: int) -> NoReturn:
    """In the child: the fresh process's setting, then the worker; never returns."""
    code: int = 1
    try:
        os.setpgid(0, 0)  # its own group, so a timeout kills what it started too
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(null)
        os.close(log_fd)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.chdir(home)
        os.environ.update(HOME=home, TMPDIR=home)
        tempfile.tempdir = None
        # A fresh interpreter seeds these from the OS; forks would otherwise share one state.
        random.seed()
        np.random.seed()
        code = worker_main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # the entry may raise anything; the exit code carries it
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _kill(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _wait(ctl: socket.socket, pid: int) -> tuple[int, bool]:
    """The child's wait status, killing it on a ``kill`` message; and whether the control
    socket closed meanwhile (then the zygote ends after this child)."""
    pidfd = os.pidfd_open(pid)
    closed = False
    try:
        while True:
            watched: list[int] = [pidfd] if closed else [ctl.fileno(), pidfd]
            ready, _, _ = select.select(watched, [], [])
            if pidfd in ready:
                return os.waitpid(pid, 0)[1], closed
            if not ctl.recv(MAX_MESSAGE):  # end of file, or any message: both mean kill
                closed = True
            _kill(pid)
    finally:
        os.close(pidfd)


def _serve(ctl: socket.socket) -> int:
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(ctl, MAX_MESSAGE, 1)
        except OSError:
            return 0
        if not message:
            return 0
        try:
            request = json.loads(message)
            argv, home = [str(a) for a in request["argv"]], str(request["home"])
        except (ValueError, KeyError, TypeError):
            argv, home = [], ""
        if len(fds) != 1 or not home:
            for fd in fds:
                os.close(fd)
            return 2
        if threading.active_count() != 1:
            return 3  # forking a threaded process is unsafe; the runner starts fresh ones
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            ctl.close()
            _become_worker(argv, home, fds[0])
        os.close(fds[0])
        _send(ctl, {"pid": pid})
        status, closed = _wait(ctl, pid)
        kill_descendants()
        if closed:
            return 0
        _send(ctl, {"status": status})


def main(argv: list[str]) -> int:
    sys.dont_write_bytecode = True
    if len(argv) != 1 or not prctl(PR_SET_CHILD_SUBREAPER, 1):
        return 2
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ctl.connect(argv[0])
    _send(ctl, {"ready": True, "pid": os.getpid()})
    try:
        return _serve(ctl)
    finally:
        kill_descendants()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
