"""``--format sarif``: every command's result is a valid SARIF 2.1.0 log.

Validated against the OASIS schema shipped as a test fixture (tests/fixtures/sarif/README.md
says where it comes from), with format checks on, so a path a hostile entry chose (spaces,
``..``, non-ASCII, newlines) must still come out as a valid URI reference.
"""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from esr_validator import reporters
from esr_validator.cli import main
from esr_validator.intake.check import run_intake
from esr_validator.pipeline import validate_zip
from esr_validator.schemas.findings import Finding, Severity, Waived
from esr_validator.schemas.pr import PrCheck, TeamCheck
from tests import subs
from tests.factories import make_setup

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
HOSTILE_PATH = "models/évil name\n::error::x/../%41.py"


def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def _valid(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    errors = sorted(_validator().iter_errors(doc), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return doc


def _draw(method: str, *args: object) -> dict[str, Any]:
    out = io.StringIO()
    getattr(reporters.get("sarif")(out), method)(*args)
    return _valid(out.getvalue())


@pytest.fixture
def bad_zip(tmp_path: Path) -> Path:
    members = subs.good_members()
    members["models/team16_TinySR.py"] = b"import os\nos.system('x')\nclass TinySR: pass\n"
    members["notes.txt"] = b"x"
    return subs.write_zip(tmp_path / "team16.zip", members)


def _waived(f: Finding) -> Finding:
    reason = "accepted <b>by</b> the organizers"
    mark = Waived(reason=reason, expires=date(2030, 1, 1), waivers_sha256="0" * 64)
    return f.model_copy(update={"waived": mark})


def test_the_schema_fixture_is_the_oasis_schema() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    jsonschema.Draft4Validator.check_schema(schema)
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}  # no driver name
    assert list(_validator().iter_errors(bad))  # the validator does reject things


def test_check_is_valid_sarif_with_rules_levels_locations_and_suppressions(
    bad_zip: Path,
) -> None:
    with run_intake(bad_zip) as intake:
        findings = [_waived(intake.findings[0]), *intake.findings[1:]]
        findings.append(
            Finding(
                code="ESR217",
                name="unexpected-file",
                severity=Severity.WARNING,
                path=HOSTILE_PATH,
                line=3,
                message="hostile\n::error::msg",
            )
        )
        result = reporters.CheckResult(bad_zip.name, intake.zip_sha256, False, findings)
    doc = _draw("check", result)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert {r["ruleId"] for r in results} == {f.code for f in findings}
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] in ("error", "warning", "note")
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == 1
    assert suppressed[0]["suppressions"][0]["kind"] == "external"
    assert "accepted <b>by</b> the organizers" in suppressed[0]["suppressions"][0]["justification"]
    hostile = next(r for r in results if r["message"]["text"].startswith("hostile"))
    uri = hostile["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert "\n" not in uri and " " not in uri and "%2541" in uri  # percent-encoded, not decoded
    assert hostile["locations"][0]["physicalLocation"]["region"] == {"startLine": 3}


def test_report_pr_and_batch_are_valid_sarif(bad_zip: Path, tmp_path: Path) -> None:
    report = validate_zip(bad_zip, make_setup())  # invalid: nothing runs
    doc = _draw("report", report)
    assert doc["runs"][0]["invocations"][0]["properties"]["ok"] is False
    team = TeamCheck(
        team="team16", team_id=16, status="invalid", ok=False, changed=["models/x.py"],
        manifest_file="submissions/team16.toml", findings=report.findings,
    )  # fmt: skip
    check = PrCheck(
        validator_version="0", base="a", merge_base="a", head="b", ok=False, teams=[team],
        findings=[],
    )  # fmt: skip
    pr = _draw("pr", check, {})
    assert all(r["properties"]["subject"] == "team16" for r in pr["runs"][0]["results"])
    entry = reporters.BatchEntry("team 16 <x>.zip", "crashed", "failed", True, "boom")
    batch = _draw("batch", reporters.BatchResult([entry], tmp_path))
    assert batch["runs"][0]["results"][0]["ruleId"] == "crashed"


def test_check_format_sarif_from_the_command_line(
    bad_zip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(bad_zip), "--format", "sarif"]) == 1
    doc = _valid(capsys.readouterr().out)
    assert doc["version"] == "2.1.0" and doc["runs"][0]["results"]
