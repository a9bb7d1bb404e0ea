"""Scoring: turn an entry's measurements into a ruleset's scores, gates and verdict.

- :func:`score` scores one entry (official and, given a calibration, calibrated scores);
- :func:`rank_field` ranks a field of entries on every track of a ruleset;
- :func:`scoring_findings` turns a result into findings (``psnr-gate-failed``,
  ``non-reference-device``).
"""

from __future__ import annotations

from esr_validator.scoring.device import on_reference_device, same_device, scoring_findings
from esr_validator.scoring.formulas import formula_scores, published_runtime_ms
from esr_validator.scoring.inputs import ScoringInputs
from esr_validator.scoring.ranking import LeaderboardRow, competition_ranks, rank_field
from esr_validator.scoring.score import score

__all__ = [
    "LeaderboardRow",
    "ScoringInputs",
    "competition_ranks",
    "formula_scores",
    "on_reference_device",
    "published_runtime_ms",
    "rank_field",
    "same_device",
    "score",
    "scoring_findings",
]
