"""``python -m esr_validator.github.counts pr.json``: the action's ``errors``/``warnings``.

Prints ``errors=N`` and ``warnings=N`` lines for ``$GITHUB_OUTPUT``: unwaived findings over
every team and the pull request itself. Only integers are printed, whatever ``pr.json``
holds, so nothing from a submission can write an output of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.pr import PrCheck


def unwaived(check: PrCheck) -> dict[str, int]:
    every: list[Finding] = [*check.findings, *(f for t in check.teams for f in t.findings)]
    live = [f for f in every if f.waived is None]
    return {
        "errors": sum(f.severity is Severity.ERROR for f in live),
        "warnings": sum(f.severity is Severity.WARNING for f in live),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m esr_validator.github.counts PR_JSON", file=sys.stderr)
        return 2
    try:
        check = PrCheck.model_validate_json(Path(argv[0]).read_bytes())
    except (OSError, ValidationError) as exc:
        print(f"cannot read {argv[0]}: {exc}", file=sys.stderr)
        return 2
    for name, value in unwaived(check).items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
