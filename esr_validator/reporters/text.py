"""The text reporter's drawing: rich tables of findings and metrics, for a person at a terminal."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from esr_validator.reporters.base import UNDONE, BatchEntry, BatchResult, CheckResult, Reporter
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck, TeamCheck
from esr_validator.schemas.report import FigureSet, Report
from esr_validator.text import for_terminal

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (_ORDER[f.severity], f.code, f.path or "", f.line or 0))


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings by severity; waived ones are counted apart, under ``waived``."""
    found = list(findings)
    c = Counter(f.severity.value for f in found if f.waived is None)
    return {**{s.value: c.get(s.value, 0) for s in Severity}, "waived": _waived(found)}


def _waived(findings: list[Finding]) -> int:
    return sum(f.waived is not None for f in findings)


def findings_table(findings: list[Finding]) -> Table:
    table = Table(show_lines=False, expand=False, title_justify="left")
    for col in ("code", "severity", "where", "problem", "fix"):
        table.add_column(col, overflow="fold")
    for f in sorted_findings(findings):
        where = f.path or ""
        if f.line:
            where += f":{f.line}"
        # Messages quote the entry's exceptions and source: drawn as text, never as markup.
        severity = f"[{_STYLE[f.severity]}]{f.severity.value}[/]"
        message = for_terminal(f.message, multiline=True)
        if f.waived is not None:
            severity = f"[dim]{f.severity.value}, waived[/]"
            message += for_terminal(f" [waived until {f.waived.expires}: {f.waived.reason}]")
        table.add_row(
            for_terminal(f.code),
            severity,
            for_terminal(where),
            message,
            for_terminal(f.hint or "", multiline=True),
        )
    return table


def print_findings(console: Console, findings: list[Finding], *, subject: str) -> None:
    n = counts(findings)
    if findings:
        console.print(findings_table(findings))
    verdict = "[bold red]FAIL[/]" if n["error"] else "[bold green]PASS[/]"
    console.print(
        f"{verdict} {for_terminal(subject)}: {n['error']} error(s), {n['warning']} warning(s), "
        f"{n['info']} note(s)" + (f", {n['waived']} waived" if n["waived"] else "")
    )


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    return [
        f.model_dump(
            mode="json",
            include={"code", "name", "severity", "path", "line", "message", "hint", "waived"},
        )
        for f in sorted_findings(findings)
    ]


def dump_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, allow_nan=False)


def _fmt(value: float | None, spec: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{spec}}{unit}"


def _stable_marks(stable: FigureSet | None) -> str:
    if stable is None:
        return ""
    return (" (noisy)" if stable.noisy else "") + (
        " (below the clock's resolution)" if stable.below_resolution else ""
    )

def metrics_table(report: Report) -> Table:
    title = f"{for_terminal(report.submission.zip_name)}: {for_terminal(report.status)}"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for s in report.splits:
        table.add_column(for_terminal(s.split), justify="right")
    table.add_column("reported", justify="right")
    rows = [
        ("PSNR (dB)", [_fmt(s.psnr, ".2f") for s in report.splits], ""),
        ("bicubic PSNR (dB)", [_fmt(s.bicubic_psnr, ".2f") for s in report.splits], ""),
        (
            "runtime, official (ms)",
            [_fmt(s.official_runtime_ms, ".2f") for s in report.splits],
            _fmt(report.official.runtime_ms if report.official else None, ".2f"),
        ),
        (
            "runtime, stable median (ms)",
            [_fmt(s.stable_runtime_ms, ".2f") for s in report.splits],
            _fmt(report.stable.runtime_ms if report.stable else None, ".2f")
            + _stable_marks(report.stable),
        ),
        (
            "GPU memory, official (MB)",
            [_fmt(s.official_memory_mb, ".1f") for s in report.splits],
            _fmt(report.official.memory_mb if report.official else None, ".1f"),
        ),
    ]
    if any(s.psnr_y is not None for s in report.splits):
        rows.insert(1, ("Y PSNR (dB)", [_fmt(s.psnr_y, ".2f") for s in report.splits], ""))
    for name, cells, total in rows:
        table.add_row(name, *cells, total)
    c = report.complexity
    if c is not None:
        blank = [""] * len(report.splits)
        table.add_row("params (M)", *blank, f"{c.params_m:.4f}")
        shape = f"{c.input_height}×{c.input_width}" if c.input_height else f"{c.input_size}²"
        table.add_row(f"FLOPs, fvcore {shape} (G)", *blank, f"{c.flops_g:.4f}")
        table.add_row("activations (M)", *blank, f"{c.activations_m:.4f}")
        table.add_row("#conv", *blank, str(c.conv_count))
    return table


