"""``esr-validator check ZIP``: intake and static checks; nothing is executed."""

from __future__ import annotations

import argparse
from pathlib import Path

from esr_validator import reporters
from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.intake.check import run_intake


def run(args: argparse.Namespace) -> int:
    zip_path = Path(args.zip)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} does not exist or is not a file")
    with run_intake(zip_path) as intake:
        result = reporters.CheckResult(zip_path.name, intake.zip_sha256, intake.ok, intake.findings)
        reporters.get(args.format)().check(result)
        return EXIT_OK if intake.ok else EXIT_FINDINGS
