"""Findings as GitHub workflow commands (``::error file=…,line=…,title=…::message``).

The runner reads every line a step prints; a line that starts with ``::`` is a command.
Submission text (messages quote source code, paths come from the pull request) therefore
never reaches stdout unescaped: data escapes ``%``, CR and LF, so a message can never end
the line and start a command of its own; property values also escape ``:`` and ``,``, which
separate properties. Other output that may carry submission text is printed between
``::stop-commands::TOKEN`` and ``::TOKEN::`` with a token the submission cannot guess.

GitHub shows at most 10 error and 10 warning annotations per step (and 50 per job), in the
order printed: errors come first, and the job summary lists every finding.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO

from esr_validator.schemas.findings import Finding, Severity
from esr_validator.text import clean

PER_KIND = 10
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def escape_data(text: str) -> str:
    # Control characters (ANSI colours the log renders, bidi overrides) are neutralised
    # first; LF survives as the escaped line break GitHub shows inside one annotation.
    text = clean(text, multiline=True)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(clean(text)).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", **properties: str) -> str:
    """One workflow-command line (without the line break)."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


@dataclass(frozen=True)
class Located:
    """A finding with its repository path, and the team it belongs to (None: the PR)."""

    finding: Finding
    team: str | None = None


def annotation(item: Located) -> str:
    f = item.finding
    props: dict[str, str] = {}
    if f.path:
        props["file"] = f.path
        if f.line:
            props["line"] = str(f.line)
    title = f"{f.code} {f.name}"
    props["title"] = f"{title} ({item.team})" if item.team else title
    message = f"{f.message}\nFix: {f.hint}" if f.hint else f.message
    return command(LEVEL[f.severity], message, **props)


def select(items: Iterable[Located], *, per_kind: int = PER_KIND) -> tuple[list[Located], int]:
    """The annotations GitHub will show, most severe first, and how many were left out."""
    ordered = sorted(
        items,
        key=lambda i: (_ORDER[i.finding.severity], i.finding.path is None, i.finding.path or ""),
    )
    shown: list[Located] = []
    used = dict.fromkeys(Severity, 0)
    for item in ordered:
        if used[item.finding.severity] < per_kind:
            used[item.finding.severity] += 1
            shown.append(item)
    return shown, len(ordered) - len(shown)


def write_annotations(items: Iterable[Located], out: TextIO) -> int:
    """Print the annotations; return how many findings did not get one."""
    shown, left_out = select(items)
    for item in shown:
        out.write(annotation(item) + "\n")
    return left_out


@contextmanager
def commands_stopped(out: TextIO) -> Iterator[None]:
    """Nothing printed inside is read as a workflow command."""
    token = secrets.token_hex(16)
    out.write(f"::stop-commands::{token}\n")
    out.flush()
    try:
        yield
    finally:
        out.flush()
        out.write(f"::{token}::\n")
        out.flush()


@contextmanager
def group(title: str, out: TextIO) -> Iterator[None]:
    """A folded section of the job log."""
    out.write(command("group", title) + "\n")
    try:
        yield
    finally:
        out.write(command("endgroup") + "\n")
        out.flush()
