"""The evaluation options shared by ``validate``, ``batch`` and ``pr``, resolved once.

Each command declares the same flags (``validator.cli._add_evaluation_args``) and turns them
into one ``Setup`` (dataset, ruleset, runner, options) with :func:`build_setup`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from schemas.scoring import Calibration
from validator.data import DataError, Dataset, discover
from validator.errors import InputError, UsageError
from validator.evaluate import SMOKE_DIR, EvalOptions
from validator.pipeline import Setup
from validator.ruleset import DEFAULT_RULESET, load_ruleset
from validator.runners.base import Runner


def parse_device(arg: str) -> tuple[str, int | None]:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` → (kind, GPU index or None)."""
    if arg == "auto":
        import torch

        return ("cuda", 0) if torch.cuda.is_available() else ("cpu", None)
    if arg == "cpu":
        return "cpu", None
    name, _, index = arg.partition(":")
    if name != "cuda" or (index and not index.isdigit()):
        raise UsageError(f"--device {arg}: expected auto, cpu, cuda or cuda:N")
    return "cuda", int(index or 0)


def eval_options(args: argparse.Namespace, gpu: int | None, *, legacy_flops: bool) -> EvalOptions:
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


def select(
    args: argparse.Namespace, gpu: int | None, *, default: str | None = None
) -> tuple[Runner, str | None]:
    """``--runner``, else ``RUNNER`` (the Makefile's knob), else ``default``, else auto."""
    from validator.runners.select import select_runner

    preference = args.runner or os.environ.get("RUNNER") or default
    selection = select_runner(preference, variant="cpu" if gpu is None else "cuda")
    return selection.runner, selection.unsandboxed_reason


def load_dataset(data_dir: str | None, *, scale: int) -> tuple[Dataset, bool]:
    root = Path(data_dir).resolve() if data_dir else SMOKE_DIR
    try:
        return discover(root, scale=scale), root == SMOKE_DIR
    except DataError as exc:
        raise InputError(f"--data-dir {root}: {exc}") from None


def build_setup(
    args: argparse.Namespace,
    gpu: int | None,
    *,
    runner_default: str | None = None,
    calibration: Calibration | None = None,
) -> Setup:
    ruleset = load_ruleset(args.ruleset or DEFAULT_RULESET)
    options = eval_options(args, gpu, legacy_flops=ruleset.flops_counter == "legacy")
    dataset, smoke = load_dataset(args.data_dir, scale=ruleset.scales[0])
    runner, unsandboxed = select(args, gpu, default=runner_default)
    return Setup(
        dataset=dataset,
        smoke=smoke,
        ruleset=ruleset,
        runner=runner,
        unsandboxed_reason=unsandboxed,
        options=options,
        calibration=calibration,
    )
