"""A corpus of bad submissions: every rule broken alone, then some together.

Each case must yield its exact code, and no case may raise.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import tomli_w

from esr_validator.intake.check import run_intake
from esr_validator.schemas.findings import Severity
from tests import subs

GOOD = subs.good_members()
MODEL = "models/team16_TinySR.py"
CKPT = "model_zoo/team16_TinySR.pth"


def _with(**changes: bytes | None) -> dict[str, bytes]:
    members = dict(GOOD)
    for name, data in changes.items():
        name = name.replace("__", "/").replace("_DOT_", ".")
        if data is None:
            members.pop(name, None)
        else:
            members[name] = data
    return members


def _manifest(**overrides: object) -> bytes:
    return tomli_w.dumps(subs.manifest(**overrides)).encode()


def _rename(old: str, new: str, members: dict[str, bytes] | None = None) -> dict[str, bytes]:
    members = dict(members or GOOD)
    members[new] = members.pop(old)
    return members


CASES: dict[str, tuple[Callable[[], dict[str, bytes]], str]] = {
    "no manifest": (lambda: {k: v for k, v in GOOD.items() if k != "submission.toml"}, "ESR201"),
    "manifest not toml": (lambda: {**GOOD, "submission.toml": b"team_id = = 3"}, "ESR202"),
    "manifest missing field": (
        lambda: {**GOOD, "submission.toml": tomli_w.dumps({"team_id": 16}).encode()},
        "ESR203",
    ),
    "manifest unknown key": (
        lambda: {**GOOD, "submission.toml": _manifest(colour="red")},
        "ESR204",
    ),
    "data range 100": (lambda: {**GOOD, "submission.toml": _manifest(data_range=100.0)}, "ESR205"),
    "scale 8": (lambda: {**GOOD, "submission.toml": _manifest(scale=8)}, "ESR206"),
    "scale 2 under x4 rules": (lambda: {**GOOD, "submission.toml": _manifest(scale=2)}, "ESR206"),
    "team id 123": (lambda: {**GOOD, "submission.toml": _manifest(team_id=123)}, "ESR207"),
    "team id one digit in name": (
        lambda: _rename(
            CKPT, "model_zoo/team6_TinySR.pth", _rename(MODEL, "models/team6_TinySR.py")
        ),
        "ESR207",
    ),
    "team id differs": (lambda: {**GOOD, "submission.toml": _manifest(team_id=17)}, "ESR208"),
    "no model file": (lambda: {k: v for k, v in GOOD.items() if k != MODEL}, "ESR209"),
    "two model files": (lambda: {**GOOD, "models/team16_Other.py": b"x = 1\n"}, "ESR210"),
    "model misnamed": (lambda: _rename(MODEL, "models/TinySR.py"), "ESR211"),
    "no checkpoint": (lambda: {k: v for k, v in GOOD.items() if k != CKPT}, "ESR212"),
    "checkpoint outside model_zoo": (lambda: _rename(CKPT, "team16_TinySR.pth"), "ESR212"),
    "two checkpoints": (lambda: {**GOOD, "model_zoo/team16_TinySR_b.pth": GOOD[CKPT]}, "ESR213"),
    "pkl checkpoint": (lambda: _rename(CKPT, "model_zoo/team16_TinySR.pkl"), "ESR214"),
    "checkpoint named differently": (
        lambda: _rename(CKPT, "model_zoo/team16_model2.pth"),
        "ESR215",
    ),
    "helper module": (lambda: {**GOOD, "utils.py": b"x = 1\n"}, "ESR216"),
    "package init": (lambda: {**GOOD, "models/__init__.py": b""}, "ESR210"),
    "stray file": (lambda: {**GOOD, "train.log": b"epoch 1\n"}, "ESR217"),
    "model name differs": (
        lambda: {**GOOD, "submission.toml": _manifest(model_name="Other")},
        "ESR218",
    ),
    "nested archive": (lambda: {**GOOD, "extra.zip": b"PK\x05\x06" + bytes(18)}, "ESR106"),
    # ESR219: the sandbox imports exactly the one model source; nothing may sit beside it.
    "bytecode in models": (
        lambda: {**GOOD, "models/__pycache__/team16_TinySR.cpython-311.pyc": b"\x00" * 16},
        "ESR219",
    ),
    "pyc beside the model": (lambda: {**GOOD, "models/team16_TinySR.pyc": b"\x00"}, "ESR219"),
    "extension in models": (lambda: {**GOOD, "models/team16_TinySR.so": b"\x7fELF"}, "ESR219"),
    "subfolder in models": (lambda: {**GOOD, "models/arch/blocks.py": b"x = 1\n"}, "ESR219"),
    "trailing-space name": (lambda: {**GOOD, "models/team16_TinySR.py ": b"x = 1\n"}, "ESR219"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_alone(case: str, make_zip: Callable[..., Path]) -> None:
    build, code = CASES[case]
    with run_intake(make_zip(build())) as intake:
        codes = {f.code for f in intake.findings}
    assert code in codes, (case, intake.findings)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CASES[c][1] == "ESR219"))
def test_models_dir_extra_file_stops_the_run(case: str, make_zip: Callable[..., Path]) -> None:
    with run_intake(make_zip(CASES[case][0]())) as intake:
        extra = [f for f in intake.findings if f.code == "ESR219"]
        assert not intake.runnable, (case, intake.findings)
    assert extra and all(f.severity is Severity.ERROR for f in extra)
    assert all(f.path and f.path.startswith("models/") for f in extra)


def test_good_submission_passes(good_zip: Path) -> None:
    with run_intake(good_zip) as intake:
        assert intake.ok, intake.findings
        assert intake.runnable
        assert intake.manifest is not None and intake.manifest.team_id == 16
        assert intake.model_file == MODEL and intake.checkpoint_file == CKPT
        root = intake.root
        assert root is not None and (root / MODEL).is_file()
        assert oct(root.stat().st_mode & 0o777) == oct(0o700)
    assert not root.exists(), "the private directory is removed on exit"


def test_readme_and_factsheet_are_allowed(make_zip: Callable[..., Path]) -> None:
    members = {**GOOD, "README.md": b"# ours", "factsheet.pdf": b"%PDF-1.4"}
    with run_intake(make_zip(members)) as intake:
        assert intake.ok, intake.findings


def test_combination_reports_everything_at_once(make_zip: Callable[..., Path]) -> None:
    members = _rename(CKPT, "model_zoo/team16_TinySR.pkl")
    members["submission.toml"] = _manifest(data_range=2.0, team_id=16, surprise=1)
    members["helpers.py"] = b"pass\n"
    with run_intake(make_zip(members)) as intake:
        codes = {f.code for f in intake.findings}
    assert {"ESR214", "ESR205", "ESR204", "ESR216"} <= codes


def test_folder_wrapped_zip_is_accepted_with_a_note(make_zip: Callable[..., Path]) -> None:
    members = {f"team16/{k}": v for k, v in GOOD.items()}
    with run_intake(make_zip(members)) as intake:
        assert intake.ok, intake.findings
        assert any(f.severity is Severity.INFO for f in intake.findings)


def test_macos_metadata_is_skipped_with_a_warning(make_zip: Callable[..., Path]) -> None:
    members = {**GOOD, "__MACOSX/._submission.toml": b"junk", ".DS_Store": b"junk"}
    with run_intake(make_zip(members)) as intake:
        assert intake.ok, intake.findings
        assert any(
            f.severity is Severity.WARNING and "metadata" in f.message for f in intake.findings
        )


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "x.zip"
    bad.write_bytes(b"this is not a zip file at all")
    with run_intake(bad) as intake:
        assert [f.code for f in intake.findings] == ["ESR101"]
        assert intake.root is None


def _raw_zip(path: Path, entries: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return path


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("../evil.py", "ESR102"),
        ("/etc/passwd", "ESR102"),
        ("C:/x.py", "ESR102"),
        ("a\\b.py", "ESR102"),
    ],
)
def test_unsafe_names_block_extraction(tmp_path: Path, name: str, code: str) -> None:
    entries = [(zipfile.ZipInfo(k), v) for k, v in GOOD.items()]
    entries.append((zipfile.ZipInfo(name), b"owned"))
    with run_intake(_raw_zip(tmp_path / "t.zip", entries)) as intake:
        assert code in {f.code for f in intake.findings}
        assert intake.root is None, "nothing is extracted from an unsafe archive"
    assert not (tmp_path.parent / "evil.py").exists()


def test_symlink_member(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("models/link.py")
    link.create_system = 3
    link.external_attr = (0o120777 & 0xFFFF) << 16
    entries = [(zipfile.ZipInfo(k), v) for k, v in GOOD.items()] + [(link, b"/etc/passwd")]
    with run_intake(_raw_zip(tmp_path / "t.zip", entries)) as intake:
        assert "ESR103" in {f.code for f in intake.findings}
        assert intake.root is None


def test_duplicate_names(tmp_path: Path) -> None:
    entries = [(zipfile.ZipInfo(k), v) for k, v in GOOD.items()]
    entries.append((zipfile.ZipInfo(MODEL), b"import os\n"))
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = _raw_zip(tmp_path / "t.zip", entries)
    with run_intake(path) as intake:
        assert "ESR104" in {f.code for f in intake.findings}


def test_encrypted_flag(tmp_path: Path) -> None:
    # zipfile clears flag bits on write, so set the "encrypted" bit in the bytes afterwards.
    path = subs.write_zip(tmp_path / "t.zip", GOOD)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo(MODEL).header_offset
    data[offset + 6] |= 0x1
    central = data.index(b"PK\x01\x02")
    while not data[central + 46 :].startswith(MODEL.encode()):
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 8] |= 0x1
    path.write_bytes(bytes(data))
    with run_intake(path) as intake:
        assert "ESR105" in {f.code for f in intake.findings}
        assert intake.root is None
