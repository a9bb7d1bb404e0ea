"""MATLAB-compatible bicubic imresize: hand-derived values, analytic properties and an
independent dense-matrix formulation of the same operator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from esr_validator.metrics.imresize import contributions, cubic, downscale, imresize, upscale


def _keys(x: float) -> float:
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax**3 - 2.5 * ax**2 + 1
    if ax <= 2:
        return -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    return 0.0


def _mirror(k: int, n: int) -> int:
    """0-based index k reflected into [0, n) with the edge pixel repeated."""
    m = k % (2 * n)
    return m if m < n else 2 * n - 1 - m


def _dense(in_len: int, out_len: int, scale: float, antialias: bool = True) -> np.ndarray:
    """The resize operator as a matrix, built from the definition pixel by pixel: every
    integer tap with a nonzero kernel value, normalised, folded onto the mirrored input."""
    shrink = antialias and scale < 1
    stretch = scale if shrink else 1.0
    half = 2.0 / stretch
    mat = np.zeros((out_len, in_len))
    for i in range(out_len):
        u = (i + 1) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate
        taps = range(math.floor(u - half) - 1, math.ceil(u + half) + 2)
        w = {k: stretch * _keys(stretch * (u - k)) for k in taps}
        total = sum(w.values())
        for k, wk in w.items():
            mat[i, _mirror(k - 1, in_len)] += wk / total
    return mat


def test_cubic_kernel_values() -> None:
    x = np.array([0.0, 0.25, 0.75, 1.0, 1.25, 1.75, 2.0, 2.5])
    expected = [1.0, 0.8671875, 0.2265625, 0.0, -0.0703125, -0.0234375, 0.0, 0.0]
    assert cubic(x).tolist() == expected
    # Partition of unity: a cubic at every integer offset sums to one.
    assert float(cubic(0.3 + np.arange(-3, 4)).sum()) == pytest.approx(1.0, abs=1e-15)


def test_hand_derived_halving_of_four_pixels() -> None:
    # scale 1/2, n = 4: kernel stretched to width 8; output 1 sits at u = 1.5 and sees
    # taps at 1.5 +- {0.5, 1.5, 2.5, 3.5} with weights 0.5*cubic(0.5*d), summing to 1.
    # Folding taps -2..0 onto 3, 2, 1 and 5 onto 4 gives the coefficients below.
    coeff = np.array([0.546875, 0.3984375, 0.1015625, -0.046875])
    v = np.array([10.0, 40.0, 90.0, 200.0])
    out = imresize(v[:, None], scale=0.5)[:, 0]
    assert out[0] == pytest.approx(coeff @ v, abs=1e-12)
    assert out[1] == pytest.approx(coeff[::-1] @ v, abs=1e-12)
    # uint8: 100 * 0.546875 = 54.6875 -> 55; the second output is negative -> 0.
    u8 = imresize(np.array([[100], [0], [0], [0]], np.uint8), scale=0.5)
    assert u8[:, 0].tolist() == [55, 0]


def test_uint8_rounds_half_away_from_zero() -> None:
    # Halving [1, 0, 0, 1]: 0.546875 - 0.046875 = 0.5 exactly; MATLAB rounds it to 1.
    out = imresize(np.array([[1], [0], [0], [1]], np.uint8), scale=0.5)
    assert out[:, 0].tolist() == [1, 1]


@pytest.mark.parametrize(("n", "scale"), [(16, 0.25), (12, 1 / 3), (10, 0.5), (5, 4.0), (7, 2.0)])
def test_separable_equals_dense_operator(n: int, scale: float) -> None:
    rng = np.random.default_rng(n)
    img = rng.random((n, n + 3, 3)) * 255
    out_h, out_w = math.ceil(scale * n), math.ceil(scale * (n + 3))
    mh, mw = _dense(n, out_h, scale), _dense(n + 3, out_w, scale)
    expected = np.einsum("ih,hwc,jw->ijc", mh, img, mw)
    np.testing.assert_allclose(imresize(img, scale=scale), expected, rtol=0, atol=1e-9)


def test_contribution_weights_sum_to_one_and_indices_in_range() -> None:
    for in_len, out_len, scale in [(8, 2, 0.25), (9, 3, 1 / 3), (3, 12, 4.0)]:
        w, idx = contributions(in_len, out_len, scale)
        np.testing.assert_allclose(w.sum(axis=1), 1.0, atol=1e-12)
        assert idx.min() >= 0 and idx.max() < in_len


def test_constant_image_stays_constant() -> None:
    img = np.full((20, 28, 3), 77, np.uint8)
    for factor in (2, 3, 4):
        small = downscale(img, factor)
        assert np.all(small == 77)
    assert np.all(upscale(img, 4) == 77)


def test_linear_ramp_preserved_in_interior() -> None:
    # The cubic kernel reproduces linear functions exactly; away from the mirrored edges
    # a ramp x -> x maps to the ramp at the output's input coordinates.
    ramp = np.tile(np.arange(64, dtype=np.float64), (8, 1))
    out = imresize(ramp, scale=0.25)
    u = (np.arange(1, 17) / 0.25 + 0.5 * (1 - 4)) - 1  # 0-based input coordinate
    np.testing.assert_allclose(out[:, 2:-2], np.tile(u[2:-2], (2, 1)), atol=1e-9)
    up = imresize(ramp, scale=4.0)
    u_up = (np.arange(1, 257) / 4.0 + 0.5 * (1 - 0.25)) - 1
    np.testing.assert_allclose(up[:, 8:-8], np.tile(u_up[8:-8], (32, 1)), atol=1e-9)


def test_shapes_dtypes_and_gray() -> None:
    img = np.random.default_rng(0).integers(0, 256, (203, 250, 3), dtype=np.uint8)
    small = downscale(img[:200, :248], 4)
    assert small.shape == (50, 62, 3) and small.dtype == np.uint8
    assert downscale(img[:, :, 0], 4).shape == (51, 63)  # ceil, like MATLAB
    assert imresize(img.astype(np.float32), scale=0.5).dtype == np.float64
    assert imresize(img, output_shape=(10, 20)).shape == (10, 20, 3)


def test_antialiasing_blurs_more_than_plain_cubic() -> None:
    rng = np.random.default_rng(1)
    noise = rng.random((64, 64))
    assert imresize(noise, scale=0.25).std() < imresize(noise, scale=0.25, antialias=False).std()


def test_bad_arguments() -> None:
    img = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="positive"):
        imresize(img, scale=-1.0)
    with pytest.raises(ValueError, match="HxW"):
        imresize(np.zeros(5), scale=0.5)
