"""PSNR, Y-channel PSNR and SSIM with the challenge's conventions.

Conventions (see the protocol notes): uint8 HWC RGB inputs, ``border`` pixels cropped from
every side first, PSNR over all channels together with a 255 peak, infinite when the images
are equal. The squared error is summed in integers: every partial sum of a float64 mean over
uint8 differences is an exact integer below 2**53, so the integer sum reproduces the official
float64 result bit for bit while making the result independent of summation order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Float64Array = npt.NDArray[np.float64]
Float32Array = npt.NDArray[np.float32]

# ITU-R BT.601 luma on 0-255 values, as MATLAB's rgb2ycbcr and the SR literature use it.
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)
_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


def _crop(img: npt.NDArray[np.generic], border: int) -> npt.NDArray[np.generic]:
    if border < 0:
        raise ValueError(f"border must be >= 0, got {border}")
    h, w = img.shape[:2]
    if 2 * border >= min(h, w):
        raise ValueError(f"border {border} leaves nothing of a {h}x{w} image")
    return img[border : h - border, border : w - border, ...]


def _check_pair(sr: npt.NDArray[np.generic], hr: npt.NDArray[np.generic]) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"image shapes differ: {sr.shape} vs {hr.shape}")


def squared_error_sum(sr: Image, hr: Image, *, border: int = 4) -> tuple[int, int]:
    """Exact sum of squared differences and the number of values, after cropping."""
    _check_pair(sr, hr)
    diff = np.subtract(_crop(sr, border), _crop(hr, border), dtype=np.int32)
    return int(np.sum(diff * diff, dtype=np.int64)), int(diff.size)


def psnr_from_sse(sse: int, count: int) -> float:
    """PSNR in dB for a 255 peak from a squared-error sum; infinite for equal images."""
    if sse == 0:
        return math.inf
    mse = sse / count
    return 20.0 * math.log10(255.0 / math.sqrt(mse))


def psnr(sr: Image, hr: Image, *, border: int = 4) -> float:
    """PSNR over all channels together (RGB in ESR), ``border`` pixels cropped."""
    return psnr_from_sse(*squared_error_sum(sr, hr, border=border))


def psnr_many(
    pairs: Sequence[tuple[Image, Image]], *, border: int = 4, workers: int | None = None
) -> list[float]:
    """PSNR for many (sr, hr) pairs at once, in input order.

    Images differ in size, so they cannot be stacked; instead the pairs are spread over
    threads, which run in parallel because NumPy releases the GIL in its array loops.
    Results equal :func:`psnr` exactly.
    """
    if not pairs:
        return []
    n_workers = workers if workers is not None else min(8, len(pairs))

    def one(pair: tuple[Image, Image]) -> float:
        return psnr(pair[0], pair[1], border=border)

    if n_workers <= 1:
        return [one(p) for p in pairs]
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        return list(pool.map(one, pairs))


def y_channel(img: Image, *, swap_rb: bool = False) -> Image:
    """BT.601 luma of uint8 RGB, rounded to uint8 as MATLAB's rgb2ycbcr does for uint8.

    ``swap_rb=True`` applies the R weight to the third channel and the B weight to the first,
    reproducing the 2023 real-time challenge's script, which fed RGB to a BGR conversion.
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected HxWx3, got {img.shape}")
    weights = _Y_WEIGHTS[::-1] if swap_rb else _Y_WEIGHTS
    y = img.astype(np.float64) @ weights / 255.0 + 16.0
    return np.round(y).astype(np.uint8)


def psnr_y(sr: Image, hr: Image, *, border: int = 4, swap_rb: bool = False) -> float:
    """PSNR on the Y channel rounded to uint8 (MATLAB style; not ranked in ESR)."""
    _check_pair(sr, hr)
    return psnr(y_channel(sr, swap_rb=swap_rb), y_channel(hr, swap_rb=swap_rb), border=border)


