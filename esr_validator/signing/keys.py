"""Ed25519 key files and key ids.

- Private key: PEM PKCS#8, written 0600. Unencrypted, or encrypted with the passphrase in
  ``$ESR_VALIDATOR_KEY_PASSPHRASE`` when that is set (at ``keygen`` and when loading).
- Public key: PEM SubjectPublicKeyInfo, at ``<private key path>.pub``.
- Key id: lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo, as
  sigstore-python computes it. Anyone can recompute it from the published key::

      openssl pkey -pubin -in org.pub -outform DER | sha256sum

Nothing here ever puts key material into a message: errors name the file, not its contents.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from esr_validator.errors import InputError, UsageError
from esr_validator.signing.errors import KeyFileError
from esr_validator.signing.files import atomic_write

KEY_ENV = "ESR_VALIDATOR_KEY"
PUBKEY_ENV = "ESR_VALIDATOR_PUBKEY"
PASSPHRASE_ENV = "ESR_VALIDATOR_KEY_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
_MAX_KEY_FILE = 64 * 1024
_ENCRYPTED_PEM = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"

KeyPath = str | os.PathLike[str]


def keyid_of(public_key: Ed25519PublicKey) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class KeyPair:
    private_path: Path
    public_path: Path
    keyid: str
    encrypted: bool


def _passphrase() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode("utf-8") if value else None


def write_keypair(path: KeyPath, *, force: bool = False) -> KeyPair:
    """Generate a key; write it to ``path`` (0600) and its public half to ``path.pub``."""
    private_path = Path(path)
    public_path = private_path.with_name(private_path.name + ".pub")
    existing = [p for p in (private_path, public_path) if os.path.lexists(p)]
    if existing and not force:
        raise KeyFileError(
            f"{' and '.join(map(str, existing))} already exist{'s' if len(existing) == 1 else ''}; "
            "refusing to overwrite a key",
            hint="reports signed with the old key stay verifiable only with its public key; "
            "pass --force to replace it anyway, or choose another path",
        )
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    try:
        atomic_write(private_path, pem, mode=0o600, overwrite=force)
        atomic_write(public_path, public_pem(key.public_key()), mode=0o644, overwrite=force)
    except FileExistsError as exc:
        raise KeyFileError(
            f"{exc.filename or private_path} appeared while the key was being written",
            hint="another keygen is writing the same path; check which key you keep",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or private_path}: {exc.strerror}") from None
    return KeyPair(private_path, public_path, keyid_of(key.public_key()), passphrase is not None)


def _read_key_file(path: Path, kind: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE + 1)
    except OSError as exc:
        raise InputError(
            f"cannot read the {kind} {path}: {exc.strerror}",
            hint="check the path (`esr-validator keygen PATH` writes PATH and PATH.pub)",
        ) from None
    if len(data) > _MAX_KEY_FILE:
        raise KeyFileError(f"{path} is too large to be a {kind}", hint="pass the PEM key file")
    return data


def private_key_path(path: KeyPath | None) -> KeyPath | None:
    """``path``, else ``$ESR_VALIDATOR_KEY``: the key a run would sign with, None for none."""
    return path if path is not None else (os.environ.get(KEY_ENV) or None)


def load_private_key(path: KeyPath | None) -> Ed25519PrivateKey | None:
    """The organizer's signing key from ``path``, else from ``$ESR_VALIDATOR_KEY``.

    ``None`` when neither is given: the report is then written unsigned.
    """
    chosen = private_key_path(path)
    if chosen is None:
        return None
    key_path = Path(chosen)
    data = _read_key_file(key_path, "private key")
    encrypted = _ENCRYPTED_PEM in data
    passphrase = _passphrase()
    if encrypted and passphrase is None:
        raise KeyFileError(
            f"{key_path} is encrypted and no passphrase was given",
            hint=f"set ${PASSPHRASE_ENV} to the key's passphrase",
        )
    try:
        key = serialization.load_pem_private_key(data, password=passphrase if encrypted else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message is not repeated: it never should, but could, quote the input.
        reason = "the passphrase is wrong or " if encrypted else ""
        raise KeyFileError(
            f"{key_path} is not a readable PEM private key ({reason}the file is damaged)",
            hint="pass the file `esr-validator keygen` wrote (not the .pub file)",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(
            f"{key_path} holds a {type(key).__name__.removeprefix('_')} key, not Ed25519",
            hint="reports are signed with Ed25519 only; create a key with `esr-validator keygen`",
        )
    return key


def load_public_key(path: KeyPath | None) -> Ed25519PublicKey:
    """A verification key from ``path``, else from ``$ESR_VALIDATOR_PUBKEY``."""
    chosen = path if path is not None else (os.environ.get(PUBKEY_ENV) or None)
    if chosen is None:
        raise UsageError(
            "no public key given",
            hint=f"pass --pubkey org.pub or set ${PUBKEY_ENV}; the organizers publish their key "
            "with the challenge",
        )
    key_path = Path(chosen)
    data = _read_key_file(key_path, "public key")
    if b"PRIVATE KEY-----" in data:
        raise KeyFileError(
            f"{key_path} is a private key; verification needs only the public key",
            hint=f"pass {key_path}.pub instead, and never share the private key file",
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(
            f"{key_path} is not a PEM public key",
            hint="pass the .pub file published by the organizers (it starts with "
            "'-----BEGIN PUBLIC KEY-----')",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(
            f"{key_path} holds a {type(key).__name__.removeprefix('_')} key, not Ed25519",
            hint="esr-validator reports are signed with Ed25519 keys only",
        )
    return key
