"""``esr-validator validate ZIP``: intake, sandboxed evaluation, scoring and the report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from schemas.report import Report, RunnerInfo, RunOptions
from validator.data import DataError, discover
from validator.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError
from validator.evaluate import SMOKE_DIR, EvalOptions, Evaluation, dataset_info
from validator.intake.check import run_intake
from validator.render import dump_json, print_report
from validator.report import RunContext, build_report, now


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


def _options(args: argparse.Namespace, gpu: int | None) -> EvalOptions:
    if not 1 <= args.runs <= 50:
        raise UsageError("--runs must be between 1 and 50")
    return EvalOptions(
        runs=args.runs,
        stable_runs=args.runs,
        warmup=args.warmup,
        gpu=gpu,
        cudnn_benchmark=args.cudnn_benchmark,
        timeout_s=args.timeout,
        ssim=args.ssim,
    )


def _runner(args: argparse.Namespace, console: Console):  # type: ignore[no-untyped-def]
    choice = args.runner or os.environ.get("RUNNER") or "auto"
    try:
        from validator.runners.select import select_runner
    except ImportError:  # the container runner is optional
        from validator.runners.local import LocalRunner

        return LocalRunner(), "the docker runner is not installed"
    return select_runner(choice)


def _evaluate_with_progress(evaluation: Evaluation, show: bool, console: Console):  # type: ignore[no-untyped-def]
    if not show:
        return evaluation.run()
    columns = (TextColumn("evaluating"), BarColumn(), TextColumn("{task.completed}/{task.total} forwards"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("eval", total=None)
        return evaluation.run(lambda done, total: bar.update(task, completed=done, total=total))


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
    options = _options(args, gpu)
    data_dir = Path(args.data_dir) if args.data_dir else SMOKE_DIR
    try:
        dataset = discover(data_dir)
    except DataError as exc:
        raise InputError(f"--data-dir {data_dir}: {exc}") from None
    started = now()
    runner, not_sandboxed = _runner(args, console)
    with run_intake(zip_path) as intake:
        ctx = RunContext(
            started_at=started,
            dataset=dataset_info(dataset, smoke=data_dir == SMOKE_DIR),
            runner=RunnerInfo(kind=runner.kind, sandboxed=runner.sandboxed, **runner.describe()),
            options=RunOptions(
                runs=options.runs, stable_runs=options.stable_runs, warmup=options.warmup,
                device=device if gpu is None else f"cuda:{gpu}",
                cudnn_benchmark=options.cudnn_benchmark, timeout_s=options.timeout_s,
            ),
        )
        evaluated = None
        if intake.runnable:
            if not_sandboxed:
                from validator.codes import finding

                intake.findings.append(finding("not-sandboxed", f"local runner: {not_sandboxed}"))
            evaluation = Evaluation(intake, dataset, runner=runner, options=options)
            show = not args.no_progress and args.format == "text" and console.is_terminal
            evaluated = _evaluate_with_progress(evaluation, show, console)
        report = build_report(intake, ctx, evaluated)
    if args.format == "json":
        sys.stdout.write(dump_json(report.model_dump(mode="json")) + "\n")
    else:
        print_report(console, report)
    _write(report, args, console)
    return EXIT_OK if report.ok else EXIT_FINDINGS
