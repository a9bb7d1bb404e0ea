"""What Codabench shows: the leaderboard's columns, ``scores.json``, ``detailed_results.html``."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Literal

from esr_validator.reporters.text import sorted_findings
from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import Ruleset


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    sorting: Literal["asc", "desc"]


def columns(ruleset: Ruleset) -> list[Column]:
    """One column per ranked track, then the measurements every ESR ruleset publishes."""
    order: Literal["asc", "desc"] = "desc" if ruleset.formula.higher_is_better else "asc"
    cols = [Column(f"score_{t.name}", t.title, order) for t in ruleset.tracks]
    cols += [Column(f"psnr_{s}", f"PSNR {s} (dB)", "desc") for s in ruleset.splits]
    cols += [
        Column("runtime_ms", "Runtime (ms)", "asc"),
        Column("params_m", "Params (M)", "asc"),
        Column("flops_g", "FLOPs (G)", "asc"),
        Column("eligible", "Eligible (1/0)", "desc"),
    ]
    return cols


def leaderboard_scores(report: Report, ruleset: Ruleset) -> dict[str, float]:
    """``scores.json``: a number for every column that has one (Codabench reads floats)."""
    values: dict[str, float | None] = {}
    sc = report.scoring
    for t in ruleset.tracks:
        values[f"score_{t.name}"] = sc.scores.get(t.name) if sc else None
    for s in report.splits:
        values[f"psnr_{s.split}"] = s.psnr
    values["runtime_ms"] = report.official.runtime_ms if report.official else None
    if report.complexity is not None:
        values["params_m"] = report.complexity.params_m
        values["flops_g"] = report.complexity.flops_g
    values["eligible"] = 1.0 if sc is not None and sc.eligible else 0.0
    keys = {c.key for c in columns(ruleset)}
    return {k: float(v) for k, v in values.items() if v is not None and k in keys}


def render_html(report: Report) -> str:
    """The findings and the headline figures as one self-contained page (no scripts)."""
    rows = "".join(
        f"<tr><td>{escape(f.code)}</td><td>{escape(f.severity.value)}</td>"
        f"<td>{escape(f.path or '')}{':' + str(f.line) if f.line else ''}</td>"
        f"<td>{escape(f.message)}</td><td>{escape(f.hint or '')}</td></tr>"
        for f in sorted_findings(report.findings)
    )
    figures = "".join(
        f"<tr><td>{escape(s.split)}</td><td>{_num(s.psnr)}</td>"
        f"<td>{_num(s.official_runtime_ms)}</td></tr>"
        for s in report.splits
    )
    why = report.scoring.reasons if report.scoring else []
    reasons = "".join(f"<li>{escape(r)}</li>" for r in why)
    m = report.submission.manifest
    subject = f"{m.stem} ({m.team_name})" if m else report.submission.zip_name
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>esr-validator</title></head>"
        f"<body><h1>{escape(subject)}: {escape(report.status)}</h1>"
        f"<p>esr-validator {escape(report.validator_version)}</p>"
        f"<ul>{reasons}</ul>"
        "<h2>Figures</h2><table><tr><th>split</th><th>PSNR (dB)</th><th>runtime (ms)</th></tr>"
        f"{figures}</table>"
        "<h2>Findings</h2><table><tr><th>code</th><th>severity</th><th>where</th>"
        f"<th>problem</th><th>fix</th></tr>{rows}</table></body></html>\n"
    )


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
