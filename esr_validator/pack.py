"""Build a submission zip from a model file (or package folder), a checkpoint and manifest
options.

The archive is reproducible: members are sorted, timestamps fixed and permissions uniform,
so packing the same inputs twice gives the same bytes (and the same sha256 in reports).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import tomli_w

from esr_validator.intake.layout import CHECKPOINT_SUFFIXES
from esr_validator.intake.manifest import MANIFEST_NAME
from esr_validator.schemas.export import schema_id
from esr_validator.schemas.manifest import Manifest

_EPOCH = (1980, 1, 1, 0, 0, 0)
# What torch.save writes: a zip archive (torch >= 1.6), or the legacy format, a pickle that
# opens with its magic number (protocol 2, LONG1 of 10 bytes).
_TORCH_HEADS = (b"PK\x03\x04", b"\x80\x02\x8a\x0a")


def checkpoint_suffix(checkpoint: Path) -> str:
    """The suffix the checkpoint is packed under: its own when accepted; ``.pth`` for a file
    torch.save wrote under another name (a ``.pkl`` loads the same); else its own, which
    intake then reports (ESR214)."""
    suffix = checkpoint.suffix.lower()
    if suffix in CHECKPOINT_SUFFIXES:
        return suffix
    with checkpoint.open("rb") as handle:
        head = handle.read(4)
    return ".pth" if head in _TORCH_HEADS else suffix


def manifest_toml(manifest: Manifest, *, schema: str | None = None) -> str:
    """Render a manifest, leaving out defaults so the file stays short and readable.

    The first line is a ``#:schema`` directive (the taplo / Even Better TOML convention), so
    an editor validates and completes the file against the published schema; ``schema``
    replaces the default ``$id`` URL, e.g. with a path relative to the file.
    """
    data = manifest.model_dump(mode="json", exclude_defaults=True)
    data = {"schema_version": manifest.schema_version, **data}
    header = (
        f"#:schema {schema or schema_id('manifest')}\n"
        "# ESR challenge submission manifest. See docs/manifest.md for every key.\n"
    )
    return header + tomli_w.dumps(data)


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100644 & 0xFFFF) << 16
    info.create_system = 3
    zf.writestr(info, data)


def package_sources(folder: Path) -> list[Path]:
    """A package folder's .py files, relative, sorted; bytecode caches are left behind."""
    return sorted(
        p.relative_to(folder)
        for p in folder.rglob("*.py")
        if p.is_file() and "__pycache__" not in p.relative_to(folder).parts
    )


def model_members(
    model: Path, stem: str, *, only: Sequence[Path] | None = None
) -> dict[str, bytes]:
    """The zip members of the model: one file ``models/<stem>.py``, or, for a package folder,
    its .py files (``only`` those, relative to it, when given) under ``models/<stem>/``."""
    if not model.is_dir():
        return {f"models/{stem}.py": model.read_bytes()}
    chosen = package_sources(model) if only is None else sorted(only)
    return {f"models/{stem}/{rel.as_posix()}": (model / rel).read_bytes() for rel in chosen}


def write_submission(
    out: Path,
    *,
    manifest: Manifest,
    model: Path,
    checkpoint: Path,
    extras: list[Path] | tuple[Path, ...] = (),
    only: Sequence[Path] | None = None,
) -> None:
    """Write ``out`` with the canonical layout; the write is atomic."""
    stem = manifest.stem
    members = {
        MANIFEST_NAME: manifest_toml(manifest).encode("utf-8"),
        f"model_zoo/{stem}{checkpoint_suffix(checkpoint)}": checkpoint.read_bytes(),
        **model_members(model, stem, only=only),
    }
    for extra in extras:
        members[extra.name] = extra.read_bytes()
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(members):
            _add(zf, name, members[name])
    tmp.replace(out)
