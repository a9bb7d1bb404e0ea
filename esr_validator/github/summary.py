"""The job summary: a Markdown table per pull request, appended to ``$GITHUB_STEP_SUMMARY``.

GitHub refuses a step summary over 1 MiB (and then shows none of it), so the summary is
built line by line within what is left of that budget; rows that do not fit are replaced by
one note that points to the reports. Submission text is escaped for Markdown and HTML, so a
message cannot add links, images or markup to the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from pathlib import Path

from esr_validator.codes import code_of
from esr_validator.github.annotations import Located
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck, TeamCheck
from esr_validator.settings import step_summary_path
from esr_validator.text import clean

STEP_SUMMARY_LIMIT = 1024 * 1024
MARGIN = 4096  # room for what GitHub counts differently, and for a later step's note
MAX_CELL = 400
_ICON = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
_MD = re.compile(r"([\\`*_\[\]|~!])")
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def md(text: str, *, limit: int = MAX_CELL) -> str:
    """``text`` as one Markdown table cell: one line, no markup, at most ``limit`` chars."""
    flat = " ".join(clean(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return html.escape(_MD.sub(r"\\\1", flat), quote=False)


def _where(f: Finding) -> str:
    if not f.path:
        return ""
    return f"<code>{md(f.path + (f':{f.line}' if f.line else ''))}</code>"


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _team_row(t: TeamCheck) -> str:
    live = [f for f in t.findings if f.waived is None]
    errors = sum(f.severity is Severity.ERROR for f in live)
    warnings = sum(f.severity is Severity.WARNING and not code_of(f).context for f in live)
    status = ("✅ pass" if t.ok else "❌ fail") + (
        "" if t.status == "evaluated" else f" ({t.status})"
    )
    psnr = " · ".join(f"{md(s)} {_fmt(v, '.2f')}" for s, v in t.psnr.items()) or "—"
    c = t.complexity
    cells = [
        md(t.team),
        status,
        f"<code>{md(t.model_file)}</code>" if t.model_file else "—",
        psnr,
        _fmt(c.params_m if c else None, ".4f"),
        _fmt(c.flops_g if c else None, ".4f"),
        _fmt(c.activations_m if c else None, ".4f"),
        str(c.conv_count) if c else "—",
        str(errors),
        str(warnings),
    ]
    return "| " + " | ".join(cells) + " |"


def _finding_row(item: Located) -> str:
    f = item.finding
    cells = [
        _ICON[f.severity],
        md(f"{f.code} {f.name}"),
        md(item.team or ""),
        _where(f),
        md(f.message),
        md(f.hint or ""),
    ]
    return "| " + " | ".join(cells) + " |"


def located(check: PrCheck) -> list[Located]:
    """Every finding that is about the submission (not about how the check ran)."""
    items = [Located(f) for f in check.findings]
    items += [Located(f, t.team) for t in check.teams for f in t.findings]
    items = [i for i in items if not code_of(i.finding).context]
    return sorted(items, key=lambda i: (_ORDER[i.finding.severity], i.team or "", i.finding.code))


def _context(check: PrCheck) -> list[str]:
    seen: dict[str, Finding] = {}
    for t in check.teams:
        for f in t.findings:
            if code_of(f).context:
                seen.setdefault(f.code, f)
    lines = [f"- {md(f'{f.code} {f.name}: {f.message}')}" for f in seen.values()]
    if check.options is not None:
        o = check.options
        lines.insert(0, f"- {md(f'{o.device}, {o.runs} timed run(s), ruleset {o.ruleset}')}")
    return lines


def _head(check: PrCheck, left_out: int) -> list[str]:
    failed = sum(not t.ok for t in check.teams)
    verdict = "✅ **all checks passed**" if check.ok else "❌ **errors found**"
    lines = [
        "### esr-validator: models in this pull request",
        "",
        f"{verdict} · {len(check.teams)} team(s) checked, {failed} failed · base "
        f"<code>{check.base[:12]}</code> · merge base <code>{check.merge_base[:12]}</code> · "
        f"head <code>{check.head[:12]}</code>",
        "",
    ]
    if left_out:
        lines += [
            f"GitHub shows at most 10 error and 10 warning annotations per step: {left_out} "
            "finding(s) have no annotation. All are listed below.",
            "",
        ]
    return lines


def _fit(lines: Iterable[str], budget: int, note: str) -> tuple[list[str], bool]:
    """As many whole lines as fit in ``budget`` bytes, keeping room for ``note``."""
    out: list[str] = []
    used = 0
    room = budget - len(note.encode()) - 2
    for line in lines:
        size = len(line.encode()) + 1
        if used + size > room:
            return out, True
        out.append(line)
        used += size
    return out, False


def render(check: PrCheck, *, budget: int = STEP_SUMMARY_LIMIT - MARGIN, left_out: int = 0) -> str:
    """The summary, at most ``budget`` bytes (UTF-8)."""
    teams = [
        "| team | status | model | PSNR, smoke set (dB) | params (M) | FLOPs (G) | "
        "activations (M) | #conv | errors | warnings |",
        "|---|---|---|---|--:|--:|--:|--:|--:|--:|",
        *(_team_row(t) for t in check.teams),
        "",
    ]
    items = located(check)
    findings = [
        "#### Findings",
        "",
        "| | code | team | where | problem | fix |",
        "|---|---|---|---|---|---|",
    ]
    findings += [_finding_row(i) for i in items]
    context = _context(check)
    tail = ["", "#### How this check ran", "", *context] if context else []
    note = (
        "\n_The summary is cut here: GitHub allows 1 MiB per step. Every finding is in the "
        "reports (`pr.json`, `teamNN.report.json`) uploaded as this run's artifact._\n"
    )
    body = [*_head(check, left_out), *(teams if check.teams else []), *(findings if items else [])]
    if budget < len(note.encode()) + 2:
        return ""
    lines, cut = _fit([*body, *tail], budget, note)
    text = "\n".join(lines) + "\n"
    return text + note if cut else text


def append_summary(check: PrCheck, *, left_out: int = 0, path: str | None = None) -> str | None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` (or ``path``), within what is left of
    the step's budget; return the text written, or None when there is no summary file."""
    target = path or step_summary_path()
    if not target:
        return None
    file = Path(target)
    used = file.stat().st_size if file.exists() else 0
    budget = STEP_SUMMARY_LIMIT - MARGIN - used
    if budget <= 0:
        return None
    text = render(check, budget=budget, left_out=left_out)
    with file.open("a", encoding="utf-8") as fh:
        fh.write(text)
    return text
