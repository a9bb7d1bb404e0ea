"""``esr-validator check ZIP``: intake and static checks; nothing is executed."""

from __future__ import annotations

import argparse
from pathlib import Path

from esr_validator import reporters
from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.intake.check import run_intake
from esr_validator.schemas.findings import fails
from esr_validator.settings import policy
from esr_validator.waivers import apply_waivers, team_of


def run(args: argparse.Namespace) -> int:
    zip_path = Path(args.zip)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} does not exist or is not a file")
    fail_on, waivers = policy(vars(args), command="check")
    with run_intake(zip_path) as intake:
        team = team_of(
            manifest_team=intake.manifest.team_id if intake.manifest else None,
            zip_name=zip_path.name,
        )
        intake.findings = apply_waivers(intake.findings, waivers, team=team)
        result = reporters.CheckResult(zip_path.name, intake.zip_sha256, intake.ok, intake.findings)
        reporters.get(args.format)().check(result)
        return EXIT_FINDINGS if fails(intake.findings, fail_on=fail_on) else EXIT_OK
