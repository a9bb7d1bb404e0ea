"""The local runner kills every process a worker leaves, new sessions included."""

from __future__ import annotations

import os
from pathlib import Path

from esr_validator.runners.base import ProcessSpec
from esr_validator.runners.local import LocalRunner
from tests.proc_support import alive


def _spec(pidfile: Path, *extra: str, timeout_s: float) -> ProcessSpec:
    return ProcessSpec(
        role="worker",
        module="tests.fixtures.processes.escaper",
        args=(str(pidfile), *extra),
        mounts=(),
        timeout_s=timeout_s,
    )


def test_a_grandchild_in_a_new_session_does_not_survive(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    outcome = LocalRunner().run(_spec(pidfile, timeout_s=60))
    assert outcome.exit_code == 0, outcome.log_tail
    grandchild = int(pidfile.read_text())
    assert grandchild != os.getpid() and not alive(grandchild)


def test_a_timeout_kills_the_tree_too(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    outcome = LocalRunner().run(_spec(pidfile, "hang", timeout_s=3.0))
    assert outcome.timed_out
    assert not alive(int(pidfile.read_text()))
