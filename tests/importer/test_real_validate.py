"""scripts/real_validate.py: complexity against published figures, at their precision."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from tests.signing_support import evaluated_report

# Imported by name, as scripts/real_entries.py does (its dataclass needs a registered module).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
rv = importlib.import_module("real_validate")
OURS = {"params": 150688, "flops": 9833807872, "activations": 41680896, "conv_count": 22}


def _row(**figures: float | None) -> dict[str, float | None]:
    row: dict[str, float | None] = {"params_M": None, "flops_G": None}
    row |= {"activations_M": None, "conv": None}
    return row | figures


def test_exact_published_figures_match_exact_counts() -> None:
    row = _row(params_M=0.150688, flops_G=9.833807872, activations_M=41.680896, conv=22)
    assert rv.compare(OURS, row) == ("identical", [])
    off_by_one = OURS | {"conv_count": 23}
    assert rv.compare(off_by_one, row) == ("differs", ["conv 23≠22"])


def test_rounded_figures_compare_at_their_precision() -> None:
    assert rv.compare(OURS, _row(params_M=0.151, flops_G=9.83)) == ("identical", [])
    assert rv.compare(OURS, _row(params_M=0.152, flops_G=9.84)) == (
        "differs",
        ["params_M 0.151≠0.152", "flops_G 9.83≠9.84"],
    )
    assert rv.compare(None, _row(params_M=0.151)) == ("-", [])


def test_kept_reports_say_why_nothing_was_measured() -> None:
    assert rv.read_report({"timeout_s": 900}).status == "timeout"
    failed = rv.read_report({"failed": "exit 1: OverflowError"})
    assert failed.status == "failed" and "OverflowError" in failed.reason
    report = {
        "status": "invalid",
        "complexity": None,
        "failure": None,
        "findings": [
            {"severity": "error", "code": "ESR403", "message": "mamba_ssm is not in the image"},
        ],
    }
    outcome = rv.read_report(report)
    assert outcome.ours is None and outcome.reason.startswith("ESR403: mamba_ssm")


def _reports(figures: dict[int, tuple[float, float]]) -> dict[int, dict[str, Any]]:
    """Evaluated 2024 reports as kept beside the zips: team -> (params M, FLOPs G)."""
    return {
        team: evaluated_report(params, flops).model_dump(mode="json")
        for team, (params, flops) in figures.items()
    }


def test_board_orders_are_the_batch_leaderboards_subtracks() -> None:
    reports = _reports({1: (0.3, 10.0), 2: (0.1, 30.0), 3: (0.2, 20.0)})
    orders = rv.board_orders("ntire2024_esr", reports)
    assert orders == {"params": [2, 3, 1], "flops": [1, 3, 2]}


def test_board_orders_leave_out_what_batch_does_not_rank() -> None:
    reports = _reports({1: (0.3, 10.0), 2: (0.1, 30.0)})
    reports[2] = reports[2] | {"status": "failed", "ok": False}
    assert rv.board_orders("ntire2024_esr", reports) == {"params": [1], "flops": [1]}


def test_subtrack_orders_compare_the_board_with_the_reference() -> None:
    reference = {1: _row(params_M=0.3, flops_G=10.0), 2: _row(params_M=0.1, flops_G=30.0)}
    lines = rv.subtrack_orders({"params": [2, 1], "flops": [1, 2]}, reference, "published")
    assert lines[0].endswith("ours 02, 01; published 02, 01: **identical**")
    assert lines[1].endswith("ours 01, 02; published 01, 02: **identical**")
    swapped = rv.subtrack_orders({"params": [1, 2], "flops": [1, 2]}, reference, "code")
    assert swapped[0].endswith("ours 01, 02; code 02, 01: **differs**")


def test_subtrack_orders_keep_only_entries_with_reference_figures() -> None:
    reference = {1: _row(params_M=0.3, flops_G=10.0), 3: _row()}
    lines = rv.subtrack_orders({"params": [3, 1, 2], "flops": [1]}, reference, "published")
    assert ", 1 entries: ours 01; published 01" in lines[0]


def test_official_rows_read_the_organizers_code_figures(tmp_path: Path) -> None:
    path = tmp_path / "official.json"
    rows = [
        {"year": 2024, "team_id": 1, "params": 218288, "flops": 11952734208}
        | {"activations": 36103168, "conv": 24},
        {"year": 2024, "team_id": 7, "error": "ModuleNotFoundError: No module named 'mamba_ssm'"},
        {"year": 2025, "team_id": 1, "params": 1, "flops": 1, "activations": 1, "conv": 1},
    ]
    path.write_text(json.dumps(rows))
    code = rv.official_rows(2024, path)
    assert sorted(code) == [1, 7]
    ours = {"params": 218288, "flops": 11952734208, "activations": 36103168, "conv_count": 24}
    assert rv.compare(ours, code[1]) == ("identical", [])
    assert rv.compare(ours | {"flops": 11952734209}, code[1])[0] == "differs"
    assert code[7]["flops_G"] is None and "mamba_ssm" in code[7]["error"]
    assert rv.official_rows(2024, tmp_path / "absent.json") == {}


def test_the_organizers_code_reproduces_their_published_figures() -> None:
    """docs/data/official-complexity.json (their code run on each entry by
    scripts/official_complexity.py) is a reference only if it gives what they published:
    2026's results.json per team, exact counts, and the 2024/2025 baselines."""
    checked = 0
    for year in (2024, 2025, 2026):
        published, code = rv.published_rows(year), rv.official_rows(year)
        for team, row in published.items():
            if team not in code or "error" in code[team]:
                continue
            ref = code[team]
            ours = {
                "params": round(ref["params_M"] * 1e6),
                "flops": round(ref["flops_G"] * 1e9),
                "activations": round(ref["activations_M"] * 1e6),
                "conv_count": ref["conv"],
            }
            assert rv.compare(ours, row) == ("identical", []), (year, team)
            checked += 1
    assert checked >= 15  # 13 teams of 2026 and both baselines


