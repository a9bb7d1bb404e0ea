"""End-to-end evaluation through the local runner: real worker process, real torch."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from esr_validator.data import SMOKE_DIR
from esr_validator.evaluate import EvalOptions
from esr_validator.runners.base import ProcessOutcome, ProcessSpec
from esr_validator.runners.local import LocalRunner
from tests import subs
from tests.factories import codes, evaluate
from tests.proc_support import children_of

pytestmark = pytest.mark.slow


def _zip(tmp_path: Path, model_src: str, *, state: dict | None = None, **manifest: object) -> Path:
    members = subs.good_members(**manifest)
    members["models/team16_TinySR.py"] = model_src.encode()
    if state is not None:
        members["model_zoo/team16_TinySR.pth"] = subs.checkpoint_bytes(state)
    return subs.write_zip(tmp_path / "sub.zip", members)


def test_good_submission_is_evaluated(good_zip: Path) -> None:
    report = evaluate(good_zip)
    assert report.status == "evaluated", report.findings
    assert [s.split for s in report.splits] == ["valid", "test"]
    assert all(s.psnr is not None and 10 < s.psnr < 60 for s in report.splits)
    assert report.official and report.official.runtime_ms and report.official.runtime_ms > 0
    assert report.complexity and report.complexity.params == sum(
        t.numel() for t in subs.tiny_state_dict().values()
    )
    # The stable set derives from the official runs: one figure per run, no extra passes.
    assert all(len(im.official_ms) == 2 and len(im.stable_ms) == 2 for im in report.images)
    assert "ESR506" in codes(report)  # smoke data is flagged as not comparable
    json.loads(report.model_dump_json())  # every float is finite and serialisable


def test_data_range_255_gives_identical_psnr(tmp_path: Path) -> None:
    src = (
        subs.TINY_MODEL.replace(
            "    def forward(self, x):\n",
            "    def forward(self, x):\n"
            "        x = x / self.dr\n"
            "        return self._fwd(x) * self.dr\n\n"
            "    def _fwd(self, x):\n",
        )
        .replace(
            "        self.scale = scale\n", "        self.scale = scale\n        self.dr = dr\n"
        )
        .replace(
            "def __init__(self, num_feat=8, scale=4):",
            "def __init__(self, num_feat=8, scale=4, dr=1.0):",
        )
    )
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = evaluate(_zip(tmp_path / "a", src, kwargs={"num_feat": 8, "dr": 1.0}))
    two = evaluate(_zip(tmp_path / "b", src, data_range=255.0, kwargs={"num_feat": 8, "dr": 255.0}))
    assert [im.psnr for im in one.images] == [im.psnr for im in two.images]


HOSTILE = {
    "nan": ("return self.shuffle(self.tail(self.head(x))) * float('nan')", "ESR502"),
    "constant": ("return torch.zeros(1, 3, x.shape[2] * 4, x.shape[3] * 4) + 0.5", "ESR503"),
    "shape": ("return self.shuffle(self.tail(self.head(x)))[:, :, :-4]", "ESR501"),
    "range": ("return self.shuffle(self.tail(self.head(x))) * 0 + 7.0 + x.mean()", "ESR504"),
    "crash": ("raise ValueError('boom in forward')", "ESR601"),
    "oom": ("return torch.empty(10**14)", "ESR603"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_bad_outputs_become_findings(tmp_path: Path, case: str) -> None:
    body, code = HOSTILE[case]
    src = (
        subs.TINY_MODEL.split("    def forward(self, x):")[0]
        + f"    def forward(self, x):\n        {body}\n"
    )
    report = evaluate(_zip(tmp_path, src))
    assert code in codes(report), report.findings
    assert not report.ok
    assert report.failure is not None


def test_load_failure(tmp_path: Path) -> None:
    report = evaluate(_zip(tmp_path, subs.TINY_MODEL, state={"head.weight": torch.zeros(1)}))
    assert report.status == "failed"
    assert "ESR606" in codes(report)
    assert report.failure and report.failure.category == "crashed"


def test_timeout_is_a_finding(tmp_path: Path) -> None:
    src = (
        subs.TINY_MODEL.split("    def forward(self, x):")[0]
        + "    def forward(self, x):\n        while True:\n            pass\n"
    )
    report = evaluate(
        _zip(tmp_path, src), options=EvalOptions(runs=1, stable_runs=0, warmup=0, timeout_s=8)
    )
    assert "ESR602" in codes(report)
    assert report.failure and report.failure.category == "timeout"


def _workers(runner: LocalRunner, channel: str) -> list[int]:
    """This run's sandbox processes, and no other job's on a shared machine: the one started
    with this run's channel in its argv (a fresh interpreter), or a child of the zygote that
    this runner's own fork server started under its reaper."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if channel.encode() in cmdline and b"esr_validator.runners.reaper" not in cmdline:
            found.append(int(proc.name))
    server = runner._forks._proc if runner._forks is not None else None
    if server is not None:  # the reaper; the zygote is its only child
        found += [pid for zygote in children_of(server.pid) for pid in children_of(zygote)]
    return found


