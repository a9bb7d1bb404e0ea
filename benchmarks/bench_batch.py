"""Batch wall time for small submissions, local executor against Ray, in one run.

For each executor: the batch's wall time, the sum of the jobs' own wall times (one
``validate_zip`` each: intake, worker process, scoring, report), and the difference per
submission, which is what the batch adds (hashing, keying, signing, writing the report and
marker, the display, Ray's scheduling and transfers). Then the rerun, where every key is
already done. Ray's start-up is timed apart.

    .venv/bin/python benchmarks/bench_batch.py [--count 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.batch_support
from esr_validator.batch.driver import BatchResult
from esr_validator.cli import build_parser
from esr_validator.commands.batch import execute
from esr_validator.signing import write_keypair
from tests import batch_support as bs


def _batch(argv: list[str]) -> BatchResult:
    args = build_parser().parse_args(argv)
    return execute(args, Console(file=io.StringIO()))


def _row(label: str, result: BatchResult, count: int, *, overlap: bool = False) -> str:
    jobs = sum(result.worker_s.values())
    over = (result.wall_s - jobs) / max(1, len(result.worker_s))
    # With jobs running side by side the difference says nothing about overhead.
    shown = "– (jobs overlap)" if overlap else f"{over * 1000:.0f}"
    return (
        f"| {label} | {result.wall_s:.1f} | {jobs:.1f} | {shown} | "
        f"{len(result.worker_s)}/{count} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--skip-ray", action="store_true")
    opts = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    subs = bs.write_folder(base / "subs", bs.good_zoo(opts.count))
    key = base / "org.key"
    write_keypair(key)
    common = ["--runs", str(opts.runs), "--warmup", "0", "--runner", "local", "--key", str(key)]
    common += ["--no-progress"]
    print(f"{opts.count} submissions (TinySR, 4-22 channels), smoke data, --runs {opts.runs}")
    print("| executor | batch wall s | sum of job walls s | overhead ms/submission | done |")
    print("| --- | ---: | ---: | ---: | ---: |")
    local = _batch(["batch", str(subs), "--out", str(base / "local"), *common])
    print(_row("local (CPU, one job at a time)", local, opts.count))
    rerun = _batch(["batch", str(subs), "--out", str(base / "local"), *common])
    print(f"| local, rerun (all done) | {rerun.wall_s:.2f} | 0 | – | 0/{opts.count} |")
    if opts.skip_ray:
        return
    from esr_validator.batch.raycluster import connect

    t0 = time.perf_counter()
    connect(address=None, num_gpus=None, num_cpus=2)
    started = time.perf_counter() - t0
    ray_args = ["--executor", "ray", *common]
    result = _batch(["batch", str(subs), "--out", str(base / "ray"), *ray_args])
    print(_row("ray, local instance, no GPU (one job at a time)", result, opts.count))
    import ray

    ray.shutdown()
    connect(address=None, num_gpus=2, num_cpus=2)
    result = _batch(["batch", str(subs), "--out", str(base / "ray2"), *ray_args])
    print(_row("ray, 2 logical GPUs (two jobs at once)", result, opts.count, overlap=True))
    ray.shutdown()
    print(f"\nRay start-up (ray.init, local instance): {started:.1f} s")


if __name__ == "__main__":
    main()
