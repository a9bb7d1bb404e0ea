"""Evaluation overhead, measured side by side in one run on the same data and model.

(a) the validator's whole evaluation (``validate_zip``: worker process, decode once, both
    timing protocols, complexity, scoring, report);
(b) a faithful sequential loop in the official style: per image decode LR and HR, forward,
    convert, PSNR; 5 runs;
(c) the model's pure forward time, pre-decoded inputs: for the forwards the validator runs
    (c_all: official + stable runs + warm-up) and for the official loop's forwards only (c_off).

The model is the 2024 baseline RLFN (random weights: speed does not depend on them).

    .venv/bin/python benchmarks/bench_evaluate.py [--images 4] [--lr-size 128] [--runs 5]
"""

from __future__ import annotations

import argparse
import inspect
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import torch
from skimage import data as skdata

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.subs
from esr_validator.baselines import rlfn
from esr_validator.data import discover
from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.imresize import downscale
from esr_validator.metrics.psnr import psnr
from esr_validator.pipeline import prepare, validate_zip
from esr_validator.runners.local import LocalRunner
from esr_validator.sandbox.convert import from_tensor, to_tensor
from esr_validator.settings import resolve
from tests import subs

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
    members = subs.good_members(model_name="RLFN", class_name="RLFNPrune", kwargs={}, team_id=0)
    members = {k.replace("team16_TinySR", "team00_RLFN"): v for k, v in members.items()}
    members["models/team00_RLFN.py"] = inspect.getsource(rlfn).encode()
    members["model_zoo/team00_RLFN.pth"] = subs.checkpoint_bytes(state)
    return subs.write_zip(path, members)


def official_loop(model: torch.nn.Module, root: Path, runs: int) -> float:
    """Decode, forward, convert and score image by image, as the organizers' script does."""
    dataset = discover(root)
    t0 = time.perf_counter()
    for _ in range(runs):
        for split in dataset.splits:
            for pair in split.pairs:
                lr = to_tensor(read_image(pair.lr), 1.0)
                hr = mod_crop(read_image(pair.hr), 4)
                sr = from_tensor(model(lr), 1.0)
                psnr(sr, hr, border=4)
    return time.perf_counter() - t0


def pure_forward(model: torch.nn.Module, root: Path, passes: int) -> float:
    dataset = discover(root)
    inputs = [to_tensor(read_image(p.lr), 1.0) for s in dataset.splits for p in s.pairs]
    t0 = time.perf_counter()
    for i in range(passes):
        model(inputs[i % len(inputs)])
    return time.perf_counter() - t0


def _round(
    args: argparse.Namespace, root: Path, zip_path: Path, stable_runs: int
) -> dict[str, float]:
    cli = {"runs": args.runs, "stable_runs": stable_runs, "warmup": 3, "data_dir": root}
    settings = replace(resolve(cli, gpu=None), threads=2)
    setup = prepare(settings, runner=LocalRunner())
    t0 = time.perf_counter()
    report = validate_zip(zip_path, setup)
    a = time.perf_counter() - t0
    assert report.status == "evaluated", report.findings
    model = rlfn.RLFNPrune().eval().requires_grad_(False)
    n = 2 * args.images
    return {
        "a": a,
        "b": official_loop(model, root, args.runs),
        "c_all": pure_forward(model, root, n * (args.runs + stable_runs) + min(3, n)),
        "c_off": pure_forward(model, root, n * args.runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=4, help="per split")
    parser.add_argument("--lr-size", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--stable-runs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    args = parser.parse_args()
    stable_runs = args.runs if args.stable_runs is None else args.stable_runs
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        root = make_dataset(Path(tmp) / "data", images=args.images, lr_size=args.lr_size)
        zip_path = make_submission(Path(tmp) / "team00.zip")
        rounds = [_round(args, root, zip_path, stable_runs) for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    n = 2 * args.images
    print(
        f"data: 2 splits x {args.images} images, LR {args.lr_size}x{args.lr_size}; model RLFN; "
        f"medians of {args.rounds} interleaved rounds"
    )
    print(
        f"(a) validator evaluation wall: {med['a']:.2f} s  "
        f"({args.runs} official + {stable_runs} stable runs)"
    )
    print(f"(b) official-style loop, {args.runs} runs: {med['b']:.2f} s")
    print(
        f"(c_all) pure forwards, the validator's {n * (args.runs + stable_runs) + min(3, n)}: "
        f"{med['c_all']:.2f} s"
    )
    print(f"(c_off) pure forwards, the official loop's {n * args.runs}: {med['c_off']:.2f} s")
    print(
        f"(a)/(c_all) = {med['a'] / med['c_all']:.3f}   (a)/(b) = {med['a'] / med['b']:.3f}   "
        f"(b)/(c_off) = {med['b'] / med['c_off']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
