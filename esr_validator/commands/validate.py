"""``esr-validator validate ZIP``: intake, sandboxed evaluation, scoring and the report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from esr_validator import reporters
from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError
from esr_validator.pipeline import Setup, guard_key, prepare, validate_zip
from esr_validator.schemas.findings import fails
from esr_validator.schemas.report import Report
from esr_validator.settings import resolve
from esr_validator.signing.keys import private_key_path


def _run_with_progress(zip_path: Path, setup: Setup, show: bool, console: Console) -> Report:
    if not show:
        return validate_zip(zip_path, setup)
    columns = (
        TextColumn("evaluating"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} forwards"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("eval", total=None)
        return validate_zip(
            zip_path,
            setup,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _write(report: Report, args: argparse.Namespace, console: Console) -> None:
    from esr_validator.signing import load_private_key, sign_report, write_envelope

    key = load_private_key(args.key)
    if args.out:
        write_envelope(sign_report(report, key), args.out)
        state = "signed" if key is not None else "unsigned"
        console.print(f"report ({state}) written to {args.out}")


def _calibrated(setup: Setup, console: Console) -> Setup:
    """``setup`` with the baseline timed here, once per scale the data holds."""
    from esr_validator.calibration import calibrate_on

    settings = setup.settings
    console.print(f"calibrating: timing the {setup.ruleset.baseline.name} baseline here")
    timed = {
        scale: calibrate_on(
            setup.ruleset,
            dataset,
            device=settings.device,
            runs=settings.runs,
            synthetic=settings.synthetic,
            scale=scale,
        )
        for scale, dataset in setup.datasets.items()
    }
    return dataclasses.replace(setup, calibrations=timed)


def run(args: argparse.Namespace) -> int:
    zip_path = Path(args.zip)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} does not exist or is not a file")
    console = Console(stderr=args.format != "text")
    setup = prepare(resolve(vars(args), command="validate"))
    guard_key(setup, signing=private_key_path(args.key) is not None)
    if args.calibrate:
        setup = _calibrated(setup, console)
    show = not args.no_progress and args.format == "text" and console.is_terminal
    report = _run_with_progress(zip_path, setup, show, console)
    reporters.get(args.format)().report(report)
    _write(report, args, console)
    failed = fails(report.findings, fail_on=setup.settings.fail_on)
    return EXIT_FINDINGS if failed else EXIT_OK
