"""Fidelity, on the trusted side: PSNR (and optional SSIM/Y-PSNR) of the worker's SR against HR.

``border`` and ``y_channel`` come from the ruleset: ESR crops 4 pixels and reports no Y;
the 2023 real-time challenge crops none and reports Y with its script's swapped weights.

It runs after all timing is done, with the images spread over threads, and treats every SR
file as untrusted: ``allow_pickle=False``, exact dtype and shape required.
Run it as ``python -m esr_validator.fidelity REQUEST.json`` (the docker runner does) or call
:func:`measure_fidelity` in-process.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.imresize import upscale
from esr_validator.metrics.psnr import psnr, psnr_y_convention, ssim
from esr_validator.schemas.fidelity import ImageScore, ScoreItem, ScoreOutput, ScoreRequest

MAX_SR_BYTES = 512 << 20


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _load_sr(path: Path, expected: tuple[int, ...]) -> np.ndarray | str:
    if not path.is_file() or path.is_symlink():
        return "no SR output was written"
    if path.stat().st_size > MAX_SR_BYTES:
        return "SR output file is too large"
    try:
        sr: np.ndarray = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        return f"SR output unreadable: {exc}"
    if sr.dtype != np.uint8 or sr.shape != expected:
        return f"SR output is {sr.dtype}{list(sr.shape)}, expected uint8{list(expected)}"
    return sr


def _score_one(req: ScoreRequest, item: ScoreItem) -> ImageScore:
    hr = mod_crop(read_image(Path(req.hr_dir) / item.hr_file), req.scale)
    base = ImageScore(split=item.split, stem=item.stem, psnr=None)
    bicubic = None
    if req.bicubic:
        lr = read_image(Path(req.lr_dir) / item.lr_file)
        up: np.ndarray = upscale(lr, req.scale)[: hr.shape[0], : hr.shape[1]]
        if up.shape == hr.shape:
            bicubic = _finite(psnr(up, hr, border=req.border))
    base = base.model_copy(update={"bicubic_psnr": bicubic})
    if item.sr_file is None:
        return base.model_copy(update={"problem": "no SR output was written"})
    sr = _load_sr(Path(req.sr_dir) / item.sr_file, hr.shape)
    if isinstance(sr, str):
        return base.model_copy(update={"problem": sr})
    value = psnr(sr, hr, border=req.border)
    update: dict[str, object] = {
        "psnr": _finite(value),
        "identical": math.isinf(value),
        "constant": bool(sr.min() == sr.max()),
    }
    y_channel = "bt601" if req.y_channel == "off" and req.ssim else req.y_channel
    if y_channel != "off":
        update["psnr_y"] = _finite(
            psnr_y_convention(sr, hr, convention=y_channel, border=req.border)
        )
    if req.ssim:
        update["ssim"] = ssim(sr, hr, border=req.border)
    return base.model_copy(update=update)


def measure_fidelity(req: ScoreRequest, *, workers: int | None = None) -> ScoreOutput:
    n = workers or min(8, os.cpu_count() or 1, max(1, len(req.items)))
    with ThreadPoolExecutor(max_workers=n) as pool:
        images = list(pool.map(lambda it: _score_one(req, it), req.items))
    return ScoreOutput(images=images)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m esr_validator.fidelity REQUEST.json", file=sys.stderr)
        return 2
    req = ScoreRequest.model_validate_json(Path(argv[0]).read_text())
    out = measure_fidelity(req)
    tmp = Path(req.out_file + ".part")
    tmp.write_text(out.model_dump_json())
    tmp.replace(req.out_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
