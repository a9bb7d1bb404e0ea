"""The Markdown reporter: tables for a pull-request comment, a job summary or a wiki page."""

from __future__ import annotations

from esr_validator.reporters.base import BatchResult, CheckResult, Reporter
from esr_validator.reporters.text import counts, sorted_findings
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report
from esr_validator.text import for_markdown


def cell(text: object) -> str:
    """One table cell: one line, control characters neutralised, markup escaped."""
    return for_markdown(" ".join(str(text).split()))


def findings_md(findings: list[Finding], *, subject: str) -> str:
    n = counts(findings)
    verdict = "FAIL" if n["error"] else "PASS"
    lines = [
        f"**{verdict}** {cell(subject)}: {n['error']} error(s), {n['warning']} warning(s), "
        f"{n['info']} note(s)",
    ]
    if findings:
        lines += ["", "| code | severity | where | message | fix |", "|---|---|---|---|---|"]
        for f in sorted_findings(findings):
            where = f"{f.path or ''}{f':{f.line}' if f.line else ''}"
            lines.append(
                f"| {f.code} | {f.severity.value} | {cell(where)} | {cell(f.message)} | "
                f"{cell(f.hint or '')} |"
            )
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else f"{value:{spec}}"


def report_md(report: Report) -> str:
    lines = [f"### {cell(report.submission.zip_name)}: {cell(report.status)}", ""]
    if report.splits:
        lines += ["| split | PSNR dB | official ms | memory MB |", "|---|---|---|---|"]
        lines += [
            f"| {cell(s.split)} | {_fmt(s.psnr, '.4f')} | {_fmt(s.official_runtime_ms, '.2f')} | "
            f"{_fmt(s.official_memory_mb, '.1f')} |"
            for s in report.splits
        ]
        lines.append("")
    if report.complexity is not None:
        c = report.complexity
        lines += [
            f"params {c.params_m:.4f} M · FLOPs {c.flops_g:.4f} G · "
            f"activations {c.activations_m:.2f} M · convs {c.conv_count}",
            "",
        ]
    if report.scoring is not None and report.scoring.scores:
        shown = " · ".join(f"{k} {v:.4f}" for k, v in report.scoring.scores.items())
        eligible = "eligible" if report.scoring.eligible else "not eligible"
        lines += [f"{cell(report.scoring.ruleset)}: {shown} ({eligible})", ""]
    return "\n".join(lines) + findings_md(report.findings, subject=report.submission.zip_name)


class MarkdownReporter(Reporter):
    name = "markdown"

    def check(self, result: CheckResult) -> None:
        self.out.write(findings_md(result.findings, subject=result.zip_name))

    def report(self, report: Report) -> None:
        self.out.write(report_md(report))

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        from esr_validator.github.summary import render

        self.out.write(render(check))

    def batch(self, result: BatchResult) -> None:
        board = result.out_dir / "leaderboard.md"
        self.out.write(board.read_text("utf-8") if board.is_file() else "no leaderboard\n")
