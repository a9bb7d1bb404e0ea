#!/usr/bin/env python3
"""Train the sample submission's TinyESR on CPU in a few minutes, reproducibly.

Training data: scikit-image photographs that are NOT in the smoke set, so the smoke-set
PSNR is a held-out figure. LR images are made the way the challenge made them: HR
mod-cropped to 4, then MATLAB-compatible bicubic x1/4 (esr_validator.metrics.imresize).

Everything random is seeded and the thread count is fixed, so the same command on the
same torch build writes the same weights. Output: a plain state dict of float32 tensors,
data_range 1.0, at sample_submission/model_zoo/team01_TinyESR.pth.

Usage: python scripts/train_sample.py [--steps N] [--threads N] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import random
import sys
import time
from functools import partial
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt
import skimage
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from esr_validator.data import discover  # noqa: E402
from esr_validator.metrics.convert import mod_crop, read_image  # noqa: E402
from esr_validator.metrics.imresize import downscale, upscale  # noqa: E402
from esr_validator.metrics.psnr import psnr  # noqa: E402
from esr_validator.sandbox.convert import from_tensor, to_tensor  # noqa: E402

MODEL_FILE = ROOT / "sample_submission" / "models" / "team01_TinyESR.py"
DEFAULT_OUT = ROOT / "sample_submission" / "model_zoo" / "team01_TinyESR.pth"
SMOKE = ROOT / "esr_validator" / "data" / "smoke"
SKIMAGE_DATA = Path(skimage.__file__).parent / "data"
# Disjoint from the smoke set (astronaut, coffee, camera, chelsea, rocket, ihc).
TRAIN_IMAGES = (
    "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "hubble_deep_field.jpg",
    "coins.png", "moon.png", "brick.png", "grass.png", "gravel.png", "page.png",
    "text.png", "color.png", "cell.png",
)  # fmt: skip
SCALE = 4
DATA_RANGE = 1.0

Pair = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]


def load_model_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("team01_TinyESR", MODEL_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def training_pairs() -> list[Pair]:
    """(LR, HR) uint8 RGB pairs, LR made with the challenge's bicubic degradation."""
    pairs = []
    for name in TRAIN_IMAGES:
        hr = np.ascontiguousarray(mod_crop(read_image(SKIMAGE_DATA / name), SCALE))
        lr = np.asarray(downscale(hr, SCALE), dtype=np.uint8)
        pairs.append((lr, hr))
    return pairs


def sample_batch(
    pairs: list[Pair], rng: np.random.Generator, *, batch: int, patch: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random aligned LR/HR patches with flips and transposes, in [0, 1] NCHW."""
    weights = np.array([lr.shape[0] * lr.shape[1] for lr, _ in pairs], dtype=np.float64)
    picks = rng.choice(len(pairs), size=batch, p=weights / weights.sum())
    lrs: list[npt.NDArray[np.uint8]] = []
    hrs: list[npt.NDArray[np.uint8]] = []
    for i in picks:
        lr, hr = pairs[i]
        y = int(rng.integers(0, lr.shape[0] - patch + 1))
        x = int(rng.integers(0, lr.shape[1] - patch + 1))
        lp = lr[y : y + patch, x : x + patch]
        hp = hr[y * SCALE : (y + patch) * SCALE, x * SCALE : (x + patch) * SCALE]
        flip_v, flip_h, transpose = rng.integers(0, 2, size=3)
        for arr_list, arr in ((lrs, lp), (hrs, hp)):
            a = arr[::-1] if flip_v else arr
            a = a[:, ::-1] if flip_h else a
            a = a.transpose(1, 0, 2) if transpose else a
            arr_list.append(np.ascontiguousarray(a))
    return _to_batch(lrs), _to_batch(hrs)


def _to_batch(patches: list[npt.NDArray[np.uint8]]) -> torch.Tensor:
    return torch.from_numpy(np.stack(patches)).permute(0, 3, 1, 2).float() / 255.0


def _cosine(step: int, *, steps: int) -> float:
    """Cosine decay from 1 to 0.005 of the initial learning rate."""
    return 0.5 * (1 + math.cos(math.pi * step / steps)) * 0.995 + 0.005


def train(model: nn.Module, pairs: list[Pair], *, steps: int, seed: int, log: bool) -> None:
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, partial(_cosine, steps=steps))
    model.train()
    start = time.monotonic()
    for step in range(steps):
        lr, hr = sample_batch(pairs, rng, batch=16, patch=32)
        loss = F.l1_loss(model(lr), hr)
        opt.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        opt.step()
        sched.step()
        if log and (step % 250 == 0 or step == steps - 1):
            elapsed = time.monotonic() - start
            print(f"step {step:5d}  l1 {loss.item():.4f}  {elapsed:6.1f}s", flush=True)


def smoke_psnr(model: nn.Module, data_dir: Path = SMOKE) -> tuple[float, float]:
    """Mean PSNR (border 4) of the model and of bicubic upscaling over all smoke images."""
    model.eval()
    ours, bicubic = [], []
    for split in discover(data_dir).splits:
        for pair in split.pairs:
            lr, hr = read_image(pair.lr), mod_crop(read_image(pair.hr), SCALE)
            with torch.no_grad():
                sr = from_tensor(model(to_tensor(lr, DATA_RANGE)), DATA_RANGE)
            ours.append(psnr(sr, hr))
            bicubic.append(psnr(np.asarray(upscale(lr, SCALE), dtype=np.uint8), hr))
    return float(np.mean(ours)), float(np.mean(bicubic))


def seed_everything(seed: int, threads: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2, help="fixed for reproducibility")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    seed_everything(args.seed, args.threads)
    model = load_model_module().TinyESR(num_feat=24, num_blocks=4)
    train(model, training_pairs(), steps=args.steps, seed=args.seed, log=True)
    state = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)
    ours, bicubic = smoke_psnr(model)
    print(f"smoke-set PSNR: TinyESR {ours:.3f} dB, bicubic {bicubic:.3f} dB -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
