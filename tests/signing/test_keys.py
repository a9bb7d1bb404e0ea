"""Key files: keygen permissions and refusals, loading, passphrases, key ids."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from esr_validator.errors import InputError, UsageError
from esr_validator.signing import (
    KEY_ENV,
    PASSPHRASE_ENV,
    PUBKEY_ENV,
    KeyFileError,
    keyid_of,
    load_private_key,
    load_public_key,
    write_keypair,
)
from tests.signing_support import clear_signing_env


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_signing_env(monkeypatch)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_writes_a_0600_pkcs8_key_and_a_public_key(tmp_path: Path) -> None:
    pair = write_keypair(tmp_path / "org.key")

    assert pair.public_path == tmp_path / "org.key.pub"
    assert mode(pair.private_path) == 0o600
    assert pair.private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert pair.public_path.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    key = load_private_key(pair.private_path)
    assert key is not None
    assert keyid_of(load_public_key(pair.public_path)) == keyid_of(key.public_key()) == pair.keyid
    assert sorted(p.name for p in tmp_path.iterdir()) == ["org.key", "org.key.pub"]


def test_keyid_is_sha256_of_the_spki_der(tmp_path: Path) -> None:
    pair = write_keypair(tmp_path / "k")
    pem = pair.public_path.read_bytes()
    der = serialization.load_pem_public_key(pem).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert pair.keyid == hashlib.sha256(der).hexdigest()


@pytest.mark.parametrize("existing", ["k", "k.pub"])
def test_keygen_refuses_to_overwrite_without_force(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"keep me")
    with pytest.raises(KeyFileError, match="refusing to overwrite") as info:
        write_keypair(tmp_path / "k")
    assert "--force" in (info.value.hint or "")
    assert (tmp_path / existing).read_bytes() == b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]


def test_keygen_force_replaces_the_key_with_a_fresh_0600_file(tmp_path: Path) -> None:
    old = write_keypair(tmp_path / "k")
    old.private_path.chmod(0o644)
    new = write_keypair(tmp_path / "k", force=True)
    assert new.keyid != old.keyid
    assert mode(new.private_path) == 0o600


def test_private_key_is_never_readable_by_others_even_with_a_lax_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        pair = write_keypair(tmp_path / "k")
    finally:
        os.umask(previous)
    assert mode(pair.private_path) == 0o600


def test_passphrase_encrypts_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "correct horse")
    pair = write_keypair(tmp_path / "k")
    assert b"ENCRYPTED PRIVATE KEY" in pair.private_path.read_bytes()
    key = load_private_key(pair.private_path)
    assert key is not None and keyid_of(key.public_key()) == pair.keyid

    monkeypatch.setenv(PASSPHRASE_ENV, "wrong")
    with pytest.raises(KeyFileError, match="passphrase is wrong"):
        load_private_key(pair.private_path)
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(KeyFileError, match="encrypted"):
        load_private_key(pair.private_path)


def test_private_key_comes_from_the_path_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_private_key(None) is None  # no key anywhere: the report goes unsigned
    pair = write_keypair(tmp_path / "k")
    monkeypatch.setenv(KEY_ENV, str(pair.private_path))
    key = load_private_key(None)
    assert key is not None and keyid_of(key.public_key()) == pair.keyid
    with pytest.raises(InputError):
        load_private_key(tmp_path / "missing")


def test_public_key_comes_from_the_path_then_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match="no public key"):
        load_public_key(None)
    pair = write_keypair(tmp_path / "k")
    monkeypatch.setenv(PUBKEY_ENV, str(pair.public_path))
    assert keyid_of(load_public_key(None)) == pair.keyid


def test_a_private_key_is_refused_where_a_public_key_is_expected(tmp_path: Path) -> None:
    pair = write_keypair(tmp_path / "k")
    with pytest.raises(KeyFileError, match="is a private key") as info:
        load_public_key(pair.private_path)
    assert pair.private_path.read_text() not in info.value.describe()


def test_other_algorithms_and_garbage_are_refused(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ec").write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "ec.pub").write_bytes(
        ec_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVzLXRoYXQtbXVzdC1ub3QtbGVhaw==\n"
    (tmp_path / "garbage").write_text(secret)
    with pytest.raises(KeyFileError, match="not Ed25519"):
        load_private_key(tmp_path / "ec")
    with pytest.raises(KeyFileError, match="not Ed25519"):
        load_public_key(tmp_path / "ec.pub")
    with pytest.raises(KeyFileError, match="not a readable PEM private key") as info:
        load_private_key(tmp_path / "garbage")
    assert "c2VjcmV0" not in info.value.describe()
    (tmp_path / "big").write_bytes(b"x" * 100_000)
    with pytest.raises(KeyFileError, match="too large"):
        load_public_key(tmp_path / "big")
