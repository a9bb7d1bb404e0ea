"""Zip bombs, lying archives and hostile member names."""

from __future__ import annotations

import string
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esr_validator.intake import zipread
from esr_validator.intake.check import run_intake


def test_high_ratio_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("model_zoo/team16_X.pth", b"\0" * (64 << 20))  # 64 MiB of zeros
    with run_intake(path) as intake:
        assert "ESR109" in {f.code for f in intake.findings}
        assert intake.root is None


def test_total_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(3):
            zf.writestr(f"f{i}.bin", b"x" * 1000)
    scan = zipread.scan(path, limits=zipread.Limits(max_total_bytes=2500))
    assert "ESR108" in {f.code for f in scan.findings}


def test_member_count_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(70):
            zf.writestr(f"f{i}.txt", b"")
    with run_intake(path) as intake:
        assert [f.code for f in intake.findings] == ["ESR107"]


def _lying_zip(path: Path, payload: bytes, declared: int) -> Path:
    """A stored member whose headers declare fewer bytes than it really holds."""
    name = b"model_zoo/team16_X.pth"
    crc = zlib.crc32(payload)
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, crc, len(payload), declared, len(name), 0
    )
    body = local + name + payload
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII",
        0x02014B50,
        20,
        20,
        0,
        0,
        0,
        0,
        crc,
        len(payload),
        declared,
        len(name),
        0,
        0,
        0,
        0,
        0,
        0,
    )
    central += name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


def test_member_larger_than_declared_is_cut_off(tmp_path: Path) -> None:
    path = _lying_zip(tmp_path / "liar.zip", b"A" * 5000, declared=10)
    scan = zipread.scan(path, limits=zipread.Limits())
    assert not scan.findings
    dest = tmp_path / "out"
    dest.mkdir()
    found = zipread.extract(path, scan.members, dest)
    assert [f.code for f in found] == ["ESR110"]
    assert not (dest / "model_zoo" / "team16_X.pth").exists()


names = st.text(
    alphabet=st.sampled_from(string.ascii_letters + string.digits + "./\\:_-~ \x00é"),
    min_size=0,
    max_size=40,
)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(members=st.lists(st.tuples(names, st.integers(0, 3000)), min_size=0, max_size=8))
def test_hostile_names_and_sizes_never_escape_or_raise(
    tmp_path: Path, members: list[tuple[str, int]]
) -> None:
    case = Path(tempfile.mkdtemp(dir=tmp_path))
    path = case / "h.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, size in members:
            info = zipfile.ZipInfo("x")
            info.filename = name  # bypass ZipInfo's own normalisation: hostile on purpose
            try:
                zf.writestr(info, b"z" * size)
            except (ValueError, UnicodeEncodeError):
                continue
    with run_intake(path, workdir=case) as intake:
        root = intake.root
        if root is not None:
            for p in root.rglob("*"):
                assert p.resolve().is_relative_to(root.resolve())
                assert not p.is_symlink()
    outside = {p.name for p in case.iterdir()}
    assert outside <= {"h.zip"}, outside