class KillingRunner(LocalRunner):
    """Kills the worker with SIGKILL from outside once it runs, as the OOM killer would."""

    def run(self, spec: ProcessSpec) -> ProcessOutcome:
        def killer() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for pid in _workers(self, spec.args[0]):
                    try:
                        os.kill(pid, signal.SIGKILL)
                        return
                    except OSError:
                        continue
                time.sleep(0.05)

        threading.Thread(target=killer, daemon=True).start()
        return super().run(spec)


def test_killed_worker_is_a_finding(good_zip: Path) -> None:
    report = evaluate(good_zip, runner=KillingRunner())
    assert report.status == "failed"
    assert "ESR604" in codes(report)
    assert report.failure and report.failure.category == "out_of_memory"


def test_stdout_flood_is_truncated(tmp_path: Path) -> None:
    src = subs.TINY_MODEL.replace(
        "        base = F.interpolate", "        print('x' * 1200000)\n        base = F.interpolate"
    )
    report = evaluate(_zip(tmp_path, src))
    assert "ESR607" in codes(report)
    assert report.status == "evaluated"


class SpyRunner(LocalRunner):
    """Records what the worker is handed: arguments, environment and visible folders."""

    def __init__(self) -> None:
        super().__init__()
        self.specs: list[ProcessSpec] = []
        self.seen_files: list[str] = []

    def run(self, spec: ProcessSpec) -> ProcessOutcome:
        self.specs.append(spec)
        for mount in spec.mounts:
            self.seen_files += [str(p) for p in mount.host.rglob("*")]
            self.seen_files += [p.read_text() for p in mount.host.rglob("*.json")]
        return super().run(spec)


def test_worker_never_sees_hr(good_zip: Path) -> None:
    spy = SpyRunner()
    report = evaluate(good_zip, runner=spy)
    assert report.status == "evaluated"
    # One complexity process, then one fresh process per official run, as many reference
    # runs again when the runs spread beyond the clock (a loaded machine), and when they
    # spread beyond the machine too a confirmation round: entry and reference runs in turn.
    references = 2 if report.images[0].reference_ms else 0
    confirmation = 2 * 2 if report.images[0].confirm_ms else 0
    assert len(spy.specs) == 1 + 2 + references + confirmation
    hr_dirs = [str(p) for p in SMOKE_DIR.glob("*_HR")]
    assert hr_dirs
    args = [a for spec in spy.specs for a in spec.args]
    hosts = [str(m.host) for spec in spy.specs for m in spec.mounts]
    visible = " ".join([*args, *spy.seen_files, *hosts])
    for hr in hr_dirs:
        assert hr not in visible
        assert Path(hr).name not in visible
    assert all("_HR" not in f for f in spy.seen_files)
    # Nothing writable reaches the worker, and no LR folder: images come through the channel.
    assert all(m.read_only for spec in spy.specs for m in spec.mounts)
    assert all(not p.endswith((".png", ".jpg")) for p in spy.seen_files)


class DiesAtStartRunner(LocalRunner):
    """Runs a process that exits before connecting to the channel."""

    def run(self, spec: ProcessSpec) -> ProcessOutcome:
        return super().run(replace(spec, module="tests.fixtures.processes.dies_at_start"))


def test_a_process_that_never_connects_is_a_crash_with_its_log(good_zip: Path) -> None:
    report = evaluate(good_zip, runner=DiesAtStartRunner())
    assert "ESR601" in codes(report) and "ESR605" not in codes(report)
    assert "dying before the channel opens" in " ".join(f.message for f in report.findings)