def y_channel_float32(img: Image, *, swap_rb: bool = True) -> Float32Array:
    """Y as the 2023 real-time script computed it: float32 and never rounded.

    The steps and their precisions follow eduardzamfir/NTIRE23-RTSR @2bc37ba
    demo/utils/util_metrics.py:229-240 and :287-320: the image in float32 divided by 255;
    a dot product with the (swapped) BT.601 weights, which NumPy does in float64 because the
    weights are a Python list; + 16, / 255 and a cast to float32 (no rounding); then × 255 in
    float32. With ``swap_rb`` (the script's behaviour) R gets the B weight and B the R weight.
    """
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected HxWx3, got {img.shape}")
    weights = _Y_WEIGHTS[::-1] if swap_rb else _Y_WEIGHTS
    unit = img.astype(np.float32) / np.float32(255.0)
    y = np.dot(unit, weights) + 16.0  # float32 · float64 -> float64
    y32 = (y / 255.0).astype(np.float32)
    return np.asarray(y32 * np.float32(255.0), dtype=np.float32)


def psnr_y_float32(sr: Image, hr: Image, *, border: int = 0, swap_rb: bool = True) -> float:
    """Y PSNR as the 2023 real-time script computed it (border 0 there).

    Rounding Y to integers instead changes the result by up to a few tenths of a dB at high
    PSNR. The mean squared error is a float32 mean (NumPy's pairwise sum), its square root a
    float32, and the final division and log10 are float64, as under the NumPy 1.x of the
    organizers' environment (NumPy 2 would keep them in float32: a difference of ~1e-6 dB).
    """
    _check_pair(sr, hr)
    a = np.asarray(_crop(y_channel_float32(sr, swap_rb=swap_rb), border), dtype=np.float32)
    b = np.asarray(_crop(y_channel_float32(hr, swap_rb=swap_rb), border), dtype=np.float32)
    diff = a - b
    mse = np.mean(diff * diff, dtype=np.float32)
    if mse == 0:
        return math.inf
    return 20.0 * math.log10(255.0 / float(np.sqrt(mse)))


def psnr_y_convention(sr: Image, hr: Image, *, convention: str, border: int) -> float:
    """Y PSNR by a ruleset's ``[psnr] y_channel``: ``bt601`` (uint8, MATLAB style) or
    ``bt601_swapped_rb`` (the 2023 real-time script's: swapped weights, float32)."""
    if convention == "bt601":
        return psnr_y(sr, hr, border=border)
    if convention == "bt601_swapped_rb":
        return psnr_y_float32(sr, hr, border=border, swap_rb=True)
    raise ValueError(f"unknown Y convention {convention!r}")


def _ssim_plane(a: Float64Array, b: Float64Array) -> float:
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = kernel @ kernel.T

    def blur(x: Float64Array) -> Float64Array:
        # Only the valid region is kept, so OpenCV's border mode never matters.
        return np.asarray(cv2.filter2D(x, -1, window)[5:-5, 5:-5], dtype=np.float64)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + _SSIM_C1) * (2 * cov + _SSIM_C2)
    den = (mu_a**2 + mu_b**2 + _SSIM_C1) * (var_a + var_b + _SSIM_C2)
    return float(np.mean(num / den))


def ssim(sr: Image, hr: Image, *, border: int = 4) -> float:
    """SSIM: 11x11 Gaussian window (sigma 1.5), valid region, mean over channels."""
    _check_pair(sr, hr)
    a = _crop(sr, border).astype(np.float64)
    b = _crop(hr, border).astype(np.float64)
    if min(a.shape[:2]) < 11:
        raise ValueError(f"SSIM needs at least 11x11 pixels after cropping, got {a.shape[:2]}")
    if a.ndim == 2:
        return _ssim_plane(a, b)
    return float(np.mean([_ssim_plane(a[:, :, c], b[:, :, c]) for c in range(a.shape[2])]))
