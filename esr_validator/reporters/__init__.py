"""Reporters, chosen by name: one drawing of each command's result for each audience.

``check``, ``validate``, ``pr`` and ``batch`` all take ``--format NAME`` and hand their result
to :func:`get` ``(NAME)``; a new format is a new class registered here, and every command
offers it. The results they draw are data (findings, reports, a PR check, batch outcomes);
only a reporter decides how they look.
"""

from __future__ import annotations

from esr_validator.reporters.base import BatchEntry, BatchResult, CheckResult, Reporter
from esr_validator.reporters.github import GithubReporter
from esr_validator.reporters.json import JsonReporter
from esr_validator.reporters.markdown import MarkdownReporter
from esr_validator.reporters.sarif import SarifReporter
from esr_validator.reporters.text import TextReporter

REPORTERS: dict[str, type[Reporter]] = {
    r.name: r
    for r in (TextReporter, JsonReporter, GithubReporter, MarkdownReporter, SarifReporter)
}
FORMATS = tuple(REPORTERS)


def get(name: str) -> type[Reporter]:
    """The reporter called ``name`` (argparse restricts the choice to :data:`FORMATS`)."""
    return REPORTERS[name]


__all__ = [
    "FORMATS",
    "REPORTERS",
    "BatchEntry",
    "BatchResult",
    "CheckResult",
    "Reporter",
    "get",
]
