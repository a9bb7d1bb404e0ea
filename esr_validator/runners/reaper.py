"""``python -m esr_validator.runners.reaper CMD...``: run CMD, then kill every descendant it left.

A process group does not hold a model that calls ``setsid()``: it leaves the group, and once
its parent dies it is re-parented to init, out of the local runner's reach. This launcher
makes itself a child subreaper (``PR_SET_CHILD_SUBREAPER``), so every orphan below it is
re-parented to it instead; when CMD ends, or on SIGTERM (the runner's timeout), it kills its
children until none is left, and then exits as CMD did. Should the validator that started it
die without a word (kill -9), the kernel sends it SIGTERM (``PR_SET_PDEATHSIG``), so nothing
the entry started outlives the run. It is our code and runs before any
entry code; nothing of the entry is imported here.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_ROUNDS = 200  # a fork bomb replaces its killed members; each round kills every child seen


def _children() -> list[int]:
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
        children = _children()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        if not children and not _children():
            return


def _owner_died() -> bool:
    """Whether the validator died before the parent-death signal was armed."""
    try:
        pid = int(json.loads(os.environ.get("ESR_OWNER", ""))["pid"])
    except (ValueError, KeyError, TypeError):
        return False  # started by hand: no owner to watch
    return os.getppid() != pid


def _exit_as(returncode: int) -> None:
    if returncode < 0:  # died of a signal: die of the same one, so the runner sees it
        signal.signal(-returncode, signal.SIG_DFL)
        os.kill(os.getpid(), -returncode)
    sys.exit(returncode)


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: python -m esr_validator.runners.reaper CMD...")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")

    def stop(signum: int, _frame: FrameType | None) -> None:
        kill_descendants()
        _exit_as(-signum)

    signal.signal(signal.SIGTERM, stop)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if _owner_died():
        sys.exit("the validator that started this launcher is gone")
    child = subprocess.Popen(argv)
    returncode = child.wait()
    kill_descendants()
    _exit_as(returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
