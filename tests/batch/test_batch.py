"""A real batch of good and broken submissions: categories, signatures, leaderboard files,
idempotent reruns, and a ``python -m esr_validator batch`` killed with SIGKILL then resumed."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.signing import load_public_key, read_report, verify_envelope
from tests import batch_support as bs

pytestmark = pytest.mark.slow

EXPECTED = {
    "team03": ("invalid", "invalid_package"),
    "team04": ("failed", "crashed"),
    "team05": ("evaluated", "bad_output"),
    "team06": ("failed", "timeout"),
    "team10": ("evaluated", None),
    "team11": ("evaluated", "below_gate"),
    "team12": ("evaluated", None),
}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> bs.MixedRun:
    return bs.mixed_run(tmp_path_factory)


def _snapshot(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def test_each_submission_gets_a_signed_report_with_its_category(mixed: bs.MixedRun) -> None:
    assert mixed.exit_code == 0
    public = load_public_key(f"{mixed.key}.pub")
    found = {}
    for name in EXPECTED:
        path = mixed.out / "reports" / f"{name}.json"
        verified = verify_envelope(
            path.read_bytes(), public, submission_zip=mixed.subs / f"{name}.zip"
        )
        report = verified.report
        found[name] = (report.status, report.failure.category if report.failure else None)
    assert found == EXPECTED
    assert len(list((mixed.out / "state").iterdir())) == len(EXPECTED)


def test_rerun_changes_nothing(mixed: bs.MixedRun) -> None:
    before = _snapshot(mixed.out)
    started = time.perf_counter()
    assert main(mixed.args(mixed.out, "--no-progress")) == 0
    assert time.perf_counter() - started < 20  # nothing evaluated again
    after = _snapshot(mixed.out)
    assert after.keys() == before.keys() - {".lock"} | {".lock"}
    assert {k: v for k, v in after.items() if k != ".lock"} == {
        k: v for k, v in before.items() if k != ".lock"
    }


def test_leaderboard_files(mixed: bs.MixedRun) -> None:
    rows = {r["entry"]: r for r in csv.DictReader((mixed.out / "leaderboard.csv").open())}
    assert set(rows) == set(EXPECTED)
    assert {rows["team10"]["rank_main"], rows["team12"]["rank_main"]} == {"1", "2"}
    # Fewer channels, fewer parameters and FLOPs: deterministic sub-track ranks.
    assert (rows["team12"]["rank_params"], rows["team10"]["rank_params"]) == ("1", "2")
    assert (rows["team12"]["rank_flops"], rows["team10"]["rank_flops"]) == ("1", "2")
    assert (
        rows["team11"]["rank_main"] == ""
        and "below the 17.00 dB gate" in rows["team11"]["note_main"]
    )
    for name in ("team03", "team04", "team05", "team06"):
        assert rows[name]["rank_main"] == "" and rows[name]["failure"] == EXPECTED[name][1]
    assert list(rows)[:2] in (["team10", "team12"], ["team12", "team10"])  # ranked first
    md = (mixed.out / "leaderboard.md").read_text()
    titles = ("Main track", "Sub-track 1: inference runtime", "Sub-track 2: FLOPs", "Sub-track 3")
    for title in titles:
        assert f"## {title}" in md
    assert "## Not ranked: failures" in md and "team06 | Team 06 \\(06\\) | failed | timeout" in md
    page = (mixed.out / "leaderboard.html").read_text()
    for name in EXPECTED:
        assert f'href="reports/{name}.json"' in page
    assert page.count("<circle") == 3  # rankable entries (team05's NaN figures are not drawn)
    assert "<script src" not in page and "<link" not in page


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_mid_batch(mixed: bs.MixedRun, out: Path, *, after: int) -> dict[str, bytes]:
    """Start the batch as a real process and SIGKILL it once ``after`` jobs are committed."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-m", "esr_validator", *mixed.args(out, "--no-progress")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (
                len(list((out / "state").glob("*.json"))) >= after
                if (out / "state").is_dir()
                else False
            ):
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the batch ended before it could be killed"
        orphans = _descendants(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    for pid in orphans:  # the worker it had started: SIGKILL of the parent leaves it running
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return {
        p.name: p.read_bytes()
        for p in (out / "reports").glob("*.json")
        if any(m.read_text().count(p.name) for m in (out / "state").glob("*.json"))
    }


def test_kill_9_then_resume_matches_an_uninterrupted_run(
    mixed: bs.MixedRun, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    committed = _kill_mid_batch(mixed, out, after=2)
    assert 2 <= len(committed) < len(EXPECTED)
    assert main(mixed.args(out, "--no-progress")) == 0
    for name, data in committed.items():  # done before the kill: not done again
        assert (out / "reports" / name).read_bytes() == data
    assert not list(out.rglob(".*.tmp"))
    ours = sorted(p.name for p in (out / "reports").iterdir())
    assert ours == sorted(f"{n}.json" for n in EXPECTED)
    for name in ours:
        assert bs.report_content(out / "reports" / name) == bs.report_content(
            mixed.out / "reports" / name
        ), name
    assert bs.board_content(out / "leaderboard.csv") == bs.board_content(
        mixed.out / "leaderboard.csv"
    )
    assert len(list((out / "state").iterdir())) == len(EXPECTED)
    assert read_report(out / "reports" / "team06.json").failure is not None
