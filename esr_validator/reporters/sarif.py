"""The SARIF reporter: SARIF 2.1.0 for code scanning (``github/codeql-action/upload-sarif``).

One run per document; each finding is a result whose rule is its stable code, described from
the catalogue. A waived finding stays a result, with an ``external`` suppression carrying the
organizers' reason (SARIF §3.35: suppressed in a file apart from the source), which code
scanning shows as dismissed. Paths are percent-encoded URI references; ``pr``'s paths are
repository paths, ``check``/``validate``'s are paths inside the zip, based at
``SUBMISSION``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from esr_validator import __version__
from esr_validator.codes import CATALOG
from esr_validator.reporters.base import UNDONE, BatchResult, CheckResult, Reporter
from esr_validator.reporters.text import dump_json, sorted_findings
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
# Where a path inside a submission zip is based (SARIF §3.4.4); pr's paths are the repo's.
ZIP_BASE = "SUBMISSION"
_TOML_KEY = re.compile(r"^(.+\.toml):[A-Za-z0-9_.\[\]-]+$")


def _rule(code: str) -> dict[str, Any]:
    entry = CATALOG.get(code)
    if entry is None:  # a batch category, not a finding code
        return {"id": code, "shortDescription": {"text": code}}
    return {
        "id": entry.code,
        "name": entry.name,
        "shortDescription": {"text": entry.name.replace("-", " ")},
        "help": {"text": entry.hint},
        "defaultConfiguration": {"level": _LEVEL[entry.severity]},
    }


def _file_of(path: str) -> str:
    """``submission.toml:scale`` names a key of the manifest; the location is the file. Any
    other colon is part of a (possibly hostile) file name and is kept, percent-encoded."""
    match = _TOML_KEY.match(path)
    return match.group(1) if match else path


def _location(path: str, line: int | None, *, base: str | None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": quote(path, safe="/")}
    if base:
        artifact["uriBaseId"] = base
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical}


def _result(
    f: Finding, *, fallback: str | None, base: str | None, subject: str | None
) -> dict[str, Any]:
    text = f.message + (f" Fix: {f.hint}" if f.hint else "")
    result: dict[str, Any] = {
        "ruleId": f.code,
        "level": _LEVEL[f.severity],
        "message": {"text": text},
    }
    # Findings without a path point at the file they are about (the zip, the manifest).
    path = _file_of(f.path) if f.path else fallback
    if path:
        result["locations"] = [_location(path, f.line, base=base if f.path else None)]
    if f.waived is not None:
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"{f.waived.reason} (waived until {f.waived.expires})",
            }
        ]
    if subject:
        result["properties"] = {"subject": subject}
    return result


def sarif_log(results: list[dict[str, Any]], *, ok: bool) -> dict[str, Any]:
    codes = sorted({r["ruleId"] for r in results})
    index = {code: i for i, code in enumerate(codes)}
    for r in results:
        r["ruleIndex"] = index[r["ruleId"]]
    driver = {
        "name": "esr-validator",
        "version": __version__,
        "rules": [_rule(c) for c in codes],
    }
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "originalUriBaseIds": {ZIP_BASE: {"description": {"text": "The submission zip."}}},
                "invocations": [{"executionSuccessful": True, "properties": {"ok": ok}}],
                "results": results,
            }
        ],
    }


class SarifReporter(Reporter):
    name = "sarif"

    def _write(self, results: list[dict[str, Any]], *, ok: bool) -> None:
        self.out.write(dump_json(sarif_log(results, ok=ok)) + "\n")

    def check(self, result: CheckResult) -> None:
        found = sorted_findings(result.findings)
        rows = [_result(f, fallback=result.zip_name, base=ZIP_BASE, subject=None) for f in found]
        self._write(rows, ok=result.ok)

    def report(self, report: Report) -> None:
        zip_name = report.submission.zip_name
        found = sorted_findings(report.findings)
        self._write(
            [_result(f, fallback=zip_name, base=ZIP_BASE, subject=None) for f in found],
            ok=report.ok,
        )

    def pr(self, check: PrCheck, reports: dict[str, Report]) -> None:
        rows = [
            _result(f, fallback=t.manifest_file, base=None, subject=t.team)
            for t in check.teams
            for f in sorted_findings(t.findings)
        ]
        rows += [
            _result(f, fallback=None, base=None, subject=None)
            for f in sorted_findings(check.findings)
        ]
        self._write(rows, ok=check.ok)

    def batch(self, result: BatchResult) -> None:
        """One result per entry that did not pass: the batch knows categories, not findings
        (each entry's findings are in its report)."""
        rows = []
        for e in result.entries:
            if e.category == "ok":
                continue
            level = "warning" if e.category == UNDONE else "error"
            rows.append(
                {
                    "ruleId": e.category,
                    "level": level,
                    "message": {"text": f"{e.name}: {e.status} {e.message}".strip()},
                    "locations": [_location(e.name, None, base=None)],
                }
            )
        self._write(rows, ok=not rows)
