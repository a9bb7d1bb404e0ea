"""Every reporter draws every command's result; every command offers every reporter."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from esr_validator import reporters
from esr_validator.cli import build_parser
from esr_validator.intake.check import run_intake
from esr_validator.pipeline import validate_zip
from esr_validator.schemas.pr import PrCheck, TeamCheck
from esr_validator.schemas.report import Report
from tests import subs
from tests.factories import make_setup

NASTY = "evil\n::error::injected"


@pytest.fixture
def bad_zip(tmp_path: Path) -> Path:
    members = subs.good_members()
    members["models/team16_TinySR.py"] = b"import os\nos.system('x')\nclass TinySR: pass\n"
    return subs.write_zip(tmp_path / "team16.zip", members)


def _check(bad_zip: Path) -> reporters.CheckResult:
    with run_intake(bad_zip) as intake:
        return reporters.CheckResult(bad_zip.name, intake.zip_sha256, intake.ok, intake.findings)


def _report(bad_zip: Path) -> Report:
    return validate_zip(bad_zip, make_setup())  # invalid: nothing runs


def _pr(report: Report) -> PrCheck:
    team = TeamCheck(
        team="team16", team_id=16, status="invalid", ok=False, changed=["models/x.py"],
        deleted=[], findings=report.findings,
    )  # fmt: skip
    return PrCheck(
        validator_version="0", base="a", merge_base="a", head="b", ok=False, teams=[team],
        findings=[],
    )  # fmt: skip


def _draw(name: str, method: str, *args: object) -> str:
    out = io.StringIO()
    getattr(reporters.get(name)(out), method)(*args)
    return out.getvalue()


@pytest.mark.parametrize("name", reporters.FORMATS)
def test_every_reporter_draws_every_result(
    name: str, bad_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    report = _report(bad_zip)
    assert report.status == "invalid" and not report.ok
    entry = reporters.BatchEntry(NASTY, "crashed", "failed", True)
    batch = reporters.BatchResult([entry], tmp_path)
    drawn = {
        "check": _draw(name, "check", _check(bad_zip)),
        "report": _draw(name, "report", report),
        "pr": _draw(name, "pr", _pr(report), {}),
        "batch": _draw(name, "batch", batch),
    }
    code = report.findings[0].code
    for what, text in drawn.items():
        assert text.strip(), (name, what)
        if what != "batch":
            assert code in text, (name, what)
    if name == "json":
        assert json.loads(drawn["check"])["ok"] is False
        assert Report.model_validate(json.loads(drawn["report"])) == report
        assert json.loads(drawn["batch"])["submissions"][0]["name"] == NASTY
    if name == "github":  # the entry's text never starts a workflow command of its own
        assert "\n::error::injected" not in drawn["batch"]
        assert "::error" in drawn["check"] and "%0A" in drawn["batch"]
    if name == "markdown":
        assert "| code | severity |" in drawn["check"]


@pytest.mark.parametrize("command", ["check", "validate", "pr", "batch"])
def test_every_command_offers_every_reporter(command: str) -> None:
    argv = {
        "check": ["check", "z.zip"],
        "validate": ["validate", "z.zip"],
        "pr": ["pr", "--repo", ".", "--base", "HEAD"],
        "batch": ["batch", "d", "--out", "o"],
    }[command]
    for name in reporters.FORMATS:
        assert build_parser().parse_args([*argv, "--format", name]).format == name
