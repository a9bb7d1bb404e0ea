"""Safe intake of a submission zip.

The central directory is read and judged before a single byte is extracted. Extraction then
streams each member with its declared size enforced, so an archive that lies about its sizes
(a classic zip-bomb trick) is caught while reading, not after the disk is full.
"""

from __future__ import annotations

import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from esr_validator.codes import finding
from esr_validator.schemas.findings import Finding

ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst", ".lz4")
# Finder and Windows add these; they carry nothing and are skipped with a warning.
JUNK_PARTS = ("__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini")
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_members: int = 64
    max_total_bytes: int = 1 << 30  # 1 GiB uncompressed
    max_member_bytes: int = 1 << 30
    max_ratio: float = 200.0  # uncompressed / compressed, for members above ratio_floor
    ratio_floor: int = 1 << 20
    max_name_length: int = 255


@dataclass(frozen=True)
class Member:
    name: str  # normalised posix path, no leading "./"
    size: int
    compressed: int
    is_dir: bool
    info: zipfile.ZipInfo = field(repr=False, compare=False)


@dataclass
class ZipScan:
    members: list[Member] = field(default_factory=list)
    junk: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def files(self) -> list[Member]:
        return [m for m in self.members if not m.is_dir]


def _unsafe_reason(raw: str, limits: Limits) -> str | None:
    if not raw or "\x00" in raw:
        return "empty name or NUL byte"
    if len(raw) > limits.max_name_length:
        return f"name longer than {limits.max_name_length} characters"
    if "\\" in raw:
        return "backslash in name (Windows path separator)"
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        return "absolute path"
    parts = PurePosixPath(raw).parts
    if any(p == ".." for p in parts):
        return "'..' path traversal"
    return None


def _normalise(raw: str) -> str:
    parts = [p for p in PurePosixPath(raw).parts if p not in (".", "")]
    return "/".join(parts)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def _judge(info: zipfile.ZipInfo, name: str, limits: Limits) -> list[Finding]:
    out: list[Finding] = []
    if _is_symlink(info):
        out.append(finding("zip-symlink", f"'{name}' is a symbolic link", path=name))
    if info.flag_bits & 0x1:
        out.append(finding("zip-encrypted", f"'{name}' is encrypted", path=name))
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        out.append(
            finding("zip-nested-archive", f"'{name}' is an archive inside the archive", path=name)
        )
    if info.file_size > limits.max_member_bytes:
        out.append(
            finding("zip-too-large", f"'{name}' expands to {info.file_size} bytes", path=name)
        )
    if info.file_size > limits.ratio_floor:
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > limits.max_ratio:
            out.append(
                finding(
                    "zip-compression-ratio",
                    f"'{name}' expands {ratio:.0f}x (limit {limits.max_ratio:.0f}x)",
                    path=name,
                )
            )
    return out


def scan(zip_path: Path, *, limits: Limits) -> ZipScan:
    """Read and judge the central directory; extract nothing."""
    result = ZipScan()
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        result.findings.append(finding("zip-unreadable", f"not a readable zip archive: {exc}"))
        return result
    if len(infos) > limits.max_members:
        result.findings.append(
            finding("zip-too-many-members", f"{len(infos)} members (limit {limits.max_members})")
        )
        return result
    seen: dict[str, str] = {}
    total = 0
    for info in infos:
        reason = _unsafe_reason(info.filename, limits)
        if reason:
            shown = info.filename.encode("unicode_escape").decode("ascii")[:200]
            result.findings.append(finding("zip-unsafe-path", f"'{shown}': {reason}", path=shown))
            continue
        name = _normalise(info.filename)
        if not name:  # "." or "./": names the root itself, nothing to extract
            continue
        if any(part in JUNK_PARTS for part in PurePosixPath(name).parts):
            result.junk.append(name)
            continue
        key = name.casefold()  # two names differing by case collide on macOS/Windows disks
        if key in seen:
            result.findings.append(
                finding(
                    "zip-duplicate-name",
                    f"'{name}' appears more than once (also as '{seen[key]}')",
                    path=name,
                )
            )
            continue
        seen[key] = name
        result.findings.extend(_judge(info, name, limits))
        total += info.file_size
        result.members.append(Member(name, info.file_size, info.compress_size, info.is_dir(), info))
    if total > limits.max_total_bytes:
        result.findings.append(
            finding(
                "zip-too-large",
                f"archive expands to {total} bytes (limit {limits.max_total_bytes})",
            )
        )
    return result


def _copy_member(zf: zipfile.ZipFile, member: Member, target: Path) -> str | None:
    """Stream one member to ``target``; return a problem description or None."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    written = 0
    try:
        with zf.open(member.info) as src, os.fdopen(fd, "wb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                if written > member.size:
                    return f"holds more than its declared {member.size} bytes"
                dst.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        return f"cannot be read ({exc})"
    if written != member.size:
        return f"holds {written} bytes, not its declared {member.size}"
    return None


def extract(
    zip_path: Path, members: list[Member], dest: Path, *, strip_prefix: str = ""
) -> list[Finding]:
    """Extract ``members`` (already judged by ``scan``) below ``dest``."""
    findings: list[Finding] = []
    with zipfile.ZipFile(zip_path) as zf:
        for member in members:
            rel = member.name[len(strip_prefix) :] if strip_prefix else member.name
            if not rel:
                continue
            target = dest.joinpath(*PurePosixPath(rel).parts)
            if member.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            problem = _copy_member(zf, member, target)
            if problem:
                target.unlink(missing_ok=True)
                findings.append(
                    finding("zip-member-corrupt", f"'{member.name}' {problem}", path=member.name)
                )
    return findings
