"""One official run as the organizers run it, in its own process (see bench_evaluate.py).

Import torch and the model file, load the checkpoint, then per image of valid then test:
decode LR and HR, forward (timed), convert, PSNR. Exit. Started once per run.

    python benchmarks/_official_run.py <model.py> <class> <checkpoint> <data_root> <data_range>
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import torch

from esr_validator.data import discover
from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.psnr import psnr
from esr_validator.sandbox.convert import from_tensor, to_tensor


def main(model_file: str, class_name: str, checkpoint: str, root: str, data_range: str) -> int:
    torch.set_num_threads(2)
    spec = importlib.util.spec_from_file_location("entry", model_file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, class_name)()
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval().requires_grad_(False)
    dr = float(data_range)
    times = []
    for split in discover(Path(root)).splits:
        for pair in sorted(split.pairs, key=lambda p: p.lr.name):
            lr = to_tensor(read_image(pair.lr), dr)
            hr = mod_crop(read_image(pair.hr), 4)
            t0 = time.perf_counter()
            y = model(lr)
            times.append(time.perf_counter() - t0)
            psnr(from_tensor(y, dr), hr, border=4)
    print(f"{sum(times):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:6]))
