"""Process-tree helpers shared by the launchers on both sides of the trust boundary.

A leaf of the standard library only: the reaper (trusted side) and the fork server
(:mod:`esr_validator.sandbox.zygote`, beside the entry) both make themselves child
subreapers and kill every descendant a run leaves, new sessions included. The sandbox may
import this module and nothing else of the trusted side (``tests/sandbox/test_boundary.py``
keeps it a standard-library leaf).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_ROUNDS = 200  # a fork bomb replaces its killed members; each round kills every child seen


def prctl(option: int, value: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(option, value, 0, 0, 0)) == 0


def children() -> list[int]:
    """The pids whose parent is this process, read from ``/proc``."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == me:
            found.append(int(entry))
    return found


def kill_descendants() -> None:
    """Kill and reap every child until none is left (orphans keep arriving as parents die)."""
    for _ in range(_ROUNDS):
        found = children()
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not found and not children():
            return