def test_the_legacy_flops_are_compared_where_the_ruleset_counted_them() -> None:
    """2022 ranked FLOPs by the legacy counter; a report validated under that ruleset
    carries them beside fvcore's, and they are the ones compared."""
    complexity = {"params": 276192, "flops": 16703470848, "activations": 111117312}
    complexity |= {"conv_count": 65, "flops_legacy_g": 16.728798048}
    report = {"status": "evaluated", "complexity": complexity, "findings": [], "failure": None}
    ours = rv.read_report(report).ours
    assert ours is not None and ours["flops"] == 16728798048
    row = _row(params_M=0.276, flops_G=16.73, activations_M=111.12, conv=65)
    assert rv.compare(ours, row) == ("identical", [])
    plain = rv.read_report(report | {"complexity": complexity | {"flops_legacy_g": None}})
    assert plain.ours is not None and plain.ours["flops"] == 16703470848


def test_a_ruleset_without_the_subtracks_says_so() -> None:
    reference = {1: _row(params_M=0.3, flops_G=10.0)}
    assert rv.board_orders("ntire2022_esr", _reports({1: (0.3, 10.0)})) == {}
    lines = rv.subtrack_orders({}, reference, "published")
    assert lines == [
        "- no params sub-track in this ruleset: nothing to order",
        "- no flops sub-track in this ruleset: nothing to order",
    ]


def test_an_input_dependent_count_carries_its_spread() -> None:
    complexity = dict(OURS) | {"input_dependent": True}
    complexity |= {"flops_by_input": [9481053132, 9551832012, 9481053132]}
    complexity |= {"activations_by_input": [288305152, 289615872, 288305152]}
    report = {"status": "evaluated", "complexity": complexity, "findings": [], "failure": None}
    spread = rv.read_report(report).spread
    assert spread.startswith("input-dependent (ESR508): FLOPs 9.4811-9.5518 G")
    assert "activations 288.31-289.62 M" in spread
    steady = report | {"complexity": dict(OURS) | {"input_dependent": False}}
    assert rv.read_report(steady).spread == ""
