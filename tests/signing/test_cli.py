"""``esr-validator keygen`` and ``verify``, called in-process through ``main``."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from esr_validator.cli import main
from esr_validator.errors import EXIT_IO, EXIT_OK, EXIT_SIGNATURE, EXIT_USAGE
from esr_validator.signing import (
    PUBKEY_ENV,
    load_private_key,
    sign_report,
    write_envelope,
)
from tests.signing_support import ZIP_BYTES, clear_signing_env, make_report, write_zip


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_signing_env(monkeypatch, "ESR_TRACEBACK")


class World:
    """An organizer key, a signed report about a zip, and everything printed so far."""

    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmp, self.capsys, self.printed = tmp_path, capsys, ""
        self.key_path = tmp_path / "org.key"
        self.pub_path = tmp_path / "org.key.pub"
        self.zip_path = write_zip(tmp_path / "team16.zip")
        self.report_path = tmp_path / "report.json"

    def cli(self, *argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        self.printed += out + err
        return code, out, err

    def sign(self, key_path: Path | None = None) -> None:
        key = load_private_key(key_path or self.key_path)
        write_envelope(sign_report(make_report(), key), self.report_path)


@pytest.fixture
def world(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> World:
    w = World(tmp_path, capsys)
    assert w.cli("keygen", str(w.key_path))[0] == EXIT_OK
    w.sign()
    return w


def test_keygen_prints_paths_and_key_id_and_refuses_to_overwrite(world: World) -> None:
    code, out, _ = world.cli("keygen", str(world.tmp / "k2"))
    assert code == EXIT_OK
    assert re.search(r"key id: [0-9a-f]{64}\n", out)
    before = world.key_path.read_bytes()
    code, out, err = world.cli("keygen", str(world.key_path))
    assert code == EXIT_SIGNATURE
    assert "refusing to overwrite" in err and "--force" in err
    assert world.key_path.read_bytes() == before
    assert world.cli("keygen", str(world.key_path), "--force")[0] == EXIT_OK
    assert world.key_path.read_bytes() != before


def test_verify_ok_with_submission(world: World) -> None:
    code, out, _ = world.cli(
        "verify", str(world.report_path), "--pubkey", str(world.pub_path),
        "--submission", str(world.zip_path),
    )  # fmt: skip
    assert code == EXIT_OK
    assert out.startswith("OK: signed by ")
    assert "team16.zip matches the signed digest" in out


def test_verify_takes_the_public_key_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PUBKEY_ENV, str(world.pub_path))
    code, out, _ = world.cli("verify", str(world.report_path))
    assert code == EXIT_OK
    assert "submission: not checked" in out


def test_verify_fails_with_another_key(world: World) -> None:
    world.cli("keygen", str(world.tmp / "other.key"))
    code, out, _ = world.cli(
        "verify", str(world.report_path), "--pubkey", str(world.tmp / "other.key.pub")
    )
    assert code == EXIT_SIGNATURE
    assert out.startswith("FAIL: the envelope names signing key ")
    assert "  hint: " in out


def test_verify_fails_for_another_submission(world: World) -> None:
    other = write_zip(world.tmp / "team17.zip", ZIP_BYTES + b"!")
    code, out, _ = world.cli(
        "verify", str(world.report_path), "--pubkey", str(world.pub_path),
        "--submission", str(other),
    )  # fmt: skip
    assert code == EXIT_SIGNATURE
    assert out.startswith("FAIL: team17.zip (sha256 ")


def test_verify_fails_for_an_unsigned_or_tampered_report(world: World) -> None:
    write_envelope(sign_report(make_report(), None), world.report_path)
    code, out, _ = world.cli("verify", str(world.report_path), "--pubkey", str(world.pub_path))
    assert (code, out.splitlines()[0]) == (
        EXIT_SIGNATURE,
        "FAIL: the report is unsigned: its envelope has no signatures",
    )
    world.sign()
    data = bytearray(world.report_path.read_bytes())
    data[len(data) // 2] ^= 0x04
    world.report_path.write_bytes(bytes(data))
    code, out, _ = world.cli("verify", str(world.report_path), "--pubkey", str(world.pub_path))
    assert code == EXIT_SIGNATURE and out.startswith("FAIL: ")


def test_verify_tool_errors_are_not_verdicts(world: World) -> None:
    code, out, err = world.cli("verify", str(world.report_path))
    assert (code, out) == (EXIT_USAGE, "")
    assert "no public key given" in err and PUBKEY_ENV in err
    code, _, err = world.cli(
        "verify", str(world.tmp / "nope.json"), "--pubkey", str(world.pub_path)
    )
    assert code == EXIT_IO and "cannot read the report" in err
    code, _, err = world.cli("verify", str(world.report_path), "--pubkey", str(world.key_path))
    assert code == EXIT_SIGNATURE and "is a private key" in err


def test_private_key_material_never_appears_in_any_output(world: World) -> None:
    # Exercise every path that touches the private key or could print about it.
    world.cli("keygen", str(world.key_path))  # refused
    world.cli("keygen", str(world.key_path), "--force")
    world.sign()
    world.cli("verify", str(world.report_path), "--pubkey", str(world.pub_path))
    world.cli("verify", str(world.report_path), "--pubkey", str(world.key_path))
    world.cli("verify", str(world.report_path), "--pubkey", str(world.tmp / "k.pub"))
    world.cli("keygen", str(world.tmp / "k"))
    world.cli("verify", str(world.report_path), "--pubkey", str(world.tmp / "k.pub"))

    pem = world.key_path.read_bytes()
    key = load_private_key(world.key_path)
    assert key is not None
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = b"".join(pem.splitlines()[1:-1]).decode()
    secrets = [body, body[:24], raw.hex(), base64.b64encode(raw).decode()]
    haystacks = [world.printed, world.report_path.read_bytes().decode()]
    for secret in secrets:
        for text in haystacks:
            assert secret not in text
    assert "OK: signed by" in world.printed and "FAIL:" in world.printed
