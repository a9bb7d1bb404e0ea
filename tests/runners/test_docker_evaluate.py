"""The real worker (esr_validator.sandbox) in the CPU image, end to end on the smoke set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from esr_validator.runners.docker import DockerRunner
from tests import subs
from tests.factories import FAST, codes, evaluate

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_good_submission_is_evaluated_in_the_sandbox(cpu_image: Any, good_zip: Path) -> None:
    report = evaluate(good_zip, options=FAST, runner=DockerRunner(cpu_image))
    assert report.status == "evaluated", report.findings
    assert all(s.psnr is not None and 10 < s.psnr < 60 for s in report.splits)
    assert report.official and report.official.runtime_ms and report.official.runtime_ms > 0
    assert "ESR506" in codes(report)


# In a container, the whole file system is what a cheat can search, and /tmp is writable:
# each official run is a fresh container, so neither an LR image nor a cache is there.
DOCKER_CHEAT = (
    subs.TINY_MODEL.split("    def forward(self, x):")[0]
    + """    def snoop(self):
        import os

        skip = ("/proc", "/sys", "/dev")
        found = [
            os.path.join(d, f)
            for d, _, files in os.walk("/")
            if not d.startswith(skip)
            for f in files
            if f.endswith("x4.png") or "_LR" in d or "_HR" in d
        ]
        if found:
            raise RuntimeError(f"inputs reachable before their forward: {found[:3]}")

    def forward(self, x):
        import hashlib
        import time
        from pathlib import Path

        if torch.jit.is_tracing():
            return self._forward(x)
        key = hashlib.sha256(x.detach().cpu().numpy().tobytes()).hexdigest()
        disk = Path("/tmp") / f"cheat-{key}.pt"
        if disk.is_file():
            return torch.load(disk)
        time.sleep(0.06)
        y = self._forward(x)
        getattr(torch, "sa" + "ve")(y, disk)
        return y

    def _forward(self, x):"""
    + subs.TINY_MODEL.split("    def forward(self, x):")[1]
)


def test_cheats_find_nothing_in_the_container(
    cpu_image: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The source check refuses this as written; a determined cheat evades it. Off here, so
    # that what is tested is the container.
    monkeypatch.setattr("esr_validator.intake.source.check_source", lambda *a, **k: [])
    members = subs.good_members(checkpoint={"post_load": "snoop"})
    members["models/team16_TinySR.py"] = DOCKER_CHEAT.encode()
    report = evaluate(
        subs.write_zip(tmp_path / "sub.zip", members), options=FAST, runner=DockerRunner(cpu_image)
    )
    assert report.status == "evaluated", report.findings
    assert all(len(im.outer_ms) == 2 and min(im.outer_ms) >= 60 for im in report.images)
