"""Reporters: draw findings (and later whole reports) for a person or a machine."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.table import Table

from schemas.findings import Finding, Severity

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_ORDER[f.severity], f.code, f.path or "", f.line or 0))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    c = Counter(f.severity.value for f in findings)
    return {s.value: c.get(s.value, 0) for s in Severity}


def findings_table(findings: list[Finding]) -> Table:
    table = Table(show_lines=False, expand=False, title_justify="left")
    for col in ("code", "severity", "where", "problem", "fix"):
        table.add_column(col, overflow="fold")
    for f in sorted_findings(findings):
        where = f.path or ""
        if f.line:
            where += f":{f.line}"
        table.add_row(
            f.code, f"[{_STYLE[f.severity]}]{f.severity.value}[/]", where, f.message, f.hint or ""
        )
    return table


def print_findings(console: Console, findings: list[Finding], *, subject: str) -> None:
    n = counts(findings)
    if findings:
        console.print(findings_table(findings))
    verdict = "[bold red]FAIL[/]" if n["error"] else "[bold green]PASS[/]"
    console.print(
        f"{verdict} {subject}: {n['error']} error(s), {n['warning']} warning(s), {n['info']} note(s)"
    )


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        f.model_dump(mode="json", include={"code", "name", "severity", "path", "line", "message", "hint"})
        for f in sorted_findings(findings)
    ]


def dump_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, allow_nan=False)
