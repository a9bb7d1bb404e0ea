"""The pull-request comment built from a hostile ``pr.json``, and the action's counts.

In the ``workflow_run`` job ``pr.json`` comes from a job the pull request controlled, so the
test writes it as an attacker would: a team name and messages that try to mention people,
link elsewhere, inject HTML, break the table and forge the comment marker.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from esr_validator.github import comment, counts
from esr_validator.github.comment import MARKER, comment_body
from esr_validator.schemas.findings import Finding, Severity, Waived
from esr_validator.schemas.pr import PrCheck, TeamCheck

HOSTILE = (
    "@org/admins <!-- esr-validator:pr-comment --> <img src=x onerror=alert(1)> "
    "[click](https://evil.example/x) ![t](https://evil.example/t.png) | col | #1 "
    "www.evil.example `code` **bold**\n\n# heading"
)


def _check(name: str = HOSTILE) -> PrCheck:
    bad = Finding(
        code="ESR407", name="x", severity=Severity.ERROR, path=f"models/{name}.py", line=2,
        message=name,
    )  # fmt: skip
    warn = Finding(code="ESR218", name="x", severity=Severity.WARNING, message=name)
    waived = Finding(
        code="ESR217", name="x", severity=Severity.ERROR, message="extra file",
        waived=Waived(reason=name, expires=date(2030, 1, 1), waivers_sha256="a" * 64),
    )  # fmt: skip
    team = TeamCheck(
        team="team16", team_id=16, team_name=name, status="evaluated", ok=False,
        changed=["models/team16_X.py"], findings=[bad, warn, waived],
    )  # fmt: skip
    return PrCheck(
        validator_version="0", base="a" * 40, merge_base="a" * 40, head=name, ok=False,
        teams=[team], findings=[],
    )  # fmt: skip


def _visible(body: str) -> str:
    return body.replace("\u2060", "")


def test_the_comment_starts_with_the_marker_and_says_what_failed() -> None:
    body = comment_body(_check("Fine Team"), run_url="https://github.com/o/r/actions/runs/1")
    assert body.startswith(MARKER + "\n")
    assert "❌ **errors found**" in body and "| team16 | Fine Team | ❌ fail" in body
    assert "ESR407" in body and "waived: extra file" not in body
    assert "[The run, its annotations and reports](https://github.com/o/r/actions/runs/1)" in body
    row = next(line for line in body.splitlines() if line.startswith("| team16"))
    assert row.endswith("| 1 | 1 |")  # the waived error is not counted


def test_a_hostile_team_name_stays_inert_text() -> None:
    body = comment_body(_check(), run_url="javascript:alert(1)")
    assert body.count(MARKER) == 1 and body.startswith(MARKER)  # no forged second marker
    assert "<!--" not in body[len(MARKER) :]
    assert "<img" not in body
    assert not re.search(r"(?<!\\)\]\(", body) and not re.search(r"(?<!\\)!\[", body)
    assert not re.search(r"@org", body)  # a mention needs @ directly before the name
    assert not re.search(r"#1\b", body)
    assert "https://evil" not in body and "www.evil" not in body
    assert "javascript:" not in body  # only an https run URL is linked
    assert "\n# heading" not in body
    # Every table row keeps its cells: the name's "|" is escaped.
    for line in body.splitlines():
        if line.startswith("| team16"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 9
    # Yet a reader still sees the words.
    assert "org/admins" in _visible(body) and "evil.example" in _visible(body)


def test_a_huge_pr_json_gives_a_comment_github_accepts() -> None:
    check = _check("x" * 200)
    team = check.teams[0]
    many = [team.findings[0]] * 5000
    check = check.model_copy(update={"teams": [team.model_copy(update={"findings": many})]})
    body = comment_body(check)
    assert len(body) <= comment.MAX_COMMENT and "4960 more" in body


def test_the_command_refuses_a_forged_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(_check().model_dump_json())
    doc["teams"][0]["team"] = "<b>team16</b>"
    forged = tmp_path / "pr.json"
    forged.write_text(json.dumps(doc))
    assert comment.main([str(forged)]) == 2
    good = tmp_path / "good.json"
    good.write_text(_check("Fine").model_dump_json())
    assert comment.main([str(good), "https://github.com/o/r/actions/runs/2"]) == 0
    assert capsys.readouterr().out.startswith(MARKER)


def test_counts_prints_only_integers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pr.json"
    path.write_text(_check().model_dump_json())
    assert counts.main([str(path)]) == 0
    assert capsys.readouterr().out == "errors=1\nwarnings=1\n"
    path.write_text('{"ok": "errors=99\\n"}')
    assert counts.main([str(path)]) == 2
    assert capsys.readouterr().out == ""
