"""The local runner's fork server: every run is still a process of its own.

The zygote imports torch once and forks one child per run. Each child must be what a fresh
interpreter would be for everything the entry can tell or the measurement depends on: its
own pid, its own random state, the entry's module imported anew, a cold first image
(``tests/evaluation/test_integrity.py::test_first_image_of_every_run_is_timed_cold``), and
nothing it started may outlive it. A timeout kills the child, not the server; a server that
dies is replaced; what it cannot serve (GPU runs) starts a fresh interpreter.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest

from esr_validator.proctree import children
from esr_validator.runners.base import ProcessSpec
from esr_validator.runners.forkserver import ForkServer
from esr_validator.runners.local import LocalRunner
from tests import subs
from tests.evaluation.test_integrity import FORWARD, HEAD
from tests.factories import evaluate
from tests.proc_support import alive, children_of


def _spec(channel: str, *, timeout_s: float = 60.0, gpu: int | None = None) -> ProcessSpec:
    return ProcessSpec(
        role="worker",
        module="esr_validator.sandbox",
        args=(channel,),
        mounts=(),
        timeout_s=timeout_s,
        gpu=gpu,
    )


@pytest.fixture
def silent_channel(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A socket that accepts the worker and never sends its config: the worker waits."""
    path = tmp_path / "s"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield str(path)
    stop.set()
    thread.join()
    listener.close()
    for conn in held:
        conn.close()


# At import, the entry records its process and random state and leaves a grandchild in a new
# session behind (an escape attempt), writing to a folder the local runner lets it reach.
RECORDER = (
    """import os as _os
import random as _random
import time as _time

_LOG = {log!r}
with open(_os.path.join(_LOG, "imports"), "a") as _h:
    _h.write(f"{{_os.getpid()}} {{_os.getppid()}} {{_random.random()}}\\n")
if _os.fork() == 0:
    _os.setsid()
    if _os.fork() == 0:
        with open(_os.path.join(_LOG, f"grandchild.{{_os.getpid()}}"), "w") as _h:
            _h.write(str(_os.getpid()))
        _time.sleep(300)
    _os._exit(0)
"""
    + HEAD
    + "    def forward(self, x):"
    + FORWARD
)


@pytest.mark.slow
def test_every_run_is_a_fresh_fork_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The intake refuses these writes as written; the runtime is what is tested here.
    monkeypatch.setattr("esr_validator.intake.source.check_source", lambda *a, **k: [])
    log = tmp_path / "log"
    log.mkdir()
    members = subs.good_members()
    members["models/team16_TinySR.py"] = RECORDER.format(log=str(log)).encode()
    runner = LocalRunner()
    try:
        report = evaluate(subs.write_zip(tmp_path / "sub.zip", members), runner=runner)
    finally:
        runner.close()
    assert report.status == "evaluated", report.findings
    rows = [line.split() for line in (log / "imports").read_text().splitlines()]
    # The complexity process and each official run imported the entry, each in its own process.
    assert len(rows) == 1 + len(report.runs)
    pids, parents, draws = zip(*rows, strict=True)
    assert len(set(pids)) == len(rows) and str(os.getpid()) not in pids
    assert len(set(parents)) == 1 and parents[0] != str(os.getpid())  # all forks of one zygote
    assert len(set(draws)) == len(rows)  # random seeded afresh, as in a new interpreter
    grandchildren = [int(p.read_text()) for p in log.glob("grandchild.*")]
    assert len(grandchildren) == len(rows)
    assert not any(alive(pid) for pid in grandchildren)


def test_a_timeout_kills_the_child_and_the_server_goes_on(silent_channel: str) -> None:
    runner = LocalRunner()
    try:
        hung = runner.run(_spec(silent_channel, timeout_s=3.0))
        assert hung.timed_out and hung.exit_code is None
        assert hung.details["start"] == "fork"
        after = runner.run(_spec("/nonexistent/socket"))
        assert after.details == {"start": "fork"} and after.exit_code == 1
        assert "FileNotFoundError" in after.log_tail
    finally:
        runner.close()


def test_a_dead_server_is_replaced(silent_channel: str) -> None:
    server = ForkServer(
        reaper="esr_validator.runners.reaper", env_for=lambda s, h: dict(os.environ, HOME=h)
    )
    try:
        outcome: list[object] = []
        thread = threading.Thread(target=lambda: outcome.append(server.run(_spec(silent_channel))))
        thread.start()
        deadline = time.monotonic() + 120
        zygotes: list[int] = []
        while not zygotes and time.monotonic() < deadline:
            time.sleep(0.2)
            proc = server._proc  # the reaper; the zygote is its only child
            zygotes = children_of(proc.pid) if proc is not None else []
        assert zygotes, "the fork server never started"
        time.sleep(1.0)  # let it fork the child
        os.kill(zygotes[0], signal.SIGKILL)
        thread.join(timeout=60)
        lost = outcome[0]
        assert lost is not None and lost.signal == 9 and lost.details["fork_server"] == "lost"  # type: ignore[attr-defined]
        again = server.run(_spec("/nonexistent/socket"))
        assert again is not None and again.exit_code == 1 and again.details == {"start": "fork"}
    finally:
        server.close()


def test_gpu_runs_and_fork_false_start_fresh_interpreters() -> None:
    assert not ForkServer.serves(_spec("x", gpu=0)) and ForkServer.serves(_spec("x"))
    gpu = LocalRunner().run(_spec("/nonexistent/socket", gpu=0))
    assert gpu.details == {"start": "exec"} and gpu.exit_code == 1
    plain = LocalRunner(fork=False).run(_spec("/nonexistent/socket"))
    assert plain.details == {"start": "exec"} and plain.exit_code == 1


def test_closing_the_runner_ends_the_server() -> None:
    runner = LocalRunner()
    assert runner.run(_spec("/nonexistent/socket")).details == {"start": "fork"}
    proc = runner._forks._proc  # type: ignore[union-attr]
    assert proc is not None and proc.poll() is None
    runner.close()
    assert proc.wait(timeout=10) is not None
    assert proc.pid not in children()
