"""Annotations and the job summary: workflow-command format, escapes, size cap."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from esr_validator.github import annotations as gh
from esr_validator.github.summary import STEP_SUMMARY_LIMIT, append_summary, md, render
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck, TeamCheck
from esr_validator.text import clean

SHA = "0123456789abcdef" * 2 + "01234567"
any_text = st.text(max_size=200)


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """Read one command line back as the Actions runner does: the command and its
    properties up to the first ``::``, values unescaped with ``%25`` last."""
    assert line.startswith("::") and "\n" not in line and "\r" not in line
    end = line.index("::", 2)
    head, data = line[2:end], line[end + 2 :]
    name, _, props = head.partition(" ")
    properties: dict[str, str] = {}
    for prop in props.split(",") if props else []:
        key, _, value = prop.partition("=")
        for escaped, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ",")):
            value = value.replace(escaped, char)
        properties[key] = value.replace("%25", "%")
    for escaped, char in (("%0D", "\r"), ("%0A", "\n")):
        data = data.replace(escaped, char)
    return name, properties, data.replace("%25", "%")


@given(message=any_text, path=any_text, title=any_text)
def test_command_round_trips(message: str, path: str, title: str) -> None:
    line = gh.command("error", message, file=path, title=title)
    # What arrives is the text with its control characters neutralised (esr_validator.text);
    # line breaks in the message survive as the escaped breaks GitHub shows.
    expected = (
        "error",
        {"file": clean(path), "title": clean(title)},
        clean(message, multiline=True),
    )
    assert parse_command(line) == expected


@given(
    message=any_text,
    hint=st.none() | any_text,
    path=st.none() | st.text(min_size=1, max_size=80),
    line=st.none() | st.integers(min_value=1, max_value=10**6),
    severity=st.sampled_from(list(Severity)),
    team=st.none() | st.from_regex(r"team\d\d", fullmatch=True),
)
def test_annotation_decodes_to_the_finding(
    message: str,
    hint: str | None,
    path: str | None,
    line: int | None,
    severity: Severity,
    team: str | None,
) -> None:
    f = Finding(
        code="ESR407",
        name="source-subprocess",
        severity=severity,
        path=path,
        line=line,
        message=message,
        hint=hint,
    )
    out = io.StringIO()
    gh.write_annotations([gh.Located(f, team)], out)
    (text,) = out.getvalue().split("\n")[:-1]  # one line: the runner splits on CR/LF only
    name, props, data = parse_command(text)
    assert name == {"error": "error", "warning": "warning", "info": "notice"}[severity.value]
    assert props.get("file") == (clean(path) if path is not None else None)
    assert props.get("line") == (str(line) if path and line else None)
    assert props["title"] == "ESR407 source-subprocess" + (f" ({team})" if team else "")
    expected = f"{message}\nFix: {hint}" if hint else message
    assert data == clean(expected, multiline=True)


def test_escapes_exactly() -> None:
    assert gh.escape_data("100%\r\n:,") == "100%25%0A:,"
    assert gh.escape_data("a\rb\x1b[31m") == "a b\\x1b[31m"
    assert gh.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25 "
    assert (
        gh.command("warning", "x", file="a,b.py", line="3") == "::warning file=a%2Cb.py,line=3::x"
    )


def test_github_shows_ten_per_kind_errors_first() -> None:
    def mk(sev: Severity, i: int) -> gh.Located:
        return gh.Located(Finding(code="ESR401", name="n", severity=sev, message=str(i)))

    items = [mk(Severity.WARNING, i) for i in range(12)] + [
        mk(Severity.ERROR, i) for i in range(11)
    ]
    out = io.StringIO()
    assert gh.write_annotations(items, out) == 3
    lines = out.getvalue().splitlines()
    assert [line.split(" ")[0] for line in lines] == ["::error"] * 10 + ["::warning"] * 10


def test_stopped_commands_use_a_fresh_token() -> None:
    out = io.StringIO()
    with gh.commands_stopped(out):
        out.write("::error::forged by a model\n")
    first, forged, last = out.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token) and last == f"::{token}::"
    assert forged == "::error::forged by a model"


def md_decode(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", html.unescape(cell))


@given(st.text(max_size=300))
def test_markdown_cells_are_inert(text: str) -> None:
    cell = md(text)
    assert "\n" not in cell and "\r" not in cell and "<" not in cell and ">" not in cell
    assert not re.search(r"(?<!\\)(\\\\)*[|`*_\[\]~!]", cell)
    assert md_decode(cell) == " ".join(clean(text).split())


def _check(findings: int, message: str = "m" * 300) -> PrCheck:
    team = TeamCheck(
        team="team16",
        team_id=16,
        status="invalid",
        ok=False,
        changed=["models/team16_X.py"],
        model_file="models/team16_X.py",
        findings=[
            Finding(
                code="ESR407",
                name="source-subprocess",
                severity=Severity.ERROR,
                path="models/team16_X.py",
                line=i + 1,
                message=f"{i}: {message} | <img src=x>",
            )
            for i in range(findings)
        ],
    )
    return PrCheck(
        validator_version="0",
        base=SHA,
        merge_base=SHA,
        head=SHA,
        ok=False,
        teams=[team],
        findings=[],
    )


@settings(max_examples=30, deadline=None)
@given(budget=st.integers(min_value=0, max_value=30_000), findings=st.integers(0, 200))
def test_summary_fits_its_budget(budget: int, findings: int) -> None:
    text = render(_check(findings), budget=budget)
    assert len(text.encode()) <= budget
    full = render(_check(findings), budget=10**9)
    assert text == full or not text or "The summary is cut here" in text


def test_large_summary_is_cut_under_the_cap(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_text("earlier step output\n")
    text = append_summary(_check(20_000, "é" * 100), path=str(target))
    assert text is not None and "The summary is cut here" in text
    assert target.stat().st_size < STEP_SUMMARY_LIMIT
    assert "<img" not in text and "&lt;img src=x&gt;" in text


def test_full_step_summary_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    target.write_bytes(b"x" * (STEP_SUMMARY_LIMIT - 100))
    assert append_summary(_check(3), path=str(target)) is None
    assert target.stat().st_size == STEP_SUMMARY_LIMIT - 100
