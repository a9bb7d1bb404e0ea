"""The batch's leaderboard as data: every track of the ruleset, and every submission.

Evaluated reports are ranked with :func:`esr_validator.scoring.rank_field`, so gates, track
constraints and ties follow the ruleset exactly as single-report scoring does. Submissions
that were not evaluated (invalid package, crash, timeout, ...) are not ranked on any track
but still listed, with their failure, so the page accounts for every zip received.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.scoring import LeaderboardRow, ScoringInputs, rank_field, score


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Entry(_Frozen):
    name: str  # the zip's stem: unique in a batch folder
    report: str  # the report file, relative to the output folder
    team_id: int | None = None
    team_name: str | None = None
    model_name: str | None = None
    status: str
    failure: str | None = None
    failure_message: str | None = None
    psnr: dict[str, float | None]
    runtime_ms: float | None = None
    flops_g: float | None = None
    params_m: float | None = None
    score: float | None = None
    ranks: dict[str, int | None]  # track name -> rank (None: not ranked there)
    notes: dict[str, str]  # track name -> why not ranked

    @property
    def psnr_mean(self) -> float | None:
        values = [v for v in self.psnr.values() if v is not None]
        return sum(values) / len(values) if values and len(values) == len(self.psnr) else None


class TrackBoard(_Frozen):
    name: str
    title: str
    rank_by: str
    rows: list[LeaderboardRow]


class Board(_Frozen):
    ruleset: str
    ruleset_version: str
    title: str
    splits: list[str]
    higher_is_better: bool
    tracks: list[TrackBoard]
    entries: list[Entry]


def rankable(report: Report) -> bool:
    """Evaluated, and no failure but the gates, which the ranking applies itself."""
    failure = report.failure.category if report.failure else None
    return report.status == "evaluated" and failure in (None, "below_gate")


def _entry(
    name: str, path: str, report: Report, inputs: ScoringInputs | None, ruleset: Ruleset
) -> Entry:
    manifest = report.submission.manifest
    final = score(inputs, ruleset).scores.get("final") if inputs else None
    return Entry(
        name=name,
        report=path,
        team_id=manifest.team_id if manifest else None,
        team_name=manifest.team_name if manifest else None,
        model_name=manifest.model_name if manifest else None,
        status=report.status,
        failure=report.failure.category if report.failure else None,
        failure_message=report.failure.message if report.failure else None,
        psnr={s: inputs.psnr.get(s) if inputs else None for s in ruleset.splits},
        runtime_ms=inputs.runtime_ms if inputs else None,
        flops_g=inputs.flops_g if inputs else None,
        params_m=inputs.params_m if inputs else None,
        score=final,
        ranks={},
        notes={},
    )


def _order(entry: Entry, main: str) -> tuple[int, int, str]:
    rank = entry.ranks.get(main)
    group = 0 if rank is not None else 1 if entry.failure in (None, "below_gate") else 2
    return group, rank or 0, entry.name


def build_board(reports: dict[str, tuple[str, Report]], ruleset: Ruleset) -> Board:
    """``reports``: entry name -> (report path relative to OUT, report)."""
    inputs = {
        name: ScoringInputs.from_report(report, ruleset)
        for name, (_, report) in reports.items()
        if rankable(report)
    }
    tracks = rank_field(inputs, ruleset)
    entries = []
    for name, (path, report) in reports.items():
        entry = _entry(name, path, report, inputs.get(name), ruleset)
        rows = {t: next((r for r in rows if r.entry == name), None) for t, rows in tracks.items()}
        reason = (
            "not on this track (other scale)"
            if name in inputs
            else f"not ranked: {entry.failure or report.status}"
        )
        ranks = {t: row.rank if row else None for t, row in rows.items()}
        notes = {t: (row.note if row else reason) or "" for t, row in rows.items()}
        entries.append(entry.model_copy(update={"ranks": ranks, "notes": notes}))
    main = ruleset.tracks[0].name
    return Board(
        ruleset=ruleset.name,
        ruleset_version=ruleset.version,
        title=ruleset.title,
        splits=list(ruleset.splits),
        higher_is_better=ruleset.formula.higher_is_better,
        tracks=[
            TrackBoard(name=t.name, title=t.title, rank_by=t.rank_by, rows=tracks[t.name])
            for t in ruleset.tracks
        ],
        entries=sorted(entries, key=lambda e: _order(e, main)),
    )
