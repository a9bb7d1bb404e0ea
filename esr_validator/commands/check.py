"""``esr-validator check ZIP``: intake and static checks; nothing is executed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.intake.check import run_intake
from esr_validator.render import counts, dump_json, findings_json, print_findings


def run(args: argparse.Namespace) -> int:
    zip_path = Path(args.zip)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} does not exist or is not a file")
    with run_intake(zip_path) as intake:
        if args.format == "json":
            doc = {
                "ok": intake.ok,
                "submission": {"zip": zip_path.name, "sha256": intake.zip_sha256},
                "summary": counts(intake.findings),
                "findings": findings_json(intake.findings),
            }
            sys.stdout.write(dump_json(doc) + "\n")
        else:
            print_findings(Console(), intake.findings, subject=zip_path.name)
        return EXIT_OK if intake.ok else EXIT_FINDINGS
