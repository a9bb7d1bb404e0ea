"""``esr-validator validate ZIP``: intake, sandboxed evaluation, scoring and the report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from schemas.report import Report
from validator.data import DataError, discover
from validator.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError
from validator.evaluate import SMOKE_DIR, EvalOptions
from validator.judge import calibrate_on
from validator.pipeline import Setup, validate_zip
from validator.render import dump_json, print_report
from validator.ruleset import DEFAULT_RULESET, load_ruleset
from validator.runners.base import Runner


def _device(arg: str) -> tuple[str, int | None]:
    if arg == "auto":
        import torch

        return ("cuda", 0) if torch.cuda.is_available() else ("cpu", None)
    if arg == "cpu":
        return "cpu", None
    if arg.startswith("cuda"):
        index = arg.partition(":")[2]
        if index and not index.isdigit():
            raise UsageError(f"--device {arg}: expected cuda or cuda:N")
        return "cuda", int(index or 0)
    raise UsageError(f"--device {arg}: expected auto, cpu, cuda or cuda:N")


def _options(args: argparse.Namespace, gpu: int | None, *, legacy_flops: bool) -> EvalOptions:
    if not 1 <= args.runs <= 50:
        raise UsageError("--runs must be between 1 and 50")
    if args.stable_runs is not None and not 0 <= args.stable_runs <= 50:
        raise UsageError("--stable-runs must be between 0 and 50")
    return EvalOptions(
        runs=args.runs,
        stable_runs=args.runs if args.stable_runs is None else args.stable_runs,
        warmup=args.warmup,
        gpu=gpu,
        cudnn_benchmark=args.cudnn_benchmark,
        timeout_s=args.timeout,
        ssim=args.ssim,
        legacy_flops=legacy_flops,
    )


def _runner(args: argparse.Namespace, gpu: int | None) -> tuple[Runner, str | None]:
    """``--runner``, else ``RUNNER`` (the Makefile's knob), else ``ESR_RUNNER``, else auto."""
    from validator.runners.select import select_runner

    selection = select_runner(
        args.runner or os.environ.get("RUNNER"), variant="cpu" if gpu is None else "cuda"
    )
    return selection.runner, selection.unsandboxed_reason


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
    from validator.signing import load_private_key, sign_report, write_envelope

    key = load_private_key(args.key)
    if args.out:
        write_envelope(sign_report(report, key), args.out)
        state = "signed" if key is not None else "unsigned"
        console.print(f"report ({state}) written to {args.out}")


def run(args: argparse.Namespace) -> int:
    zip_path = Path(args.zip)
    if not zip_path.is_file():
        raise InputError(f"{zip_path} does not exist or is not a file")
    console = Console(stderr=args.format == "json")
    device, gpu = _device(args.device)
    ruleset = load_ruleset(args.ruleset or DEFAULT_RULESET)
    options = _options(args, gpu, legacy_flops=ruleset.flops_counter == "legacy")
    data_dir = Path(args.data_dir) if args.data_dir else SMOKE_DIR
    try:
        dataset = discover(data_dir)
    except DataError as exc:
        raise InputError(f"--data-dir {data_dir}: {exc}") from None
    runner, unsandboxed = _runner(args, gpu)
    calibration = None
    if args.calibrate:
        console.print(f"calibrating: timing the {ruleset.baseline.name} baseline on this device")
        calibration = calibrate_on(ruleset, dataset, device=device, runs=args.runs)
    setup = Setup(
        dataset=dataset,
        smoke=data_dir == SMOKE_DIR,
        ruleset=ruleset,
        runner=runner,
        unsandboxed_reason=unsandboxed,
        options=options,
        calibration=calibration,
    )
    show = not args.no_progress and args.format == "text" and console.is_terminal
    report = _run_with_progress(zip_path, setup, show, console)
    if args.format == "json":
        sys.stdout.write(dump_json(report.model_dump(mode="json")) + "\n")
    else:
        print_report(console, report)
    _write(report, args, console)
    return EXIT_OK if report.ok else EXIT_FINDINGS
