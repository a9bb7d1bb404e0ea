"""``esr-validator import REPO --out DIR``: one ``teamNN.zip`` per ``select_model()`` branch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.importer import ImportRow, import_repo


def _outcome(row: ImportRow) -> str:
    if row.zip:
        return "zip written"
    first = row.findings[0] if row.findings else None
    return f"{first.code} {first.message}" if first else "-"


def table(rows: list[ImportRow]) -> str:
    """One line per team, as the summary prints it."""
    lines = [f"{'team':>4}  {'line':>4}  {'model file':<42}  {'class':<26}  outcome"]
    for r in rows:
        lines.append(
            f"{r.team_id:>4}  {r.line:>4}  {(r.model_file or '-'):<42}  "
            f"{(r.class_name or '-'):<26}  {_outcome(r)}"
        )
    written = sum(1 for r in rows if r.zip)
    lines.append(f"{len(rows)} branches, {written} zips written")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    repo = Path(args.repo)
    if not (repo / "test_demo.py").is_file():
        raise InputError(f"{repo} has no test_demo.py: not a challenge repository checkout")
    rows = import_repo(repo, Path(args.out) if args.out else None)
    if args.format == "json":
        print(json.dumps([r.model_dump(mode="json") for r in rows], indent=1))
    else:
        print(table(rows))
    failed = any(f.severity.value == "error" for r in rows for f in r.findings)
    return EXIT_FINDINGS if failed else EXIT_OK
