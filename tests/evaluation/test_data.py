"""Dataset discovery for the 2022 and 2024-2026 layouts, digests and LR staging."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from esr_validator.data import DataError, digest, discover, stage_lr


def _png(path: Path, payload: bytes) -> None:
    # Discovery never decodes pixels, so any bytes stand in for an image.
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG" + payload)


def _layout_2024(root: Path) -> None:
    for split, stems in {
        "valid": ["0000001", "0000002", "0801"],
        "test": ["0000101", "0901"],
    }.items():
        for stem in stems:
            _png(root / f"DIV2K_LSDIR_{split}_HR" / f"{stem}.png", f"hr{stem}".encode())
            _png(root / f"DIV2K_LSDIR_{split}_LR" / f"{stem}x4.png", f"lr{stem}".encode())


def test_discover_2024_layout(tmp_path: Path) -> None:
    _layout_2024(tmp_path)
    ds = discover(tmp_path)
    assert [s.name for s in ds.splits] == ["valid", "test"]
    valid = ds.split("valid")
    assert valid.prefix == "DIV2K_LSDIR"
    assert valid.stems == ("0000001", "0000002", "0801")  # LSDIR sorts before DIV2K
    pair = valid.pairs[2]
    assert pair.lr.name == "0801x4.png" and pair.hr.name == "0801.png"
    assert ds.split("test").stems == ("0000101", "0901")
    with pytest.raises(KeyError):
        ds.split("train")


def test_discover_2022_layout_with_and_without_x4(tmp_path: Path) -> None:
    for stem in ("0801", "0802"):
        _png(tmp_path / "DIV2K_valid_HR" / f"{stem}.png", b"h" + stem.encode())
        _png(tmp_path / "DIV2K_valid_LR" / f"{stem}x4.png", b"l" + stem.encode())
    for stem in ("0901", "0902"):
        _png(tmp_path / "DIV2K_test_HR" / f"{stem}.png", b"h" + stem.encode())
        _png(tmp_path / "DIV2K_test_LR" / f"{stem}.png", b"l" + stem.encode())
    ds = discover(tmp_path)
    assert [(s.name, s.prefix) for s in ds.splits] == [("valid", "DIV2K"), ("test", "DIV2K")]
    assert ds.split("test").stems == ("0901", "0902")
    assert ds.split("test").pairs[0].lr.name == "0901.png"


def test_non_png_and_unrelated_folders_are_ignored(tmp_path: Path) -> None:
    _layout_2024(tmp_path)
    (tmp_path / "DIV2K_LSDIR_valid_LR" / "Thumbs.db").write_bytes(b"x")
    (tmp_path / "notes").mkdir()
    assert discover(tmp_path).split("valid").stems == ("0000001", "0000002", "0801")


def test_digests_track_names_and_bytes_separately(tmp_path: Path) -> None:
    _layout_2024(tmp_path)
    before = discover(tmp_path)
    assert len(before.lr_digest) == 64 and before.lr_digest != before.hr_digest
    assert discover(tmp_path) == before  # deterministic
    _png(tmp_path / "DIV2K_LSDIR_valid_HR" / "0801.png", b"changed")
    after = discover(tmp_path)
    assert after.lr_digest == before.lr_digest
    assert after.hr_digest != before.hr_digest
    assert after.split("test").hr_digest == before.split("test").hr_digest


def test_digest_depends_on_names(tmp_path: Path) -> None:
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    _png(a, b"same")
    _png(b, b"same")
    assert digest(tmp_path, [a]) != digest(tmp_path, [b])
    assert digest(tmp_path, [a, b]) == digest(tmp_path, [b, a])


def _drop_hr(root: Path) -> None:
    (root / "DIV2K_LSDIR_valid_HR" / "0801.png").unlink()


def _drop_lr(root: Path) -> None:
    (root / "DIV2K_LSDIR_valid_LR" / "0801x4.png").unlink()


def _duplicate_lr(root: Path) -> None:
    _png(root / "DIV2K_LSDIR_valid_LR" / "0801.png", b"dup")


def _second_layout(root: Path) -> None:
    _png(root / "DIV2K_valid_HR" / "0801.png", b"x")
    _png(root / "DIV2K_valid_LR" / "0801x4.png", b"x")


def _hr_only_split(root: Path) -> None:
    _png(root / "DIV2K_train_HR" / "0001.png", b"ignored: not a valid/test split")
    shutil.rmtree(root / "DIV2K_LSDIR_test_LR")


BREAKAGES = {
    "lr-without-hr": (_drop_hr, "no HR counterpart 0801.png"),
    "hr-without-lr": (_drop_lr, "HR images without LR: 0801"),
    "duplicate-stem": (_duplicate_lr, "two LR images map to 0801"),
    "two-layouts": (_second_layout, "more than one 'valid' split"),
    "half-split": (_hr_only_split, "DIV2K_LSDIR_test_HR has no matching DIV2K_LSDIR_test_LR"),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_broken_layouts_raise(tmp_path: Path, case: str) -> None:
    breakage, message = BREAKAGES[case]
    _layout_2024(tmp_path)
    breakage(tmp_path)
    with pytest.raises(DataError, match=re.escape(message)):
        discover(tmp_path)


def test_empty_or_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a folder"):
        discover(tmp_path / "nope")
    with pytest.raises(DataError, match="no <prefix>"):
        discover(tmp_path)
    (tmp_path / "DIV2K_LSDIR_valid_LR").mkdir()
    (tmp_path / "DIV2K_LSDIR_valid_HR").mkdir()
    with pytest.raises(DataError, match=r"no \.png"):
        discover(tmp_path)


@pytest.mark.parametrize("link", [True, False])
def test_stage_lr_exposes_only_lr_by_stem(tmp_path: Path, link: bool) -> None:
    data = tmp_path / "data"
    _layout_2024(data)
    ds = discover(data)
    staged = stage_lr(ds, tmp_path / "stage", link=link)
    files = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert files == [
        "test/0000101.png",
        "test/0901.png",
        "valid/0000001.png",
        "valid/0000002.png",
        "valid/0801.png",
    ]
    hr_bytes = {p.hr.read_bytes() for s in ds.splits for p in s.pairs}
    for path in staged.rglob("*.png"):
        assert path.read_bytes() not in hr_bytes
    assert (staged / "valid" / "0801.png").read_bytes() == ds.split("valid").pairs[
        2
    ].lr.read_bytes()


def test_stage_lr_refuses_non_empty_destination(tmp_path: Path) -> None:
    _layout_2024(tmp_path / "data")
    dest = tmp_path / "stage"
    dest.mkdir()
    (dest / "leftover.png").write_bytes(b"old")
    with pytest.raises(DataError, match="not empty"):
        stage_lr(discover(tmp_path / "data"), dest)
