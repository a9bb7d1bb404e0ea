"""The pull-request comment, built from an uploaded ``pr.json`` by a trusted workflow.

The fork-safe flow (``examples/challenge-repo/.github/workflows/comment.yml``): the
``pull_request`` job runs the entry with a read-only token and uploads ``pr.json``; a
``workflow_run`` job, which has a write token but never checks out or runs pull-request
code, downloads it and posts or updates one comment found by :data:`MARKER`.

Everything in ``pr.json`` is hostile there: the pull request may have rewritten the job that
wrote it. So the file is parsed by the strict model (or refused), and every string that
reaches the comment goes through :func:`safe`: one line, Markdown and HTML escaped, and
@mentions, #references and autolinks broken with a word joiner (U+2060), so a team name
cannot ping people, link elsewhere, close the table or forge the marker.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pydantic import ValidationError

from esr_validator.codes import CATALOG
from esr_validator.github.summary import md
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck, TeamCheck

MARKER = "<!-- esr-validator:pr-comment -->"
MAX_COMMENT = 60_000  # GitHub refuses bodies over 65,536 characters
MAX_FINDINGS = 40
_JOIN = "\u2060"  # word joiner: invisible, but no mention, reference or link matches across it
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
_RUN_URL = re.compile(r"https://[A-Za-z0-9.-]+/[A-Za-z0-9._/-]+")
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def safe(text: str, *, limit: int = 300) -> str:
    """``text`` as inert comment text (see the module docstring)."""
    out = md(text, limit=limit)
    for ch in ("@", "#", ":", "/"):
        out = out.replace(ch, ch + _JOIN)
    return out.replace("www.", f"www{_JOIN}.")


def _count(t: TeamCheck, severity: Severity) -> int:
    return sum(f.severity is severity and f.waived is None for f in t.findings)


def _team_row(t: TeamCheck) -> str:
    name = safe(t.team_name, limit=60) if t.team_name else "—"
    status = ("✅ pass" if t.ok else "❌ fail") + f" ({safe(t.status)})"
    psnr = " · ".join(
        f"{safe(s, limit=20)} {'—' if v is None else format(v, '.2f')}"
        for s, v in list(t.psnr.items())[:4]
    )
    c = t.complexity
    cells = [
        safe(t.team),
        name,
        status,
        psnr or "—",
        "—" if c is None else f"{c.params_m:.4f}",
        "—" if c is None else f"{c.flops_g:.4f}",
        str(_count(t, Severity.ERROR)),
        str(_count(t, Severity.WARNING)),
    ]
    return "| " + " | ".join(cells) + " |"


def _finding_line(team: str, f: Finding) -> str:
    known = CATALOG.get(f.code)
    name = known.name if known else "unknown code"
    where = f" in {safe(f.path, limit=120)}" if f.path else ""
    waived = f" — waived: {safe(f.waived.reason, limit=150)}" if f.waived else ""
    return (
        f"- {_ICON[f.severity]} **{safe(team)}** {safe(f.code)} {safe(name)}{where}: "
        f"{safe(f.message)}{waived}"
    )


def _findings(check: PrCheck) -> list[str]:
    items = [("pull request", f) for f in check.findings]
    items += [(t.team, f) for t in check.teams for f in t.findings]
    items = [i for i in items if i[1].severity is not Severity.INFO]
    items.sort(key=lambda i: (i[1].waived is not None, _ORDER[i[1].severity], i[0], i[1].code))
    lines = [_finding_line(team, f) for team, f in items[:MAX_FINDINGS]]
    if len(items) > MAX_FINDINGS:
        lines.append(f"- … and {len(items) - MAX_FINDINGS} more in the run's artifact")
    return lines


def comment_body(check: PrCheck, *, run_url: str | None = None) -> str:
    """The comment for ``check``; ``run_url`` comes from the trusted ``workflow_run`` event."""
    failed = sum(not t.ok for t in check.teams)
    verdict = "✅ **all checks passed**" if check.ok else "❌ **errors found**"
    lines = [
        MARKER,
        "### esr-validator",
        "",
        f"{verdict} · {len(check.teams)} team(s) checked, {failed} failed · head "
        f"{safe(check.head, limit=12)}",
        "",
    ]
    if check.teams:
        lines += [
            "| team | name | status | PSNR, smoke set (dB) | params (M) | FLOPs (G) | "
            "errors | warnings |",
            "|---|---|---|---|--:|--:|--:|--:|",
            *(_team_row(t) for t in check.teams),
            "",
        ]
    found = _findings(check)
    if found:
        lines += ["#### Findings", "", *found, ""]
    if run_url and _RUN_URL.fullmatch(run_url):
        lines.append(f"[The run, its annotations and reports]({run_url})")
    body = "\n".join(lines) + "\n"
    if len(body) > MAX_COMMENT:
        body = body[: MAX_COMMENT - 80].rsplit("\n", 1)[0] + "\n\n_Cut: see the run._\n"
    return body


def main(argv: list[str]) -> int:
    """``python -m esr_validator.github.comment PR_JSON [RUN_URL]``: the body on stdout."""
    if len(argv) not in (1, 2):
        print("usage: python -m esr_validator.github.comment PR_JSON [RUN_URL]", file=sys.stderr)
        return 2
    try:
        check = PrCheck.model_validate_json(Path(argv[0]).read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"refusing {argv[0]}: not a valid pr.json ({str(exc)[:500]})", file=sys.stderr)
        return 2
    sys.stdout.write(comment_body(check, run_url=argv[1] if len(argv) == 2 else None))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
