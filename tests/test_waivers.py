"""Severity control: --fail-on and the organizers' waivers, applied and recorded.

A waived finding stays in the report, marked with its reason, and fails nothing; an expired
waiver does not apply and says so; an entry cannot borrow another team's waivers.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import date, timedelta
from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.errors import UsageError
from esr_validator.pipeline import validate_zip
from esr_validator.schemas.findings import Finding, fails, has_errors
from esr_validator.settings import resolve
from esr_validator.signing import sign_report
from esr_validator.signing.dsse import dumps_envelope
from esr_validator.signing.verify import verify_envelope
from esr_validator.waivers import apply_waivers, load_waivers, team_of
from tests import subs
from tests.factories import QUICK, make_setup
from tests.signing_support import new_key

TODAY = date(2025, 3, 1)
UNEXPECTED = "ESR217"  # unexpected-file: an error that is harmless to waive in a test


def _waivers(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text("\n".join(rows), encoding="utf-8")
    return path


def _waiver(team: int, code: str, expires: date, reason: str = "reviewed by the organizers") -> str:
    return (
        f'[[waiver]]\nteam = {team}\ncode = "{code}"\nreason = "{reason}"\n'
        f"expires = {expires.isoformat()}\n"
    )


@pytest.fixture
def extra_file_zip(tmp_path: Path) -> Path:
    members = subs.good_members()
    members["notes.txt"] = b"an extra file the rules do not allow\n"
    return subs.write_zip(tmp_path / "team16.zip", members)


def _finding(code: str = UNEXPECTED, severity: str = "error") -> Finding:
    return Finding(code=code, name="unexpected-file", severity=severity, message="m")  # type: ignore[arg-type]


def test_a_live_waiver_marks_the_finding_and_it_fails_nothing(tmp_path: Path) -> None:
    waivers = load_waivers(_waivers(tmp_path, _waiver(16, UNEXPECTED, TODAY)))
    found = apply_waivers([_finding()], waivers, team=16, on=TODAY)  # the last day counts
    assert len(found) == 1 and found[0].waived is not None
    assert found[0].waived.reason == "reviewed by the organizers"
    assert found[0].waived.waivers_sha256 == waivers.sha256
    assert not has_errors(found) and not fails(found, fail_on="warning")
    assert apply_waivers(found, waivers, team=16, on=TODAY) == found  # idempotent


def test_an_expired_waiver_does_not_apply_and_says_so(tmp_path: Path) -> None:
    waivers = load_waivers(_waivers(tmp_path, _waiver(16, UNEXPECTED, TODAY - timedelta(1))))
    found = apply_waivers([_finding()], waivers, team=16, on=TODAY)
    assert [f.code for f in found] == [UNEXPECTED, "ESR706"]
    assert found[0].waived is None and has_errors(found)
    assert "expired on 2025-02-28" in found[1].message
    again = apply_waivers(found, waivers, team=16, on=TODAY)
    assert again == found  # the note is not repeated


def test_other_teams_and_codes_are_untouched(tmp_path: Path) -> None:
    waivers = load_waivers(_waivers(tmp_path, _waiver(7, UNEXPECTED, TODAY)))
    assert apply_waivers([_finding()], waivers, team=16, on=TODAY)[0].waived is None
    other = _finding(code="ESR216")
    assert apply_waivers([other], waivers, team=7, on=TODAY)[0].waived is None


def test_an_entry_cannot_borrow_another_teams_waivers(tmp_path: Path) -> None:
    # The manifest is the entry's own: it must agree with the organizers' zip name.
    assert team_of(manifest_team=7, zip_name="team16.zip") is None
    assert team_of(manifest_team=16, zip_name="team16_TinySR.zip") == 16
    assert team_of(manifest_team=None, zip_name="team07.zip") == 7
    assert team_of(manifest_team=7, zip_name="upload.zip") == 7
    waivers = load_waivers(_waivers(tmp_path, _waiver(7, UNEXPECTED, TODAY)))
    mismatch = Finding(code="ESR208", name="team-id-mismatch", severity="error", message="m")  # type: ignore[arg-type]
    found = apply_waivers([_finding(), mismatch], waivers, team=7, on=TODAY)
    assert all(f.waived is None for f in found)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[[waiver]]\nteam = 1\ncode = "ESR217"\nexpires = 2025-01-01\n', "reason"),
        ('[[waiver]]\nteam = 100\ncode = "ESR217"\nreason = "r"\nexpires = 2025-01-01\n', "team"),
        ('[[waiver]]\nteam = 1\ncode = "ESR999"\nreason = "r"\nexpires = 2025-01-01\n', "ESR999"),
        ('[[waiver]]\nteam = 1\ncode = "ESR217"\nreason = "r"\nexpires = "soon"\n', "expires"),
        ("[[waiver]\n", "TOML"),
        ('[[waiver]]\nteam = 1\ncode = "ESR217"\nreason = "r"\nexpires = 2025-01-01\nx = 1\n', "x"),
    ],
)
def test_a_bad_waivers_file_is_a_usage_error(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        load_waivers(_waivers(tmp_path, text))


def test_fail_on_is_resolved_in_settings(tmp_path: Path) -> None:
    assert resolve({}, env={}, gpu=None).fail_on == "error"
    assert resolve({}, command="batch", env={}, gpu=None).fail_on == "never"
    assert resolve({}, env={"ESR_FAIL_ON": "warning"}, gpu=None).fail_on == "warning"
    cli = {"fail_on": "never"}
    assert resolve(cli, env={"ESR_FAIL_ON": "warning"}, gpu=None).fail_on == "never"
    with pytest.raises(UsageError):
        resolve({}, env={"ESR_FAIL_ON": "sometimes"}, gpu=None)
    path = _waivers(tmp_path, _waiver(16, UNEXPECTED, TODAY))
    settings = resolve({"waivers": str(path)}, env={}, gpu=None)
    assert settings.waivers is not None and settings.run_options().waivers_sha256
    assert settings.identity()["waivers"] == settings.waivers.sha256  # a batch re-runs on change


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(list(argv))
    return code, out.getvalue()


def test_check_applies_waivers_and_fail_on(extra_file_zip: Path, tmp_path: Path) -> None:
    zip_arg = str(extra_file_zip)
    assert _run("check", zip_arg)[0] == 1
    assert _run("check", zip_arg, "--fail-on", "never")[0] == 0
    far = date.today() + timedelta(days=365)
    live = _waivers(tmp_path, _waiver(16, UNEXPECTED, far))
    code, text = _run("check", zip_arg, "--waivers", str(live), "--format", "json")
    doc = json.loads(text)
    assert code == 0 and doc["summary"]["error"] == 0 and doc["summary"]["waived"] == 1
    waived = [f for f in doc["findings"] if f["code"] == UNEXPECTED]
    assert waived[0]["waived"]["reason"] == "reviewed by the organizers"
    (tmp_path / "old").mkdir()
    stale = _waivers(tmp_path / "old", _waiver(16, UNEXPECTED, date.today() - timedelta(1)))
    code, text = _run("check", zip_arg, "--waivers", str(stale), "--format", "json")
    assert code == 1 and "ESR706" in {f["code"] for f in json.loads(text)["findings"]}


def test_fail_on_warning_fails_a_run_with_only_warnings(tmp_path: Path) -> None:
    members = subs.good_members(model_name="Other")  # model-name-mismatch: a warning
    zip_path = subs.write_zip(tmp_path / "team16.zip", members)
    assert _run("check", str(zip_path))[0] == 0
    assert _run("check", str(zip_path), "--fail-on", "warning")[0] == 1


def test_a_waived_intake_error_is_evaluated_and_recorded_in_the_signed_report(
    extra_file_zip: Path, tmp_path: Path
) -> None:
    far = date.today() + timedelta(days=365)
    # The untrained test model is below bicubic (ESR505, an evaluation finding): waived too.
    path = _waivers(tmp_path, _waiver(16, UNEXPECTED, far), _waiver(16, "ESR505", far))
    unwaived = validate_zip(extra_file_zip, make_setup(**QUICK))
    assert unwaived.status == "invalid" and not unwaived.ok
    report = validate_zip(extra_file_zip, make_setup(**QUICK, waivers=str(path)))
    assert report.status == "evaluated", report.findings
    marked = [f for f in report.findings if f.code == UNEXPECTED]
    assert marked and marked[0].waived is not None
    assert all(f.waived for f in report.findings if f.code == "ESR505")
    assert report.ok and report.failure is None
    assert report.options is not None and report.options.waivers_sha256 is not None
    key = new_key()
    envelope = dumps_envelope(sign_report(report, key))
    verified = verify_envelope(envelope, key.public_key())
    assert verified.report.findings == report.findings  # the waiver is under the signature
