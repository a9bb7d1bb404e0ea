"""``esr-validator cleanup``: remove what runs killed with -9 left behind.

Containers, loop devices and their mounts, temporary folders and sandbox processes are
removed only when their owner record names a process that is gone; a live run's resources
and anything without a record are left alone (:mod:`esr_validator.leftovers`). ``batch``
does the same at every start.
"""

from __future__ import annotations

import argparse

from esr_validator.errors import EXIT_OK
from esr_validator.leftovers import Swept, sweep
from esr_validator.text import clean


def describe(swept: Swept) -> list[str]:
    lines = [f"killed process {pid}" for pid in swept.processes]
    lines += [f"removed container {name}" for name in swept.containers]
    lines += [f"unmounted {point}" for point in swept.mounts]
    lines += [f"detached {device}" for device in swept.loops]
    lines += [f"removed folder {folder}" for folder in swept.folders]
    return [clean(line) for line in lines]  # folder names come from the disk: neutralised


def run(args: argparse.Namespace) -> int:
    swept = sweep(containers=not args.no_docker)
    for line in describe(swept):
        print(line)
    print(f"{swept.count} leftover(s) removed" if swept.count else "nothing left behind")
    return EXIT_OK
