"""The JSON reporter: one document per command, for machines (stable keys, no NaN)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from esr_validator.reporters.base import BatchResult, CheckResult, Reporter
from esr_validator.reporters.text import counts, dump_json, findings_json
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report


class JsonReporter(Reporter):
    name = "json"

    def _write(self, doc: dict[str, Any]) -> None:
        self.out.write(dump_json(doc) + "\n")

    def check(self, result: CheckResult) -> None:
        self._write(
            {
                "ok": result.ok,
                "submission": {"zip": result.zip_name, "sha256": result.zip_sha256},
                "summary": counts(result.findings),
                "findings": findings_json(result.findings),
            }
        )

    def report(self, report: Report) -> None:
        self._write(report.model_dump(mode="json"))

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        self._write(check.model_dump(mode="json"))

    def batch(self, result: BatchResult) -> None:
        self._write(
            {
                "out_dir": str(result.out_dir),
                "submissions": [asdict(e) for e in result.entries],
            }
        )
