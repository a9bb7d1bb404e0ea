"""Finding the LR/HR splits in a data folder, and staging the LR half for the worker.

Layouts accepted (``<prefix>_<split>_<LR|HR>`` folders directly under the data folder):

- 2024-2026: ``DIV2K_LSDIR_valid_HR/0000001.png`` with ``DIV2K_LSDIR_valid_LR/0000001x4.png``;
- 2022: ``DIV2K_valid_HR/0801.png`` with ``DIV2K_valid_LR/0801x4.png``, where the test LR
  names lack the ``x4``; a missing suffix is accepted everywhere.

- 2023 Real-Time SR (scales 2 and 3): ``HR/<stem>.png`` with ``LR/<stem>.jpg`` (or ``.png``),
  directly under the data folder or under its ``x2/`` and ``x3/`` folders; it is one split,
  named ``valid``.

Only ``*.png`` files count (LR may also be ``*.jpg`` in the RTSR layout), like the official
``glob('*.png')``, and images are ordered by LR file name, as the official sorted glob
ordered them. The order matters beyond
tidiness: with no warm-up, the first image of the first split absorbs the start-up cost.

A half-complete split is an error rather than a smaller split: an LR image without HR
cannot be scored, and HR without LR would silently score a subset.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

_DIR_RE = re.compile(
    r"^(?P<prefix>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*?)_(?P<split>valid|test)_(?P<side>LR|HR)$"
)
_SPLIT_ORDER = {"valid": 0, "test": 1}
_CHUNK = 1 << 20
RTSR_SCALES = (2, 3)
SMOKE_DIR = Path(__file__).resolve().parent / "data" / "smoke"
RTSR_SPLIT = "valid"
_RTSR_LR_SUFFIXES = (".png", ".jpg")


class DataError(Exception):
    """The data folder is unusable; the message says what is missing or inconsistent."""


@dataclass(frozen=True)
class ImagePair:
    stem: str
    lr: Path
    hr: Path


@dataclass(frozen=True)
class Split:
    name: str
    prefix: str
    lr_dir: Path
    hr_dir: Path
    pairs: tuple[ImagePair, ...]
    lr_digest: str
    hr_digest: str

    @property
    def stems(self) -> tuple[str, ...]:
        return tuple(p.stem for p in self.pairs)


@dataclass(frozen=True)
class Dataset:
    root: Path
    splits: tuple[Split, ...]
    lr_digest: str
    hr_digest: str
    smoke: bool = False  # the embedded smoke set: PSNR gates do not apply to it

    def split(self, name: str) -> Split:
        for split in self.splits:
            if split.name == name:
                return split
        raise KeyError(name)


def digest(root: Path, files: list[Path]) -> str:
    """SHA-256 over the files' paths relative to ``root`` and their bytes, in path order.

    Each name and body is length-prefixed so that no two different file sets can produce
    the same byte stream.
    """
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        name = path.relative_to(root).as_posix().encode()
        h.update(len(name).to_bytes(8, "big") + name)
        h.update(path.stat().st_size.to_bytes(8, "big"))
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()


def _images(folder: Path, suffixes: tuple[str, ...] = (".png",)) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix in suffixes and p.is_file())
    if not files:
        raise DataError(f"{folder} holds no {' or '.join(suffixes)} images")
    return files


def _match(lr_files: list[Path], hr_files: list[Path], scale: int) -> list[ImagePair]:
    hr_by_stem = {p.stem: p for p in hr_files}
    pairs: dict[str, ImagePair] = {}
    suffix = f"x{scale}"
    for lr in lr_files:
        stem = lr.stem
        if stem not in hr_by_stem and stem.endswith(suffix):
            stem = stem[: -len(suffix)]
        if stem not in hr_by_stem:
            raise DataError(f"LR image {lr} has no HR counterpart {stem}.png")
        if stem in pairs:
            raise DataError(f"two LR images map to {stem}: {pairs[stem].lr.name}, {lr.name}")
        pairs[stem] = ImagePair(stem, lr, hr_by_stem[stem])
    missing = sorted(set(hr_by_stem) - set(pairs))
    if missing:
        raise DataError(
            f"HR images without LR: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else "")
        )
    return list(pairs.values())


def _split_dirs(root: Path) -> dict[tuple[str, str], dict[str, Path]]:
    found: dict[tuple[str, str], dict[str, Path]] = {}
    for child in sorted(root.iterdir()):
        m = _DIR_RE.match(child.name)
        if m and child.is_dir():
            key = (m["split"], m["prefix"])
            found.setdefault(key, {})[m["side"]] = child
    return found


def _build_split(root: Path, name: str, prefix: str, sides: dict[str, Path], scale: int) -> Split:
    if set(sides) != {"LR", "HR"}:
        have = next(iter(sides.values()))
        other = "HR" if "LR" in sides else "LR"
        raise DataError(f"{have.name} has no matching {prefix}_{name}_{other} folder")
    lr_files, hr_files = _images(sides["LR"]), _images(sides["HR"])
    return _split(root, name, prefix, sides, lr_files, hr_files, scale)


def _split(
    root: Path,
    name: str,
    prefix: str,
    sides: dict[str, Path],
    lr_files: list[Path],
    hr_files: list[Path],
    scale: int,
) -> Split:
    pairs = _match(lr_files, hr_files, scale)
    return Split(
        name=name,
        prefix=prefix,
        lr_dir=sides["LR"],
        hr_dir=sides["HR"],
        pairs=tuple(pairs),
        lr_digest=digest(root, lr_files),
        hr_digest=digest(root, hr_files),
    )


def _dataset(root: Path, splits: tuple[Split, ...]) -> Dataset:
    return Dataset(
        root=root,
        splits=splits,
        lr_digest=digest(root, [pair.lr for s in splits for pair in s.pairs]),
        hr_digest=digest(root, [pair.hr for s in splits for pair in s.pairs]),
    )


def _discover_rtsr(root: Path, scale: int) -> Dataset:
    """``HR/`` + ``LR/`` under ``root/x<scale>`` if that folder exists, else under ``root``."""
    if (root / f"x{scale}").is_dir():
        root = root / f"x{scale}"
    sides = {"HR": root / "HR", "LR": root / "LR"}
    missing = [name for name, folder in sides.items() if not folder.is_dir()]
    if missing:
        raise DataError(
            f"{root} has no {' or '.join(f'{m}/' for m in missing)} folder "
            f"(the x{scale} layout is HR/<stem>.png with LR/<stem>.jpg or .png)"
        )
    lr_files = _images(sides["LR"], _RTSR_LR_SUFFIXES)
    stems = [p.stem for p in lr_files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise DataError(f"{sides['LR']} holds {twice[0]} as both .png and .jpg: keep one")
    split = _split(root, RTSR_SPLIT, "rtsr", sides, lr_files, _images(sides["HR"]), scale)
    return _dataset(root, (split,))


def smoke_dir(scale: int) -> Path:
    """The embedded smoke set of ``scale``: the ESR layout, or ``rtsr/x<scale>``."""
    return SMOKE_DIR / "rtsr" / f"x{scale}" if scale in RTSR_SCALES else SMOKE_DIR


def load_datasets(data_dir: Path | None, *, scales: Sequence[int]) -> dict[int, Dataset]:
    """The dataset of each scale: ``data_dir``'s (see :func:`discover_scales`), or the
    embedded smoke set's, marked ``smoke``. Always a mapping by scale, never empty."""
    if data_dir is None:
        return {s: replace(discover(smoke_dir(s), scale=s), smoke=True) for s in scales}
    return discover_scales(data_dir, scales=scales)


