"""Finding the LR/HR splits in a data folder, and staging the LR half for the worker.

Layouts accepted (``<prefix>_<split>_<LR|HR>`` folders directly under the data folder):

- 2024-2026: ``DIV2K_LSDIR_valid_HR/0000001.png`` with ``DIV2K_LSDIR_valid_LR/0000001x4.png``;
- 2022: ``DIV2K_valid_HR/0801.png`` with ``DIV2K_valid_LR/0801x4.png``, where the test LR
  names lack the ``x4``; a missing suffix is accepted everywhere.

Only ``*.png`` files count, like the official ``glob('*.png')``, and images are ordered by
LR file name, as the official sorted glob ordered them. The order matters beyond
tidiness: with no warm-up, the first image of the first split absorbs the start-up cost.

A half-complete split is an error rather than a smaller split: an LR image without HR
cannot be scored, and HR without LR would silently score a subset.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

_DIR_RE = re.compile(
    r"^(?P<prefix>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*?)_(?P<split>valid|test)_(?P<side>LR|HR)$"
)
_SPLIT_ORDER = {"valid": 0, "test": 1}
_CHUNK = 1 << 20


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


def _pngs(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix == ".png" and p.is_file())
    if not files:
        raise DataError(f"{folder} holds no .png images")
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
    lr_files, hr_files = _pngs(sides["LR"]), _pngs(sides["HR"])
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


def discover(data_dir: str | Path, *, scale: int = 4) -> Dataset:
    """Find the splits under ``data_dir``; raise :class:`DataError` if any is unusable."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    found = _split_dirs(root)
    if not found:
        raise DataError(f"{root} has no <prefix>_<valid|test>_<LR|HR> folders")
    names = [name for name, _ in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise DataError(f"more than one {duplicated[0]!r} split under {root}: keep one layout")
    ordered = sorted(found, key=lambda key: _SPLIT_ORDER[key[0]])
    splits = tuple(_build_split(root, n, p, found[(n, p)], scale) for n, p in ordered)
    return Dataset(
        root=root,
        splits=splits,
        lr_digest=digest(root, [pair.lr for s in splits for pair in s.pairs]),
        hr_digest=digest(root, [pair.hr for s in splits for pair in s.pairs]),
    )


def _place(src: Path, dst: Path, *, link: bool) -> None:
    if link:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another filesystem, or links not allowed: fall back to a copy
    shutil.copyfile(src, dst)


def stage_lr(dataset: Dataset, dest_dir: str | Path, *, link: bool = True) -> Path:
    """Copy (or hard-link) every LR image to ``dest_dir/<split>/<stem>.png``.

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
            _place(pair.lr, target / f"{pair.stem}.png", link=link)
    return dest
