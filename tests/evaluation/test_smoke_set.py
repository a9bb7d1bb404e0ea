"""The committed smoke set is what scripts/make_smoke_set.py makes, and is usable data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from esr_validator.data import discover
from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.imresize import downscale, upscale
from esr_validator.metrics.psnr import psnr

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "esr_validator" / "data" / "smoke"


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("smoke")
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_smoke_set.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_committed_set_equals_regenerated(regenerated: Path) -> None:
    assert _files(SMOKE) == _files(regenerated)
    for name in _files(SMOKE):
        committed, fresh = SMOKE / name, regenerated / name
        if name.endswith((".png", ".jpg")):
            # Pixels, not bytes: PNG/JPEG encoder builds may differ in their byte streams.
            a = cv2.imread(str(committed), cv2.IMREAD_UNCHANGED)
            b = cv2.imread(str(fresh), cv2.IMREAD_UNCHANGED)
            assert a.shape == b.shape and np.array_equal(a, b), name
        else:
            assert committed.read_bytes() == fresh.read_bytes(), name


def test_smoke_set_layout_and_stems() -> None:
    ds = discover(SMOKE)
    assert [(s.name, s.prefix) for s in ds.splits] == [
        ("valid", "DIV2K_LSDIR"),
        ("test", "DIV2K_LSDIR"),
    ]
    assert ds.split("valid").stems == ("0000001", "0000002", "0801")
    assert ds.split("test").stems == ("0000101", "0000102", "0901")
    assert all(p.lr.name == f"{p.stem}x4.png" for s in ds.splits for p in s.pairs)


def test_lr_is_matlab_bicubic_of_mod_cropped_hr() -> None:
    for split in discover(SMOKE).splits:
        for pair in split.pairs:
            hr = cv2.imread(str(pair.hr), cv2.IMREAD_UNCHANGED)
            lr = cv2.imread(str(pair.lr), cv2.IMREAD_UNCHANGED)
            assert np.array_equal(lr, downscale(mod_crop(hr, 4), 4)), pair.stem


def test_smoke_set_exercises_gray_and_mod_crop() -> None:
    valid = discover(SMOKE).split("valid")
    camera = valid.pairs[2]
    assert cv2.imread(str(camera.hr), cv2.IMREAD_UNCHANGED).ndim == 2
    assert read_image(camera.hr).shape[2] == 3
    coffee = valid.pairs[1]
    assert read_image(coffee.hr).shape[:2] == (203, 250)
    assert read_image(coffee.lr).shape[:2] == (50, 62)


def test_bicubic_baseline_psnr_is_plausible() -> None:
    for split in discover(SMOKE).splits:
        for pair in split.pairs:
            hr = mod_crop(read_image(pair.hr), 4)
            value = psnr(upscale(read_image(pair.lr), 4), hr)
            assert 18 < value < 40, (pair.stem, value)


@pytest.mark.parametrize("scale", [2, 3])
def test_rtsr_pairs(scale: int) -> None:
    folder = SMOKE / "rtsr" / f"x{scale}"
    stems = sorted(p.stem for p in (folder / "HR").glob("*.png"))
    assert stems == ["0000001", "0000002", "0801"]
    for stem in stems:
        hr = read_image(folder / "HR" / f"{stem}.png")
        lr = read_image(folder / "LR" / f"{stem}.jpg")
        assert hr.shape[0] % scale == 0 and hr.shape[1] % scale == 0
        assert lr.shape[:2] == (hr.shape[0] // scale, hr.shape[1] // scale)
        assert (folder / "LR" / f"{stem}.jpg").read_bytes()[:2] == b"\xff\xd8"  # JPEG


def test_license_names_every_source() -> None:
    text = (SMOKE / "LICENSE.md").read_text(encoding="utf-8")
    for source in ("astronaut", "coffee", "camera", "chelsea", "rocket", "ihc"):
        assert f"skimage/data/{source}." in text
    assert "CC0" in text and "Public domain" in text
