"""MATLAB-compatible ``imresize`` with the bicubic kernel, the degradation behind the LR sets.

The challenge's LR images were made with MATLAB's ``imresize(hr, 1/4, 'bicubic')``. The
behaviour reproduced here, from MATLAB's documented algorithm:

- Keys cubic kernel with a = -0.5, support 4 input pixels;
- when shrinking, the kernel is stretched by 1/scale (antialiasing), so each output pixel
  averages over ``4/scale`` inputs;
- output pixel ``x`` (1-based) maps to input coordinate ``x/scale + 0.5*(1 - 1/scale)``;
- taps outside the image are folded back by symmetric mirroring (edge pixel repeated);
- weights of each output pixel are normalised to sum to one;
- the image is resized one dimension at a time, the one with the smaller scale first
  (rows first on a tie), and for uint8 input each pass is rounded back to uint8, half away
  from zero, exactly like MATLAB's ``imresizemex``.

Float input is resized in float64 without rounding or clipping, as MATLAB does for doubles.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

KERNEL_WIDTH = 4.0


def cubic(x: FloatArray) -> FloatArray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    result: FloatArray = inner + outer
    return result


def contributions(
    in_len: int, out_len: int, scale: float, *, antialias: bool = True
) -> tuple[FloatArray, IntArray]:
    """Weights and 0-based input indices, both ``(out_len, taps)``, for one dimension."""
    shrink = antialias and scale < 1
    width = KERNEL_WIDTH / scale if shrink else KERNEL_WIDTH
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - idx
    weights = scale * cubic(scale * dist) if shrink else cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # MATLAB folds indices with aux = [1..n, n..1] taken modulo 2n: a symmetric mirror.
    period = 2 * in_len
    folded = np.mod(idx.astype(np.intp) - 1, period)
    indices: IntArray = np.where(folded < in_len, folded, period - 1 - folded)
    keep = np.any(weights != 0, axis=0)
    return weights[:, keep], indices[:, keep]


def _resize_axis(img: FloatArray, axis: int, weights: FloatArray, indices: IntArray) -> FloatArray:
    moved = np.moveaxis(img, axis, 0)
    out = np.zeros((weights.shape[0], *moved.shape[1:]), dtype=np.float64)
    extra = (slice(None),) + (None,) * (moved.ndim - 1)
    # One tap at a time keeps memory at the output's size; a gather of all taps at once
    # would hold taps x output pixels, ~300 MB for a 2K image at 1/4.
    for tap in range(weights.shape[1]):
        out += weights[:, tap][extra] * moved[indices[:, tap]]
    return np.moveaxis(out, 0, axis)


def _to_uint8(img: FloatArray) -> FloatArray:
    # Round half away from zero after saturating, as MATLAB's uint8 conversion does.
    return np.floor(np.clip(img, 0.0, 255.0) + 0.5)


def _resolve_shape(
    shape: tuple[int, int], scale: float | None, output_shape: tuple[int, int] | None
) -> tuple[tuple[float, float], tuple[int, int]]:
    if (scale is None) == (output_shape is None):
        raise ValueError("give exactly one of scale and output_shape")
    if scale is not None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        return (scale, scale), (math.ceil(scale * shape[0]), math.ceil(scale * shape[1]))
    assert output_shape is not None
    if min(output_shape) < 1:
        raise ValueError(f"output shape must be positive, got {output_shape}")
    return (output_shape[0] / shape[0], output_shape[1] / shape[1]), output_shape


def imresize(
    img: npt.NDArray[np.generic],
    *,
    scale: float | None = None,
    output_shape: tuple[int, int] | None = None,
    antialias: bool = True,
) -> npt.NDArray[np.generic]:
    """Resize an HxW or HxWxC image like MATLAB ``imresize(img, scale, 'bicubic')``.

    uint8 in gives uint8 out (rounded after each pass); any other dtype gives float64.
    """
    if img.ndim not in (2, 3):
        raise ValueError(f"expected HxW or HxWxC, got shape {img.shape}")
    scales, out_shape = _resolve_shape((img.shape[0], img.shape[1]), scale, output_shape)
    is_uint8 = img.dtype == np.uint8
    out = img.astype(np.float64)
    # Stable sort: the dimension shrunk most goes first, rows first on a tie (MATLAB's order).
    for axis in sorted((0, 1), key=lambda a: scales[a]):
        weights, indices = contributions(
            img.shape[axis], out_shape[axis], scales[axis], antialias=antialias
        )
        out = _resize_axis(out, axis, weights, indices)
        if is_uint8:
            out = _to_uint8(out)
    return out.astype(np.uint8) if is_uint8 else out


def downscale(img: npt.NDArray[np.generic], factor: int) -> npt.NDArray[np.generic]:
    """``imresize(img, 1/factor)``: how the challenge's LR images were made from HR."""
    return imresize(img, scale=1.0 / factor)


def upscale(img: npt.NDArray[np.generic], factor: int) -> npt.NDArray[np.generic]:
    """``imresize(img, factor)``: the plain bicubic baseline a model must beat."""
    return imresize(img, scale=float(factor))
