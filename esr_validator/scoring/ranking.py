"""Leaderboards: rank a field of entries on every track of a ruleset.

Ties share the better rank (1, 2, 2, 4), as rank-sums were computed. An entry is left
unranked on a track, with a note saying why, when it fails a ranking gate, lacks a metric the
track needs, breaks one of the track's constraints (e.g. more params than the baseline), or
scores 0 under the real-time formula. Entries measured on smoke data, where the gates do not
apply, are ranked with a note that the rank is unofficial.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.ruleset import Metric, Ruleset, Track
from esr_validator.schemas.scoring import ScoringResult
from esr_validator.scoring.formulas import OVERFLOW, published_runtime_ms
from esr_validator.scoring.inputs import ScoringInputs
from esr_validator.scoring.score import score


class LeaderboardRow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    track: str
    entry: str
    rank: int | None = Field(description="1 is best; None when not ranked on this track.")
    value: float | None = Field(description="Score, metric value or rank-sum ranked by.")
    metric_ranks: dict[str, int] = Field(default_factory=dict, description="rank_sum parts.")
    note: str | None = None


def competition_ranks(values: Mapping[str, float], *, descending: bool = False) -> dict[str, int]:
    """1 + the number of strictly better values: ties share the better rank."""
    sign = -1.0 if descending else 1.0
    return {
        k: 1 + sum(1 for other in values.values() if sign * other < sign * v)
        for k, v in values.items()
    }


def _baseline_metric(ruleset: Ruleset, metric: Metric, scale: int) -> float | None:
    if metric == "runtime":
        return published_runtime_ms(ruleset, scale=scale)
    return {"flops": ruleset.baseline.flops_g, "params": ruleset.baseline.params_m}.get(metric)


def _applies(reason: str, track: Track) -> bool:
    """Whether a reason the entry is not eligible keeps it off ``track``: a score overflow
    only off the tracks that rank by that score (the main track, that metric's sub-track)."""
    if track.rank_by == "score" or not reason.startswith(f"{OVERFLOW}: the "):
        return True
    metric = reason.removeprefix(f"{OVERFLOW}: the ").split(" ", 1)[0]
    return track.rank_by == "sub_score" and metric in track.metrics


def _exclusion(
    track: Track, inputs: ScoringInputs, result: ScoringResult, ruleset: Ruleset
) -> str | None:
    if result.verdict == "not_eligible":
        applying = [r for r in result.reasons if _applies(r, track)]
        if applying:
            return "; ".join(applying)
    for metric in track.metrics:
        if inputs.metric(metric) is None:
            return f"no {metric} measured"
    if track.rank_by == "score" and "final" not in result.scores:
        return "no final score"
    for metric in track.constraints:
        value, limit = inputs.metric(metric), _baseline_metric(ruleset, metric, inputs.scale)
        if value is None:
            return f"no {metric} measured"
        if limit is not None and value > limit:
            return f"{metric} {value:g} above the baseline's {limit:g}"
    return None


def _track_values(
    track: Track, field: Mapping[str, ScoringInputs], results: Mapping[str, ScoringResult]
) -> tuple[dict[str, float], dict[str, dict[str, int]]]:
    if track.rank_by == "score":
        return {k: results[k].scores["final"] for k in field}, {}
    if track.rank_by == "sub_score":
        # Score_X = exp(2·X/X_baseline): the sub-track ranks by it, as published.
        return {k: results[k].scores[track.metrics[0]] for k in field}, {}
    if track.rank_by == "metric":
        metric = track.metrics[0]
        return {k: float(inputs.metric(metric) or 0.0) for k, inputs in field.items()}, {}
    parts: dict[str, dict[str, int]] = {k: {} for k in field}
    for metric in track.metrics:
        ranks = competition_ranks({k: float(i.metric(metric) or 0.0) for k, i in field.items()})
        for k, r in ranks.items():
            parts[k][metric] = r
    return {k: float(sum(p.values())) for k, p in parts.items()}, parts


def rank_track(
    track: Track, entries: Mapping[str, ScoringInputs], ruleset: Ruleset
) -> list[LeaderboardRow]:
    field = {k: i for k, i in entries.items() if track.scale in (None, i.scale)}
    results = {k: score(i, ruleset) for k, i in field.items()}
    excluded = {k: _exclusion(track, field[k], results[k], ruleset) for k in field}
    ranked = {k: i for k, i in field.items() if excluded[k] is None}
    values, parts = _track_values(track, ranked, results)
    descending = track.rank_by == "score" and ruleset.formula.higher_is_better
    ranks = competition_ranks(values, descending=descending)
    rows = [
        LeaderboardRow(
            track=track.name,
            entry=k,
            rank=ranks[k],
            value=values[k],
            metric_ranks=parts.get(k, {}),
            note="unofficial: smoke data, gates not applied" if field[k].smoke else None,
        )
        for k in sorted(ranked, key=lambda k: (ranks[k], k))
    ]
    rows += [
        LeaderboardRow(track=track.name, entry=k, rank=None, value=None, note=excluded[k])
        for k in sorted(set(field) - set(ranked))
    ]
    return rows


def rank_field(
    entries: Mapping[str, ScoringInputs] | Iterable[tuple[str, ScoringInputs]], ruleset: Ruleset
) -> dict[str, list[LeaderboardRow]]:
    """Every track's leaderboard for ``entries`` (entry name -> its inputs), best first."""
    field = dict(entries.items() if isinstance(entries, Mapping) else entries)
    return {track.name: rank_track(track, field, ruleset) for track in ruleset.tracks}
