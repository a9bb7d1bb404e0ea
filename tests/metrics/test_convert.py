"""Image conversion: file decoding, tensor round trips and the official rounding rules."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from esr_validator.metrics.convert import ImageReadError, mod_crop, read_image, write_image
from esr_validator.sandbox.convert import from_tensor, to_tensor


def _rgb() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)


def test_read_converts_bgr_to_rgb(tmp_path: Path) -> None:
    rgb = _rgb()
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])  # OpenCV writes BGR
    assert np.array_equal(read_image(path), rgb)


def test_read_expands_gray_to_three_channels(tmp_path: Path) -> None:
    gray = _rgb()[:, :, 0]
    path = tmp_path / "g.png"
    cv2.imwrite(str(path), gray)
    img = read_image(path)
    assert img.shape == (7, 9, 3) and img.dtype == np.uint8
    for c in range(3):
        assert np.array_equal(img[:, :, c], gray)


def test_read_drops_alpha(tmp_path: Path) -> None:
    rgb = _rgb()
    bgra = np.concatenate([rgb[:, :, ::-1], np.full((7, 9, 1), 17, np.uint8)], axis=2)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), bgra)
    assert np.array_equal(read_image(path), rgb)


def test_read_rejects_16_bit_and_garbage(tmp_path: Path) -> None:
    deep = tmp_path / "d.png"
    cv2.imwrite(str(deep), np.full((4, 4, 3), 1000, np.uint16))
    with pytest.raises(ImageReadError, match="8-bit"):
        read_image(deep)
    junk = tmp_path / "j.png"
    junk.write_bytes(b"not an image")
    with pytest.raises(ImageReadError, match="cannot decode"):
        read_image(junk)


def test_write_read_round_trip(tmp_path: Path) -> None:
    rgb = _rgb()
    write_image(tmp_path / "x.png", rgb)
    assert np.array_equal(read_image(tmp_path / "x.png"), rgb)


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_to_tensor_layout_and_range(data_range: float) -> None:
    rgb = _rgb()
    t = to_tensor(rgb, data_range)
    assert t.shape == (1, 3, 7, 9) and t.dtype == torch.float32
    assert float(t[0, 1, 2, 3]) == pytest.approx(rgb[2, 3, 1] * data_range / 255.0, rel=1e-6)
    assert float(t.max()) <= data_range


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, (5, 6, 3)), st.sampled_from([1.0, 255.0]))
def test_tensor_round_trip_is_lossless(img: np.ndarray, data_range: float) -> None:
    assert np.array_equal(from_tensor(to_tensor(img, data_range), data_range), img)


def test_from_tensor_clamps_and_rounds_half_to_even() -> None:
    # 0.5/255 and 2.5/255 sit exactly between two levels only after scaling; build them
    # in float32 the way a model output would arrive.
    values = torch.tensor([-0.3, 1.7, 0.5 / 255, 2.5 / 255, 3.5 / 255], dtype=torch.float32)
    t = values.view(1, 1, 1, 5).expand(1, 3, 1, 5)
    out = from_tensor(t, 1.0)[0, :, 0]
    expected = np.round(np.clip(values.numpy(), 0, 1) * np.float32(255.0)).astype(np.uint8)
    assert out.tolist() == expected.tolist()
    assert out[0] == 0 and out[1] == 255
    assert from_tensor(torch.full((1, 3, 1, 1), 2.5), 255.0)[0, 0, 0] == 2  # half to even


def test_from_tensor_rejects_batches() -> None:
    with pytest.raises(ValueError, match="batch of one"):
        from_tensor(torch.zeros(2, 3, 4, 4), 1.0)


def test_mod_crop() -> None:
    img = np.zeros((203, 250, 3), np.uint8)
    assert mod_crop(img, 4).shape == (200, 248, 3)
    assert mod_crop(img[:, :, 0], 3).shape == (201, 249)
    assert mod_crop(img, 1).shape == img.shape
