"""Validate imported real entries and compare their complexity with the published figures.

Used by ``scripts/real_entries.py --validate``. Each zip goes through ``esr-validator
validate`` in a subprocess of its own (local runner, CPU, one timed run, no stability runs)
with a per-entry timeout; its report is kept beside the zip (``teamNN.report.json``) and
reused on a rerun, so a long sweep can be resumed and the table regenerated in seconds.

Published figures (``docs/data/published-complexity.json``, from the organizers'
repositories: 2026 per team from results.json, 2024/2025 the baseline only, 2022 transcribed
from the results image) are compared at the precision they were published with: 2026's
results.json gives exact counts, older tables 2-3 decimals. Where the organizers published no
per-team figures, the reference is their own code run on the entry
(``docs/data/official-complexity.json``, written by ``scripts/official_complexity.py``):
exact counts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / "docs" / "data" / "published-complexity.json"
OFFICIAL = ROOT / "docs" / "data" / "official-complexity.json"
# report field, its unit, published field
FIELDS = (
    ("params", 1e6, "params_M"),
    ("flops", 1e9, "flops_G"),
    ("activations", 1e6, "activations_M"),
    ("conv_count", 1, "conv"),
)


@dataclass(frozen=True)
class Outcome:
    status: str  # evaluated / invalid / failed / timeout
    ours: dict[str, int] | None
    reason: str  # the first error finding or failure, "" when none
    spread: str = ""  # the count's range over the inputs counted, for an input-dependent model


def published_rows(year: int) -> dict[int, dict[str, Any]]:
    """The fullest published row per team of ``year`` (most complexity fields given)."""
    best: dict[int, dict[str, Any]] = {}
    for row in json.loads(PUBLISHED.read_text()):
        if row["year"] != year:
            continue
        filled = sum(row[f] is not None for _, _, f in FIELDS)
        have = best.get(row["team_id"])
        if have is None or filled > sum(have[f] is not None for _, _, f in FIELDS):
            best[row["team_id"]] = row
    return best


def official_rows(year: int, path: Path = OFFICIAL) -> dict[int, dict[str, Any]]:
    """The organizers' code's figures per team of ``year``, in the published rows' shape
    (exact counts); a team their code could not run on carries its ``error`` instead."""
    if not path.exists():
        return {}
    rows: dict[int, dict[str, Any]] = {}
    for row in json.loads(path.read_text()):
        if row["year"] != year:
            continue
        if "error" in row:
            rows[row["team_id"]] = {"error": row["error"]} | {f: None for _, _, f in FIELDS}
            continue
        rows[row["team_id"]] = {
            "params_M": row["params"] / 1e6,
            "flops_G": row["flops"] / 1e9,
            "activations_M": row["activations"] / 1e6,
            "conv": row["conv"],
        }
    return rows


def _kept(report_path: Path) -> bool:
    """A kept report to reuse: any but a tool failure, which is tried again."""
    return report_path.exists() and "failed" not in json.loads(report_path.read_text())


def validate(
    zip_path: Path,
    ruleset: str,
    *,
    timeout_s: int,
    reuse: bool,
    calibrate: bool = False,
    runner: str = "local",
) -> Outcome:
    report_path = zip_path.with_suffix(".report.json")
    if not (reuse and _kept(report_path)):
        # --calibrate times the baseline here too: a CPU runtime hundreds of times the
        # reference GPU's overflows the exp-weighted score otherwise (a scoring bug, reported).
        cmd = [sys.executable, "-m", "esr_validator", "validate", str(zip_path)]
        cmd += ["--runner", runner, "--device", "cpu", "--runs", "1", "--stable-runs", "0"]
        cmd += ["--ruleset", ruleset, "--format", "json", "--no-progress"]
        cmd += ["--calibrate"] if calibrate else []
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            report_path.write_text(json.dumps({"timeout_s": timeout_s}))
            return Outcome("timeout", None, f"no report within {timeout_s} s")
        if not done.stdout.strip().startswith("{"):  # a tool failure: kept, so --reuse keeps it
            tail = " ".join(done.stderr.strip().splitlines()[-3:]) or "no output"
            report_path.write_text(json.dumps({"failed": f"exit {done.returncode}: {tail}"}))
        else:
            report_path.write_text(done.stdout)
    return read_report(json.loads(report_path.read_text()))


def read_report(report: dict[str, Any]) -> Outcome:
    if "timeout_s" in report:
        return Outcome("timeout", None, f"no report within {report['timeout_s']} s")
    if "failed" in report:
        return Outcome("failed", None, f"validator {report['failed']}")
    figures = report.get("complexity")
    ours = {name: figures[name] for name, _, _ in FIELDS} if figures else None
    if ours is not None and figures and figures.get("flops_legacy_g") is not None:
        # A ruleset that ranks the legacy counter's FLOPs (2022) asked for it: that figure.
        ours["flops"] = round(figures["flops_legacy_g"] * 1e9)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    reason = ""
    if errors:
        reason = f"{errors[0]['code']}: {errors[0]['message']}"
    elif report.get("failure"):
        reason = report["failure"]["message"]
    spread = ""
    if figures and figures.get("input_dependent") and figures.get("flops_by_input"):
        flops, acts = figures["flops_by_input"], figures.get("activations_by_input") or [0]
        spread = (
            f"input-dependent (ESR508): FLOPs {min(flops) / 1e9:.4f}-{max(flops) / 1e9:.4f} G, "
            f"activations {min(acts) / 1e6:.2f}-{max(acts) / 1e6:.2f} M over the inputs "
            "counted; their code counts one random draw"
        )
    return Outcome(report["status"], ours, " ".join(reason.split())[:300], spread)


def _decimals(value: float) -> int:
    exponent = Decimal(repr(value)).as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def compare(ours: dict[str, int] | None, row: dict[str, Any] | None) -> tuple[str, list[str]]:
    """("identical" | "differs" | "-", the fields that differ, as ``field ours≠published``)."""
    if ours is None or row is None:
        return "-", []
    diffs = []
    for name, unit, published_field in FIELDS:
        published = row[published_field]
        if published is None:
            continue
        mine = round(ours[name] / unit, _decimals(published)) if unit != 1 else ours[name]
        if mine != published:
            diffs.append(f"{published_field} {mine}≠{published}")
    return ("identical" if not diffs else "differs"), diffs


def cells(ours: dict[str, int] | None, row: dict[str, Any] | None) -> tuple[str, str]:
    """Our and the published figures as ``params_M / flops_G / activations_M / conv``."""

    def fmt(values: list[Any]) -> str:
        return " / ".join("-" if v is None else f"{v:g}" for v in values)

    mine = "-" if ours is None else fmt([ours[n] / u for n, u, _ in FIELDS])
    theirs = "-" if row is None else fmt([row[f] for _, _, f in FIELDS])
    return mine, theirs


def board_orders(ruleset_name: str, reports: dict[int, dict[str, Any]]) -> dict[str, list[int]]:
    """The params and FLOPs sub-track orders of ``batch``'s leaderboard over these reports
    (team id -> report): the validator's own ranking code, as ``batch`` runs it."""
    from esr_validator.batch.leaderboard import build_board
    from esr_validator.ruleset import load_ruleset
    from esr_validator.schemas.report import Report

    ruleset = load_ruleset(ruleset_name)
    parsed = {
        f"team{t:02d}": (f"team{t:02d}.report.json", Report.model_validate(r))
        for t, r in reports.items()
    }
    board = build_board(parsed, ruleset)
    wanted: dict[tuple[str, ...], str] = {("params",): "params", ("flops",): "flops"}
    orders: dict[str, list[int]] = {}
    for spec, track in zip(ruleset.tracks, board.tracks, strict=True):
        name = wanted.get(tuple(str(m) for m in spec.metrics))
        if name is None or spec.rank_by != "sub_score":
            continue
        ranked = sorted(
            (r for r in track.rows if r.rank is not None), key=lambda r: (r.rank, r.entry)
        )
        orders[name] = [int(r.entry.removeprefix("team")) for r in ranked]
    return orders


def subtrack_orders(
    orders: dict[str, list[int]], reference: dict[int, dict[str, Any]], label: str
) -> list[str]:
    """``batch``'s params and FLOPs sub-track orders against the reference's (ascending),
    among the entries ranked that have reference figures. Ties keep team order."""
    lines = []
    for name, _, field in FIELDS[:2]:
        if name not in orders:
            lines.append(f"- no {name} sub-track in this ruleset: nothing to order")
            continue
        ours = [t for t in orders[name] if reference.get(t, {}).get(field) is not None]
        theirs = sorted(ours, key=lambda t: (reference[t][field], t))
        same = "identical" if ours == theirs else "differs"
        lines.append(
            f"- {name} sub-track (`batch` leaderboard), {len(ours)} entries: ours "
            f"{', '.join(f'{t:02d}' for t in ours)}; {label} "
            f"{', '.join(f'{t:02d}' for t in theirs)}: **{same}**"
        )
    return lines
