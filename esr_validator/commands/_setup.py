"""The evaluation options shared by ``validate``, ``batch`` and ``pr``, resolved once.

Each command declares the same flags (``esr_validator.cli._add_evaluation_args``) and turns them
into one ``Setup`` (dataset, ruleset, runner, options) with :func:`build_setup`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from esr_validator.data import RTSR_SCALES, DataError, Dataset, discover, discover_scales
from esr_validator.errors import InputError, UsageError
from esr_validator.evaluate import SMOKE_DIR, EvalOptions, SyntheticOptions
from esr_validator.pipeline import Setup
from esr_validator.ruleset import DEFAULT_RULESET, load_ruleset
from esr_validator.runners.base import Runner
from esr_validator.schemas.ruleset import Ruleset, Timing
from esr_validator.schemas.scoring import Calibration
from esr_validator.schemas.worker import MAX_PASSES


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


def synthetic_options(args: argparse.Namespace, timing: Timing) -> SyntheticOptions | None:
    """The ruleset's synthetic protocol; ``--synthetic-warmup/-passes`` shorten it (tests,
    CPU runs), and the report then says it did not run as published."""
    if timing.input != "synthetic":
        return None
    assert timing.output_size is not None and timing.timed_passes is not None  # schema
    if timing.precision == "int8":
        raise UsageError("the synthetic protocol cannot time int8")
    warmup = timing.warmup if args.synthetic_warmup is None else args.synthetic_warmup
    passes = timing.timed_passes if args.synthetic_passes is None else args.synthetic_passes
    if not 0 <= warmup <= MAX_PASSES or not 1 <= passes <= MAX_PASSES:
        raise UsageError(
            f"--synthetic-warmup must be 0-{MAX_PASSES}, --synthetic-passes 1-{MAX_PASSES}"
        )
    return SyntheticOptions(
        output_size=timing.output_size,
        warmup=warmup,
        passes=passes,
        precision=timing.precision,
        cudnn_benchmark=timing.cudnn_benchmark,
        no_grad=timing.no_grad,
    )


def eval_options(args: argparse.Namespace, gpu: int | None, ruleset: Ruleset) -> EvalOptions:
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
        legacy_flops=ruleset.flops_counter == "legacy",
        synthetic=synthetic_options(args, ruleset.timing),
        border=ruleset.psnr.border,
        psnr_y=ruleset.psnr.y_channel,
    )


def select(
    args: argparse.Namespace, gpu: int | None, *, default: str | None = None
) -> tuple[Runner, str | None]:
    """``--runner``, else ``RUNNER`` (the Makefile's knob), else ``default``, else auto."""
    from esr_validator.runners.select import select_runner

    preference = args.runner or os.environ.get("RUNNER") or default
    selection = select_runner(preference, variant="cpu" if gpu is None else "cuda")
    return selection.runner, selection.unsandboxed_reason


def smoke_dir(scale: int) -> Path:
    """The embedded smoke set of ``scale``: the ESR layout, or ``rtsr/x<scale>``."""
    return SMOKE_DIR / "rtsr" / f"x{scale}" if scale in RTSR_SCALES else SMOKE_DIR


def load_dataset(data_dir: str | None, *, scale: int) -> tuple[Dataset, bool]:
    root = Path(data_dir).resolve() if data_dir else smoke_dir(scale)
    try:
        return discover(root, scale=scale), data_dir is None
    except DataError as exc:
        raise InputError(f"--data-dir {root}: {exc}") from None


def load_datasets(data_dir: str | None, *, scales: list[int]) -> tuple[dict[int, Dataset], bool]:
    """One dataset per scale the data holds (see :func:`esr_validator.data.discover_scales`)."""
    if len(scales) == 1 or data_dir is None:
        loaded = {s: load_dataset(data_dir, scale=s)[0] for s in scales}
        return loaded, data_dir is None
    root = Path(data_dir).resolve()
    try:
        return discover_scales(root, scales=scales), False
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
    options = eval_options(args, gpu, ruleset)
    datasets, smoke = load_datasets(args.data_dir, scales=ruleset.scales)
    runner, unsandboxed = select(args, gpu, default=runner_default)
    return Setup(
        dataset=next(iter(datasets.values())),
        datasets=datasets if len(ruleset.scales) > 1 else {},
        smoke=smoke,
        ruleset=ruleset,
        runner=runner,
        unsandboxed_reason=unsandboxed,
        options=options,
        calibration=calibration,
    )