def scoring_line(report: Report) -> str:
    sc = report.scoring
    assert sc is not None
    parts = ", ".join(f"{for_terminal(k)} {v:.4g}" for k, v in sc.scores.items())
    line = f"ruleset {for_terminal(sc.ruleset)} {for_terminal(sc.ruleset_version)}: {parts}"
    if sc.calibrated_scores:
        cal = ", ".join(f"{for_terminal(k)} {v:.4g}" for k, v in sc.calibrated_scores.items())
        line += f"\n  calibrated to the baseline timed here: {cal}"
    if not sc.on_reference_device:
        device = for_terminal(sc.reference_device)
        line += f"\n  (not on the reference {device}: runtime scores unofficial)"
    reasons = for_terminal("; ".join(sc.reasons))
    verdict = {
        "eligible": "[green]eligible[/]",
        "not_applicable": "[yellow]not applicable (smoke data)[/]: scores shown are unofficial",
    }.get(sc.verdict, f"[red]not eligible[/]: {reasons}")
    verdict += "".join(f"\n  note: {for_terminal(n)}" for n in sc.notes)
    return line + "\n  verdict: " + verdict


def synthetic_line(report: Report) -> str:
    s = report.synthetic
    assert s is not None
    line = (
        f"runtime: {s.passes} timed passes on one 1x3x{s.input_height}x{s.input_width} "
        f"{for_terminal(s.precision)} input after {s.warmup} warm-up passes: "
        f"mean {s.mean_ms:.2f} ms, median {s.median_ms:.2f} ms"
    )
    return line + "".join(f"\n  ({for_terminal(note)})" for note in s.notes)


def print_report(console: Console, report: Report) -> None:
    if report.splits or report.complexity:
        console.print(metrics_table(report))
    if report.synthetic is not None:
        console.print(synthetic_line(report))
    if report.scoring is not None:
        console.print(scoring_line(report))
    if report.runner is not None and not report.runner.sandboxed:
        console.print("[bold yellow]NOT SANDBOXED:[/] the model ran as a plain local process")
    print_findings(console, report.findings, subject=report.submission.zip_name)


def _print_team(console: Console, team: TeamCheck, report: Report | None) -> None:
    console.rule(for_terminal(f"{team.team}: {', '.join(team.changed + team.deleted)}"))
    if report is not None:
        print_report(console, report.model_copy(update={"findings": team.findings}))
    else:
        print_findings(console, team.findings, subject=team.team)


def print_pr(console: Console, check: PrCheck, reports: dict[str, Report]) -> None:
    if not check.teams and not check.findings:
        console.print("no files under models/, model_zoo/ or submissions/ changed")
    for team in check.teams:
        _print_team(console, team, reports.get(team.team))
    if check.findings:
        print_findings(console, check.findings, subject="files that belong to no team")


def summary_table(outcomes: Sequence[BatchEntry]) -> Table:
    total = Counter(o.category for o in outcomes)
    new = Counter(o.category for o in outcomes if o.new)
    table = Table(title="batch summary", title_justify="left")
    table.add_column("outcome")
    table.add_column("submissions", justify="right")
    table.add_column("validated now", justify="right")
    table.add_column("from earlier runs", justify="right")
    order = [
        "ok",
        "below_gate",
        "bad_output",
        "invalid_package",
        "crashed",
        "timeout",
        "out_of_memory",
        UNDONE,
    ]
    for category in sorted(total, key=lambda c: (order.index(c) if c in order else 99, c)):
        earlier = total[category] - new[category] if category != UNDONE else 0
        table.add_row(
            for_terminal(category), str(total[category]), str(new[category]), str(earlier)
        )
    table.add_row(
        "all",
        str(len(outcomes)),
        str(sum(new.values())),
        str(len(outcomes) - sum(new.values()) - total[UNDONE]),
        style="bold",
    )
    return table


class TextReporter(Reporter):
    """Rich tables for a person at a terminal."""

    name = "text"

    def _console(self) -> Console:
        return Console(file=self.out)

    def check(self, result: CheckResult) -> None:
        print_findings(self._console(), result.findings, subject=result.zip_name)

    def report(self, report: Report) -> None:
        print_report(self._console(), report)

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        print_pr(self._console(), check, reports)

    def batch(self, result: BatchResult) -> None:
        console = self._console()
        console.print(summary_table(result.entries))
        for name in ("leaderboard.html", "leaderboard.md", "leaderboard.csv"):
            console.print(f"{result.out_dir / name}", highlight=False)
