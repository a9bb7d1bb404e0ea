"""The GitHub reporter: workflow annotations, grouped logs and the job summary.

Submission text reaches the log only escaped, or with workflow commands stopped, so an
entry cannot issue commands of its own (see :mod:`esr_validator.github.annotations`).
"""

from __future__ import annotations

from typing import TextIO

from esr_validator.github import annotations as gh
from esr_validator.reporters.base import BatchResult, CheckResult, Reporter
from esr_validator.reporters.text import TextReporter
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report


def _annotate(findings: list[Finding], *, subject: str, out: TextIO) -> None:
    gh.write_annotations([gh.Located(f, team=subject) for f in findings], out)


class GithubReporter(Reporter):
    name = "github"

    def check(self, result: CheckResult) -> None:
        with gh.commands_stopped(self.out):
            TextReporter(self.out).check(result)
        _annotate(result.findings, subject=result.zip_name, out=self.out)

    def report(self, report: Report) -> None:
        with gh.commands_stopped(self.out):
            TextReporter(self.out).report(report)
        _annotate(report.findings, subject=report.submission.zip_name, out=self.out)

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        from rich.console import Console

        from esr_validator.github.summary import append_summary, located
        from esr_validator.reporters.text import _print_team, print_findings

        console = Console(file=self.out, width=120, soft_wrap=False)
        for team in check.teams:
            title = f"{team.team}: {'pass' if team.ok else 'FAIL'}"
            with gh.group(title, self.out), gh.commands_stopped(self.out):
                _print_team(console, team, reports.get(team.team))
        if check.findings:
            with gh.commands_stopped(self.out):
                print_findings(console, check.findings, subject="files that belong to no team")
        left_out = gh.write_annotations(located(check), self.out)
        append_summary(check, left_out=left_out)

    def batch(self, result: BatchResult) -> None:
        with gh.commands_stopped(self.out):
            TextReporter(self.out).batch(result)
        for e in result.entries:
            if e.category not in ("ok", "below_gate"):
                self.out.write(
                    gh.command("error", f"{e.name}: {e.category} {e.message}".strip()) + "\n"
                )
