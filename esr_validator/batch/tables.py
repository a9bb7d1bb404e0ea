"""The leaderboard as CSV (one row per submission) and Markdown (one table per track).

Team names come from the submissions' manifests, so they are untrusted text: every cell goes
through :mod:`esr_validator.text` (control characters neutralised first, so a bare CR cannot
split a row; then a cell a spreadsheet would run as a formula is quoted with a leading
apostrophe, and Markdown special characters are escaped).
"""

from __future__ import annotations

import csv
import io

from esr_validator.batch.leaderboard import Board, Entry
from esr_validator.text import clean, for_csv, for_markdown


def fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def csv_text(board: Board) -> str:
    tracks = [t.name for t in board.tracks]
    header = ["entry", "team_id", "team_name", "model_name", "status", "failure"]
    header += [f"psnr_{s}" for s in board.splits]
    header += ["runtime_ms", "flops_g", "params_m", "score"]
    header += [f"rank_{t}" for t in tracks] + [f"note_{t}" for t in tracks]
    header += ["failure_message", "report"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for e in board.entries:
        row: list[object] = [e.name, e.team_id, e.team_name, e.model_name, e.status, e.failure]
        row += [fmt(e.psnr.get(s)) for s in board.splits]
        row += [fmt(e.runtime_ms, 3), fmt(e.flops_g), fmt(e.params_m), fmt(e.score, 6)]
        row += [e.ranks.get(t) for t in tracks] + [e.notes.get(t) for t in tracks]
        row += [e.failure_message, e.report]
        writer.writerow([for_csv(v) for v in row])
    return buf.getvalue()


def md_escape(text: object) -> str:
    return for_markdown(text)


def _team(e: Entry) -> str:
    if e.team_name is None:
        return ""
    return md_escape(f"{e.team_name} ({e.team_id:02d})" if e.team_id is not None else e.team_name)


def first_line(text: str | None) -> str:
    lines = clean(text, multiline=True).strip().split("\n")
    return lines[0] if lines else ""


def md_text(board: Board) -> str:
    by_name = {e.name: e for e in board.entries}
    lines = [f"# {md_escape(board.title)}", ""]
    lines += [f"Ruleset `{board.ruleset}` {board.ruleset_version}.", ""]
    for track in board.tracks:
        lines += [f"## {md_escape(track.title)}", ""]
        lines += ["| Rank | Entry | Team | Value | Note |", "| ---: | --- | --- | ---: | --- |"]
        for row in track.rows:
            e = by_name[row.entry]
            lines.append(
                f"| {row.rank or '–'} | {md_escape(row.entry)} | {_team(e)} | "
                f"{fmt(row.value)} | {md_escape(row.note or '')} |"
            )
        lines.append("")
    failed = [e for e in board.entries if e.failure not in (None, "below_gate")]
    if failed:
        lines += ["## Not ranked: failures", "", "| Entry | Team | Status | Failure | Message |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for e in failed:
            lines.append(
                f"| {md_escape(e.name)} | {_team(e)} | {md_escape(e.status)} | "
                f"{md_escape(e.failure or '')} | "
                f"{md_escape(first_line(e.failure_message)[:200])} |"
            )
        lines.append("")
    return "\n".join(lines)
