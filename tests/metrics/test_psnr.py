"""PSNR, Y-PSNR and SSIM against hand-computed values and scikit-image's implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from esr_validator.metrics.psnr import (
    psnr,
    psnr_many,
    psnr_y,
    psnr_y_convention,
    psnr_y_float32,
    squared_error_sum,
    ssim,
    y_channel,
    y_channel_float32,
)


def _pair(seed: int, shape: tuple[int, ...] = (40, 48, 3)) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hr = rng.integers(0, 256, size=shape, dtype=np.uint8)
    noise = rng.integers(-12, 13, size=shape)
    sr = np.clip(hr.astype(int) + noise, 0, 255).astype(np.uint8)
    return sr, hr


def test_psnr_hand_value_with_border() -> None:
    hr = np.zeros((12, 12, 3), np.uint8)
    sr = hr.copy()
    sr[4:8, 4:8, :] = 10  # inside the border: 48 of 4*4*3 = 48 values differ by 10
    # mse = 48*100 / (4*4*3) = 100 -> 20*log10(255/10)
    assert psnr(sr, hr, border=4) == pytest.approx(20 * math.log10(25.5), abs=1e-12)
    sr[0, 0, 0] = 255  # the border is cropped, so this changes nothing
    assert psnr(sr, hr, border=4) == pytest.approx(20 * math.log10(25.5), abs=1e-12)
    assert psnr(sr, hr, border=0) < psnr(sr, hr, border=4)


def test_psnr_equal_images_is_infinite() -> None:
    hr = _pair(1)[1]
    assert psnr(hr, hr.copy()) == math.inf


def test_psnr_matches_official_float64_formula_and_skimage() -> None:
    for seed in range(5):
        sr, hr = _pair(seed)
        a = sr[4:-4, 4:-4].astype(np.float64)
        b = hr[4:-4, 4:-4].astype(np.float64)
        official = 20 * math.log10(255.0 / math.sqrt(np.mean((a - b) ** 2)))
        assert psnr(sr, hr) == official  # bit-identical, see module docstring
        assert psnr(sr, hr) == pytest.approx(
            peak_signal_noise_ratio(hr[4:-4, 4:-4], sr[4:-4, 4:-4], data_range=255), abs=1e-10
        )


def test_psnr_rejects_shape_mismatch_and_huge_border() -> None:
    sr, hr = _pair(0)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(sr[:-1], hr)
    with pytest.raises(ValueError, match="leaves nothing"):
        psnr(sr, hr, border=20)


def test_squared_error_sum_counts() -> None:
    sr, hr = _pair(3, (10, 10, 3))
    sse, n = squared_error_sum(sr, hr, border=1)
    assert n == 8 * 8 * 3
    assert sse == int(((sr[1:-1, 1:-1].astype(int) - hr[1:-1, 1:-1]) ** 2).sum())


@pytest.mark.parametrize("workers", [1, 3])
def test_psnr_many_equals_one_by_one(workers: int) -> None:
    pairs = [_pair(s, (20 + s, 30, 3)) for s in range(7)]
    assert psnr_many(pairs, workers=workers) == [psnr(s, h) for s, h in pairs]
    assert psnr_many([]) == []


def test_y_channel_formula_and_swap() -> None:
    img = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], np.uint8)
    # 65.481+16 = 81.481 -> 81; 128.553+16 -> 145; 24.966+16 -> 41; 219+16 = 235
    assert y_channel(img)[0].tolist() == [81, 145, 41, 235]
    assert y_channel(img, swap_rb=True)[0].tolist() == [41, 145, 81, 235]


def test_psnr_y_ignores_chroma_only_changes() -> None:
    hr = np.full((16, 16, 3), 128, np.uint8)
    sr = hr.copy()
    # Trade R against B with the luma weights' ratio: Y changes by < 0.5, so it rounds equal.
    sr[..., 0] = 129
    sr[..., 2] = 126
    assert psnr_y(sr, hr, border=0) == math.inf
    assert psnr(sr, hr, border=0) < 50


def test_ssim_identity_and_skimage_agreement() -> None:
    sr, hr = _pair(7, (64, 64, 3))
    assert ssim(hr, hr) == pytest.approx(1.0, abs=1e-12)
    reference = structural_similarity(
        hr[4:-4, 4:-4],
        sr[4:-4, 4:-4],
        data_range=255,
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
    )
    assert ssim(sr, hr) == pytest.approx(reference, abs=1e-6)
    assert 0 < ssim(sr, hr) < 1


def test_ssim_on_y_plane() -> None:
    sr, hr = _pair(8, (48, 48, 3))
    value = ssim(y_channel(sr), y_channel(hr), border=0)
    assert 0 < value < 1


def _y_by_hand(pixel: tuple[int, int, int]) -> np.float32:
    """One pixel's Y as the 2023 script computes it, step by step with NumPy scalars:
    channel / 255 in float32, swapped weights (24.966 on R, 65.481 on B) in float64, + 16,
    / 255, cast to float32 without rounding, then × 255 in float32."""
    r, g, b = (np.float32(c) / np.float32(255.0) for c in pixel)
    y = float(r) * 24.966 + float(g) * 128.553 + float(b) * 65.481 + 16.0
    return np.float32(y / 255.0) * np.float32(255.0)


def test_float32_y_matches_a_rederivation_by_hand() -> None:
    img = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [12, 200, 77]]], dtype=np.uint8)
    y = y_channel_float32(img)
    assert y.dtype == np.float32
    for i, j in np.ndindex(2, 2):
        assert y[i, j] == _y_by_hand(tuple(int(c) for c in img[i, j]))  # type: ignore[arg-type]
    # Swapped: pure red gets the blue weight (16 + 24.966), not 16 + 65.481; never rounded.
    assert math.isclose(float(y[0, 0]), 40.966, abs_tol=1e-4)
    assert math.isclose(float(y_channel_float32(img, swap_rb=False)[0, 0]), 81.481, abs_tol=1e-4)


def test_float32_y_psnr_matches_a_rederivation() -> None:
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, size=(3, 5, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(np.int16) + rng.integers(-3, 4, size=hr.shape), 0, 255).astype(np.uint8)
    diffs = [
        _y_by_hand(tuple(int(c) for c in sr[i, j])) - _y_by_hand(tuple(int(c) for c in hr[i, j]))  # type: ignore[arg-type]
        for i, j in np.ndindex(3, 5)
    ]
    # 15 values: NumPy's float32 mean sums them in order (pairwise only from 8 blocks of 128).
    total = np.float32(0.0)
    for d in diffs:
        total = np.float32(total + d * d)
    mse = np.float32(total / np.float32(15))
    expected = 20.0 * math.log10(255.0 / float(np.sqrt(mse)))
    assert psnr_y_float32(sr, hr, border=0) == pytest.approx(expected, abs=1e-9)
    assert psnr_y_convention(sr, hr, convention="bt601_swapped_rb", border=0) == psnr_y_float32(
        sr, hr, border=0
    )
    assert psnr_y_float32(hr, hr) == math.inf


def test_rounded_y_is_off_at_high_psnr() -> None:
    # At ~43 dB the per-pixel Y error is below one grey level: rounding Y to integers (the
    # MATLAB convention) changes the PSNR by tenths of a dB, which the 2023 script did not do.
    rng = np.random.default_rng(1)
    hr = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    noise = rng.integers(-3, 4, size=hr.shape)
    sr = np.clip(hr.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    exact = psnr_y_float32(sr, hr, border=0)
    rounded = psnr_y(sr, hr, border=0, swap_rb=True)
    # float64 Y with no float32 step agrees with the float32 value to ~1e-4 dB.
    y64 = lambda im: im.astype(np.float64) @ np.array([24.966, 128.553, 65.481]) / 255 + 16  # noqa: E731
    ref = 20 * math.log10(255 / math.sqrt(float(np.mean((y64(sr) - y64(hr)) ** 2))))
    assert 40 < exact < 50 and abs(exact - ref) < 1e-3, (exact, rounded)
    assert abs(rounded - exact) > 0.05


def test_y_convention_names() -> None:
    img = np.full((4, 4, 3), 100, dtype=np.uint8)
    assert psnr_y_convention(img, img, convention="bt601", border=0) == math.inf
    with pytest.raises(ValueError, match="unknown Y convention"):
        psnr_y_convention(img, img, convention="bt709", border=0)
