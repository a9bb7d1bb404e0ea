"""``validate`` against the official protocol as the organizers run it, interleaved.

(a) ``validate_zip`` on the local runner: intake, a complexity process (with the null-model
    passes that calibrate the channel), 5 official runs each in a fresh sandbox process fed
    one image at a time, scoring, report;
(c) with ``--exec``: (a) with a fresh interpreter per run instead of the fork server;
(b) the official protocol: 5 runs, each a fresh ``python`` process
    (``benchmarks/_official_run.py``) that imports torch and the model file, loads the
    checkpoint, then per image of valid then test decodes LR and HR, runs the forward,
    converts and computes PSNR, and exits.

Same entry (the 2024 baseline RLFN, random weights, packed as a submission) and data
(2 splits x 4 LR images of 256x256 by default), 2 threads on both sides.

    .venv/bin/python benchmarks/bench_evaluate.py [--images 4] [--lr-size 256] [--runs 5] [--exec]
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import cv2
import torch
from skimage import data as skdata

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.subs
from esr_validator.metrics.imresize import downscale  # noqa: E402
from esr_validator.pipeline import prepare, validate_zip  # noqa: E402
from esr_validator.runners.local import LocalRunner  # noqa: E402
from esr_validator.sandbox.baselines import rlfn  # noqa: E402
from esr_validator.settings import resolve  # noqa: E402
from tests import subs  # noqa: E402

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina")


def make_dataset(root: Path, *, images: int, lr_size: int) -> Path:
    hr_size = lr_size * 4
    for split_i, split in enumerate(("valid", "test")):
        hr_dir, lr_dir = root / f"DIV2K_LSDIR_{split}_HR", root / f"DIV2K_LSDIR_{split}_LR"
        hr_dir.mkdir(parents=True)
        lr_dir.mkdir(parents=True)
        for i in range(images):
            photo = getattr(skdata, PHOTOS[(i + split_i * images) % len(PHOTOS)])()
            photo = cv2.resize(photo, (hr_size, hr_size), interpolation=cv2.INTER_AREA)
            stem = f"{split_i * 100 + i + 1:07d}"
            cv2.imwrite(str(hr_dir / f"{stem}.png"), photo[:, :, ::-1])
            cv2.imwrite(str(lr_dir / f"{stem}x4.png"), downscale(photo, 4)[:, :, ::-1])
    return root


def make_submission(path: Path) -> Path:
    torch.manual_seed(0)
    state = rlfn.RLFNPrune().state_dict()
    members = subs.good_members(
        model_name="RLFN", class_name="RLFNPrune", kwargs={}, team_id=0, data_range=255.0
    )
    members = {k.replace("team16_TinySR", "team00_RLFN"): v for k, v in members.items()}
    members["models/team00_RLFN.py"] = inspect.getsource(rlfn).encode()
    members["model_zoo/team00_RLFN.pth"] = subs.checkpoint_bytes(state)
    return subs.write_zip(path, members)


def official_protocol(zip_path: Path, root: Path, runs: int, work: Path) -> float:
    """``runs`` fresh processes, one after the other, each one official run."""
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(work)
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "_official_run.py"),
        str(work / "models" / "team00_RLFN.py"),
        "RLFNPrune",
        str(work / "model_zoo" / "team00_RLFN.pth"),
        str(root),
        "255.0",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    t0 = time.perf_counter()
    for _ in range(runs):
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def validate(
    args: argparse.Namespace, root: Path, zip_path: Path, *, fork: bool = True
) -> dict[str, float]:
    cli = {"runs": args.runs, "stable_runs": args.runs, "warmup": 3, "data_dir": root}
    settings = replace(resolve(cli, gpu=None), threads=2)
    runner = LocalRunner(fork=fork)
    setup = prepare(settings, runner=runner)
    try:
        t0 = time.perf_counter()
        report = validate_zip(zip_path, setup)
        wall = time.perf_counter() - t0
    finally:
        runner.close()
    assert report.status == "evaluated", report.findings
    key = "a" if fork else "c"
    # 1 when the runs spread beyond the clock and a confirmation round followed them.
    confirmed = float(report.stable is not None and report.stable.confirm_cv is not None)
    return {
        key: wall,
        f"{key}_runs": sum(r.wall_s for r in report.runs),
        f"{key}_confirmed": confirmed,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=4, help="per split")
    parser.add_argument("--lr-size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument(
        "--exec", action="store_true", help="also (c): validate with a fresh interpreter per run"
    )
    args = parser.parse_args()
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        root = make_dataset(Path(tmp) / "data", images=args.images, lr_size=args.lr_size)
        zip_path = make_submission(Path(tmp) / "team00.zip")
        for k in range(args.rounds):
            found = validate(args, root, zip_path)
            found["b"] = official_protocol(zip_path, root, args.runs, Path(tmp) / f"off{k}")
            if args.exec:
                found |= validate(args, root, zip_path, fork=False)
            rounds.append(found)
            print(
                f"round {k}: "
                + ", ".join(
                    f"{n[:-10]} confirmation round {'yes' if v else 'no'}"
                    if n.endswith("_confirmed")
                    else f"{n} {v:.2f} s"
                    for n, v in found.items()
                )
            )
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print(
        f"data: 2 splits x {args.images} LR images of {args.lr_size}x{args.lr_size}; RLFN; "
        f"{args.runs} runs; medians of {args.rounds} interleaved rounds"
    )
    print(f"(a) validate: {med['a']:.2f} s (of which in the run processes: {med['a_runs']:.2f} s)")
    print(f"(b) official protocol, a fresh process per run: {med['b']:.2f} s")
    print(f"(a)/(b) = {med['a'] / med['b']:.3f}")
    if args.exec:
        print(f"(c) validate, a fresh interpreter per run (no fork server): {med['c']:.2f} s")
        print(f"(c)/(b) = {med['c'] / med['b']:.3f}, (a)/(c) = {med['a'] / med['c']:.3f}")
    ratios = [r["a"] / r["b"] for r in rounds]
    print("(a)/(b) by round: " + ", ".join(f"{x:.3f}" for x in ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
