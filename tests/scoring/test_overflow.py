"""Huge measurements: a finite huge score reaches the leaderboard, an overflowing one is a
finding (ESR705) and an unranked entry, never an OverflowError that stops a batch."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from esr_validator.batch.leaderboard import build_board
from esr_validator.batch.page import html_text
from esr_validator.batch.tables import csv_text, md_text
from esr_validator.ruleset import load_ruleset
from esr_validator.schemas.report import FigureSet
from esr_validator.scoring import ScoringInputs, rank_field, score, scoring_findings
from esr_validator.signing import read_report, sign_report, verify_envelope, write_envelope
from esr_validator.verdict import unresolved_runtime
from tests.signing_support import evaluated_report, new_key

R2024 = load_ruleset("ntire2024_esr")
KEY = new_key()


def _inputs(**changes: object) -> ScoringInputs:
    b = R2024.baseline
    fields: dict[str, object] = {
        "runtime_ms": b.runtime_ms,
        "flops_g": b.flops_g,
        "params_m": b.params_m,
        "psnr": dict(b.psnr),
        "device": "NVIDIA GeForce RTX A6000",
    }
    return ScoringInputs.model_validate(fields | changes)


@pytest.mark.parametrize(
    "changes",
    [{"params_m": 500.0}, {"flops_g": 1e6}, {"runtime_ms": 1e300}],
    ids=["params", "flops", "runtime"],
)
def test_score_past_the_largest_double_is_a_finding(changes: dict[str, object]) -> None:
    result = score(_inputs(**changes), R2024)  # exp(2 x 500 / 0.317) would raise OverflowError
    assert "final" not in result.scores and not result.eligible
    assert all(math.isfinite(v) for v in result.scores.values())
    found = scoring_findings(result, device="x")
    assert [f.code for f in found if f.code == "ESR705"] == ["ESR705"]
    assert "larger than any double" in found[0].message


def test_overflowing_entry_is_unranked_and_the_field_still_ranks() -> None:
    field = {"honest": _inputs(), "huge": _inputs(params_m=500.0)}
    main = {row.entry: row for row in rank_field(field, R2024)["main"]}
    assert main["honest"].rank == 1
    assert main["huge"].rank is None and "score overflow" in (main["huge"].note or "")


def test_weighted_sum_past_the_largest_double_is_a_finding() -> None:
    # Each metric score fits (exp(700)), their weighted sum does not.
    big = 700.0 * R2024.baseline.params_m / 2
    result = score(
        _inputs(params_m=big, flops_g=700.0 * R2024.baseline.flops_g / 2, runtime_ms=1e6), R2024
    )
    assert "final" not in result.scores and not result.eligible
    assert any(r.startswith("score overflow") for r in result.reasons)


def test_unused_parameters_score_reaches_the_leaderboard(tmp_path: Path) -> None:
    """About 6.5 M unused parameters: params score exp(2 x 6.5 / 0.317) ~ 6.4e17, an
    integral double written without a decimal point. The batch used to die re-reading it."""
    path = tmp_path / "huge.json"
    report = evaluated_report(6.5)
    result = score(ScoringInputs.from_report(report, R2024), R2024)
    judged = report.model_copy(update={"scoring": result})  # as the verdict step records it
    assert judged.scoring is not None and judged.scoring.scores["params"] > 2.0**53
    write_envelope(sign_report(judged, KEY), path)
    verify_envelope(path.read_bytes(), KEY.public_key())  # the organizer's own report verifies
    reports = {"huge": ("reports/huge.json", read_report(path))}
    reports["small"] = ("reports/small.json", evaluated_report(0.3))
    board = build_board(reports, R2024)
    entry = next(e for e in board.entries if e.name == "huge")
    params_score = math.exp(2 * 6.5 / R2024.baseline.params_m)
    assert 1e17 < params_score < 1e21
    assert entry.score is not None and entry.score == pytest.approx(0.15 * params_score, rel=1e-3)
    ranks = {r.entry: r.rank for r in board.tracks[0].rows}
    assert ranks == {"small": 1, "huge": 2}
    row = next(r for r in csv.DictReader(io.StringIO(csv_text(board))) if r["entry"] == "huge")
    assert float(row["score"]) == pytest.approx(entry.score)
    assert "| 2 | huge |" in md_text(board) and "huge" in html_text(board)


@pytest.mark.parametrize(("resolution", "scored"), [(0.8, 0.8), (None, 0.001)])
def test_a_runtime_below_the_clock_is_scored_at_its_resolution(
    resolution: float | None, scored: float
) -> None:
    """A forward shorter than the channel's jitter leaves 0 ms once the overhead is taken
    off: no runtime the formulas accept. It used to end the batch in a validator error."""
    report = evaluated_report(0.3).model_copy(
        update={
            "official": FigureSet(
                protocol="official", runtime_ms=0.0, memory_mb=10.0, description="x"
            ),
            "stable": FigureSet(
                protocol="stable",
                runtime_ms=0.0,
                memory_mb=None,
                resolution_ms=resolution,
                description="x",
            ),
        }
    )
    inputs = ScoringInputs.from_report(report, R2024)
    assert inputs.runtime_ms == scored
    result = score(inputs, R2024)
    assert result.scores["runtime"] > 0
    board = build_board({"tiny": ("reports/tiny.json", report)}, R2024)
    assert [r.entry for r in board.tracks[0].rows] == ["tiny"]


def test_an_unresolved_runtime_is_a_warning_in_the_verdict() -> None:
    official = FigureSet(protocol="official", runtime_ms=0.0, memory_mb=None, description="x")
    stable = FigureSet(
        protocol="stable", runtime_ms=0.0, memory_mb=None, resolution_ms=0.5, description="x"
    )
    measured = SimpleNamespace(official=official, stable=stable)
    found = unresolved_runtime(measured)  # type: ignore[arg-type]
    assert [f.code for f in found] == ["ESR520"] and "0.5 ms" in found[0].message
    measured.official = official.model_copy(update={"runtime_ms": 3.0})
    assert unresolved_runtime(measured) == []  # type: ignore[arg-type]


def test_a_runtime_overflow_keeps_the_entry_on_the_flops_and_params_subtracks() -> None:
    """A CPU runtime thousands of times the reference GPU's overflows Score_Runtime: off the
    main and runtime tracks, but its FLOPs and params scores are finite and rank it there."""
    field = {"honest": _inputs(), "slow": _inputs(runtime_ms=1e6, params_m=0.1, flops_g=1.0)}
    tracks = {
        name: {row.entry: row for row in rows} for name, rows in rank_field(field, R2024).items()
    }
    for name in ("main", "runtime"):
        assert tracks[name]["slow"].rank is None
        assert "score overflow: the runtime score" in (tracks[name]["slow"].note or "")
    assert tracks["params"]["slow"].rank == 1 and tracks["params"]["honest"].rank == 2
    assert tracks["flops"]["slow"].rank == 1 and tracks["flops"]["honest"].rank == 2


def test_a_params_overflow_keeps_the_entry_off_the_params_subtrack_only() -> None:
    field = {"honest": _inputs(), "huge": _inputs(params_m=500.0, flops_g=1.0)}
    tracks = {
        name: {row.entry: row for row in rows} for name, rows in rank_field(field, R2024).items()
    }
    assert tracks["params"]["huge"].rank is None and tracks["main"]["huge"].rank is None
    assert tracks["flops"]["huge"].rank == 1
