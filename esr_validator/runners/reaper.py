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

import json
import os
import signal
import subprocess
import sys
from types import FrameType

from esr_validator.proctree import (
    PR_SET_CHILD_SUBREAPER,
    PR_SET_PDEATHSIG,
    kill_descendants,
    prctl,
)


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
    if not prctl(PR_SET_CHILD_SUBREAPER, 1):
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")

    def stop(signum: int, _frame: FrameType | None) -> None:
        kill_descendants()
        _exit_as(-signum)

    signal.signal(signal.SIGTERM, stop)
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if _owner_died():
        sys.exit("the validator that started this launcher is gone")
    child = subprocess.Popen(argv)
    returncode = child.wait()
    kill_descendants()
    _exit_as(returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
