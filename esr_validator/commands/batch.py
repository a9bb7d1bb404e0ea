"""``esr-validator batch DIR --out OUT``: every submission of a folder, resumable, ranked.

The dataset is discovered once and the Setup shared by every job; each job is one
``validate_zip``. See ``docs/batch.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from esr_validator import reporters
from esr_validator.batch.display import Display
from esr_validator.batch.driver import BatchResult, run_batch
from esr_validator.batch.events import Executor
from esr_validator.batch.keys import RunIdentity
from esr_validator.batch.state import OutDir
from esr_validator.errors import EXIT_ENVIRONMENT, EXIT_FINDINGS, EXIT_OK, UsageError
from esr_validator.pipeline import Setup, guard_key, prepare
from esr_validator.schemas.findings import fails
from esr_validator.settings import ray_address, resolve


def _gpu_list(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--gpus {text}: expected GPU indices such as 0,1,3") from None


def _local_slots(args: argparse.Namespace) -> list[int | None]:
    """The devices the local executor times on: GPUs, or the CPU alone."""
    from esr_validator.batch.local import visible_gpus

    if args.device == "cpu":
        return [None]
    visible = visible_gpus()
    chosen = _gpu_list(args.gpus)
    gpus = visible if chosen is None else chosen
    unknown = sorted(set(gpus) - set(visible))
    if unknown:
        raise UsageError(f"--gpus: no visible GPU {unknown[0]} (visible: {visible or 'none'})")
    if not gpus and args.device == "cuda":
        raise UsageError("--device cuda, but no GPU is visible")
    return list(gpus) or [None]


def _ray_uses_cuda(args: argparse.Namespace) -> bool:
    from esr_validator.batch.raycluster import connect, probe_cuda

    address = ray_address(args.ray_address)
    connect(address=address, num_gpus=args.ray_num_gpus, num_cpus=args.ray_num_cpus)
    if args.device in ("cpu", "cuda"):
        return bool(args.device == "cuda")
    return probe_cuda()


def _executor(args: argparse.Namespace) -> tuple[Setup, Executor]:
    if args.executor == "ray":
        from esr_validator.batch.raycluster import RayExecutor
        from esr_validator.batch.remote import NodeSpec

        gpu = 0 if _ray_uses_cuda(args) else None
        setup = prepare(resolve(vars(args), command="batch", gpu=gpu))
        return setup, RayExecutor(NodeSpec.of(setup))
    from esr_validator.batch.local import LocalExecutor

    slots = _local_slots(args)
    setup = prepare(resolve(vars(args), command="batch", gpu=slots[0]))
    return setup, LocalExecutor(setup, gpus=slots)


def _sweep_leftovers(console: Console) -> None:
    """What earlier runs killed with -9 left (only resources whose owner is gone)."""
    from esr_validator.leftovers import sweep

    swept = sweep()
    if swept.count:
        console.print(f"removed {swept.count} leftover(s) of runs that ended without cleaning up")


def execute(args: argparse.Namespace, console: Console) -> tuple[BatchResult, Setup]:
    from esr_validator.signing import load_private_key

    key_pair = load_private_key(args.key)  # before any work: a bad key fails at once
    _sweep_leftovers(console)
    setup, executor = _executor(args)
    guard_key(setup, signing=key_pair is not None)
    identity = RunIdentity.of(setup)
    live = not args.no_progress and console.is_terminal
    result = run_batch(
        Path(args.dir),
        OutDir(Path(args.out)),
        identity=identity,
        ruleset=setup.ruleset,
        executor=executor,
        key_pair=key_pair,
        display=Display(console, live=live),
    )
    return result, setup


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=args.format != "text")
    if args.executor == "local" and (args.ray_address or args.ray_num_gpus is not None):
        raise UsageError("--ray-address and --ray-num-gpus need --executor ray")
    result, setup = execute(args, console)
    reporters.get(args.format)().batch(reporters.BatchResult(result.outcomes, Path(args.out)))
    if result.undone:
        console.print(f"{result.undone} submission(s) undone: rerun the same command to retry")
        return EXIT_ENVIRONMENT
    fail_on = setup.settings.fail_on  # default "never": a batch passes when every entry ran
    failing = [n for n, r in result.reports.items() if fails(r.findings, fail_on=fail_on)]
    if failing:
        names = ", ".join(sorted(failing)[:3]) + (", ..." if len(failing) > 3 else "")
        console.print(f"{len(failing)} submission(s) fail --fail-on {fail_on}: {names}")
        return EXIT_FINDINGS
    return EXIT_OK