def discover(data_dir: str | Path, *, scale: int = 4) -> Dataset:
    """Find the splits under ``data_dir``; raise :class:`DataError` if any is unusable.

    Scales 2 and 3 (the 2023 real-time challenge) read the RTSR layout, every other scale
    the ESR layouts.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    if scale in RTSR_SCALES:
        return _discover_rtsr(root, scale)
    found = _split_dirs(root)
    if not found:
        raise DataError(f"{root} has no <prefix>_<valid|test>_<LR|HR> folders")
    names = [name for name, _ in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"more than one {duplicated[0]!r} split under {root}: keep one layout")
    ordered = sorted(found, key=lambda key: _SPLIT_ORDER[key[0]])
    return _dataset(root, tuple(_build_split(root, n, p, found[(n, p)], scale) for n, p in ordered))


def _scale_of(dataset: Dataset) -> int | None:
    """The scale the first image pair shows (HR height over LR height), or None if odd."""
    from esr_validator.metrics.convert import read_image  # decodes: only for an ambiguous folder

    pair = dataset.splits[0].pairs[0]
    lr, hr = read_image(pair.lr).shape, read_image(pair.hr).shape
    scale = hr[0] // lr[0]
    return scale if (lr[0] * scale, lr[1] * scale) == (hr[0], hr[1]) else None


def discover_scales(data_dir: str | Path, *, scales: Sequence[int]) -> dict[int, Dataset]:
    """The dataset of each of ``scales`` that ``data_dir`` holds, at least one.

    With one scale this is :func:`discover`. The RTSR layout serves two: ``x2/`` and ``x3/``
    folders each give their scale's dataset; a plain ``HR/`` + ``LR/`` folder gives the one
    scale its first image pair shows, so that an x3 entry is never scored against x2 data.
    """
    root = Path(data_dir)
    if len(scales) == 1:
        return {scales[0]: discover(root, scale=scales[0])}
    nested = [s for s in scales if (root / f"x{s}").is_dir()]
    if nested:
        return {s: discover(root, scale=s) for s in nested}
    dataset = discover(root, scale=scales[0])
    scale = _scale_of(dataset)
    if scale is None or scale not in scales:
        raise DataError(
            f"the first image pair of {root} is not a x{'/x'.join(map(str, scales))} pair"
        )
    return {scale: dataset if scale == scales[0] else discover(root, scale=scale)}


def _place(src: Path, dst: Path, *, link: bool) -> None:
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another filesystem, or links not allowed: fall back to a copy
    shutil.copyfile(src, dst)


def stage_lr(dataset: Dataset, dest_dir: str | Path, *, link: bool = True) -> Path:
    """Copy (or hard-link) every LR image to ``dest_dir/<split>/<stem><suffix>``.

    The suffix is the file's own (``.png``, or ``.jpg`` for RTSR): the worker decodes the
    bytes the dataset holds, as the organisers' script did, and nothing is re-encoded here.

    This folder is all the untrusted worker gets to see, so it holds LR pixels under their
    stems and nothing else: no HR, no original paths. ``dest_dir`` must not exist yet or
    be empty, so that nothing left from an earlier run rides along. A hard link shares its
    inode with the dataset's file, so mount the staged folder read-only into the sandbox
    (or pass ``link=False``) if the worker could otherwise write to it.
    """
    dest = Path(dest_dir)
    if dest.exists() and any(dest.iterdir()):
        raise DataError(f"staging folder {dest} is not empty")
    for split in dataset.splits:
        target = dest / split.name
        target.mkdir(parents=True, exist_ok=True)
        for pair in split.pairs:
            _place(pair.lr, target / f"{pair.stem}{pair.lr.suffix}", link=link)
    return dest
