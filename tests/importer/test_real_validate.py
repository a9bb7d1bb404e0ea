"""scripts/real_validate.py: complexity against published figures, at their precision."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

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


def test_subtrack_orders_compare_rankings() -> None:
    small = OURS | {"params": 100, "flops": 10}
    big = OURS | {"params": 200, "flops": 20}
    rows = [
        (1, big, _row(params_M=0.0002, flops_G=2e-8)),
        (2, small, _row(params_M=0.0001, flops_G=1e-8)),
    ]
    lines = rv.subtrack_orders(rows)
    assert lines[0].endswith("ours 02, 01; published 02, 01: **identical**")
    swapped = [(1, small, rows[0][2]), (2, big, rows[1][2])]
    assert rv.subtrack_orders(swapped)[1].endswith("published 02, 01: **differs**")
