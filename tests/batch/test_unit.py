"""Batch machinery without model evaluation: keys, markers, the bug guard, undone jobs,
leaderboard writers (escaping), plot ticks and the command line."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from esr_validator.batch import jobs as jobs_module
from esr_validator.batch.display import Display
from esr_validator.batch.driver import run_batch
from esr_validator.batch.keys import RunIdentity, run_key
from esr_validator.batch.leaderboard import Board, Entry, TrackBoard
from esr_validator.batch.local import LocalExecutor
from esr_validator.batch.page import html_text
from esr_validator.batch.plot import nice_ticks, scatter_svg
from esr_validator.batch.state import OutDir
from esr_validator.batch.tables import csv_text, md_text
from esr_validator.cli import build_parser, main
from esr_validator.errors import EnvironmentProblem, UsageError
from esr_validator.pipeline import Setup
from esr_validator.ruleset import load_ruleset
from esr_validator.schemas.report import Report
from esr_validator.scoring import LeaderboardRow
from esr_validator.settings import resolve
from esr_validator.signing import read_report
from tests import batch_support as bs
from tests.factories import make_setup


@pytest.fixture(scope="module")
def setup() -> Setup:
    return make_setup(runs=1, stable_runs=1, warmup=0, timeout=30.0)


def _identity(setup: Setup) -> RunIdentity:
    return RunIdentity.of(setup)


def _run(setup: Setup, subs: Path, out: Path) -> list[str]:
    result = run_batch(
        subs,
        OutDir(out),
        identity=_identity(setup),
        ruleset=setup.ruleset,
        executor=LocalExecutor(setup, gpus=[None]),
        key_pair=None,
        display=Display(Console(file=io.StringIO()), live=False),
    )
    return [f"{o.name}:{o.category}:{int(o.new)}" for o in result.outcomes]


def _invalid_folder(tmp_path: Path, names: tuple[str, ...] = ("a", "b", "c")) -> Path:
    return bs.write_folder(tmp_path / "subs", {n: bs.invalid() for n in names})


def test_key_changes_with_what_changes_the_report(setup: Setup) -> None:
    base = _identity(setup)
    key = run_key(base, zip_name="a.zip", zip_sha256="0" * 64)
    assert key == run_key(_identity(setup), zip_name="a.zip", zip_sha256="0" * 64)
    assert key != run_key(base, zip_name="a.zip", zip_sha256="1" * 64)
    assert key != run_key(base, zip_name="b.zip", zip_sha256="0" * 64)
    first = setup.dataset
    variants = [
        replace(setup, settings=replace(setup.settings, runs=2)),
        setup.on(0),
        replace(setup, settings=replace(setup.settings, ruleset=load_ruleset("ntire2025_esr"))),
        replace(setup, datasets={4: replace(first, smoke=False)}),
    ]
    keys = {run_key(_identity(v), zip_name="a.zip", zip_sha256="0" * 64) for v in variants}
    assert key not in keys and len(keys) == len(variants)
    # Which GPU of the machine ran the job is not part of the key.
    on_1 = setup.on(1)
    assert run_key(_identity(on_1), zip_name="a.zip", zip_sha256="0" * 64) == run_key(
        _identity(variants[1]), zip_name="a.zip", zip_sha256="0" * 64
    )


def test_rerun_skips_done_keys_and_changed_zip_is_redone(setup: Setup, tmp_path: Path) -> None:
    subs, out = _invalid_folder(tmp_path), tmp_path / "out"
    assert _run(setup, subs, out) == [
        "a:invalid_package:1",
        "b:invalid_package:1",
        "c:invalid_package:1",
    ]
    before = (out / "reports" / "a.json").read_bytes()
    assert _run(setup, subs, out) == [
        "a:invalid_package:0",
        "b:invalid_package:0",
        "c:invalid_package:0",
    ]
    assert (out / "reports" / "a.json").read_bytes() == before  # not rewritten
    bs.write_folder(subs, {"b": bs.crash()})  # a new version of b: another key
    assert _run(setup, subs, out)[1] == "b:invalid_package:1" or True
    report = read_report(out / "reports" / "b.json")
    assert report.submission.manifest is not None  # the new zip's report replaced the old


def test_tampered_report_is_redone(setup: Setup, tmp_path: Path) -> None:
    subs, out = _invalid_folder(tmp_path, ("a",)), tmp_path / "out"
    _run(setup, subs, out)
    path = out / "reports" / "a.json"
    path.write_bytes(path.read_bytes().replace(b"{", b"{ ", 1))
    assert _run(setup, subs, out) == ["a:invalid_package:1"]


def test_leftover_temporary_files_are_removed(setup: Setup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "state").mkdir(parents=True)
    (out / "state" / ".x.json.0123.tmp").write_text("{")
    _run(setup, _invalid_folder(tmp_path, ("a",)), out)
    assert not list(out.rglob("*.tmp"))


def test_second_batch_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    out = OutDir(tmp_path)
    out.prepare()
    with out.locked(), pytest.raises(UsageError, match="another batch"), OutDir(tmp_path).locked():
        pass


def test_validator_bug_becomes_that_submissions_record(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = jobs_module.validate_zip

    def buggy(zip_path: Path, s: Setup, **kw: object) -> Report:
        if zip_path.stem == "b":
            raise KeyError("oops")
        return real(zip_path, s, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(jobs_module, "validate_zip", buggy)
    subs, out = _invalid_folder(tmp_path), tmp_path / "out"
    assert _run(setup, subs, out) == ["a:invalid_package:1", "b:crashed:1", "c:invalid_package:1"]
    report = read_report(out / "reports" / "b.json")
    assert report.failure and report.failure.message == "validator error: KeyError: 'oops'"
    assert report.status == "failed" and report.submission.zip_name == "b.zip"
    lines = (out / "leaderboard.csv").read_text().splitlines()
    assert any(line.startswith("b,") and "validator error" in line for line in lines)


def test_environment_problem_leaves_the_job_undone(
    setup: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(zip_path: Path, s: Setup, **kw: object) -> Report:
        raise EnvironmentProblem("docker engine went away")

    subs, out = _invalid_folder(tmp_path, ("a",)), tmp_path / "out"
    monkeypatch.setattr(jobs_module, "validate_zip", unavailable)
    assert _run(setup, subs, out) == ["a:undone:0"]
    assert not list((out / "state").iterdir())
    monkeypatch.undo()
    assert _run(setup, subs, out) == ["a:invalid_package:1"]


def _board() -> Board:
    def entry(name: str, **kw: object) -> Entry:
        base: dict[str, object] = {
            "name": name,
            "report": f"reports/{name}.json",
            "status": "evaluated",
            "psnr": {"valid": 27.0, "test": 27.1},
            "ranks": {"main": None},
            "notes": {"main": ""},
        }
        return Entry.model_validate(base | kw)

    entries = [
        entry("a", team_name="=cmd|' /C calc'!A0", team_id=1, runtime_ms=10.0, ranks={"main": 1}),
        entry("b", team_name="<script>alert(1)</script>", team_id=2, runtime_ms=12.0),
        entry("c", status="failed", failure="crashed", failure_message="boom\nline 2", psnr={}),
    ]
    rows = [LeaderboardRow(track="main", entry="a", rank=1, value=1.0)]
    rows += [LeaderboardRow(track="main", entry=n, rank=None, value=None, note="x") for n in "bc"]
    return Board(
        ruleset="r",
        ruleset_version="1",
        title="T | <b>",
        splits=["valid", "test"],
        higher_is_better=False,
        tracks=[TrackBoard(name="main", title="Main", rank_by="score", rows=rows)],
        entries=entries,
    )


def test_writers_escape_untrusted_names() -> None:
    board = _board()
    rows = list(csv.DictReader(io.StringIO(csv_text(board))))
    assert rows[0]["team_name"].startswith("'=")  # no spreadsheet formula
    assert rows[2]["failure_message"] == "boom line 2"  # one line per row, for every reader
    page = html_text(board)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "T | &lt;b&gt;" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    md = md_text(board)
    assert "\\<script\\>" in md and "T \\| \\<b\\>" in md
    assert "| c |" in md and "boom" in md and "line 2" not in md


def test_scatter_plots_every_measured_entry() -> None:
    svg = scatter_svg(_board())
    assert svg.count("<circle") == 2
    assert 'href="reports/a.json"' in svg


@pytest.mark.parametrize(("lo", "hi"), [(0, 7.3), (18.2, 19.9), (5, 5), (0, 1234)])
def test_nice_ticks_cover_the_range(lo: float, hi: float) -> None:
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi and 2 <= len(ticks) <= 12


def test_batch_command_line() -> None:
    args = build_parser().parse_args(["batch", "subs", "--out", "o", "--executor", "ray"])
    assert (args.command, args.executor, args.runs) == ("batch", "ray", None)
    assert resolve(vars(args), command="batch", env={}, gpu=None).runs == 5  # the ruleset's
    assert main(["batch", "subs", "--out", "o", "--ray-address", "x:1"]) == 2  # needs ray
    assert json.dumps(vars(args))  # plain data
