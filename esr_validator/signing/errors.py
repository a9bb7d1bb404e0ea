"""The signing stage's failures, each a :class:`~esr_validator.errors.SignatureError` (exit 5).

Messages name files and key ids, never key material: a private key must not reach a log, an
error or a report, so no message here is ever built from a key file's contents.
"""

from __future__ import annotations

from esr_validator.errors import SignatureError


class KeyFileError(SignatureError):
    """A key file cannot be written, or does not hold a usable Ed25519 key."""

    what = "key file problem"


class SigningError(SignatureError):
    """The report cannot be turned into signed bytes (nothing was signed)."""

    what = "the report cannot be signed"


class VerificationError(SignatureError):
    """The envelope is not a valid, canonical report signed by the given key.

    The message says which check failed; a report that fails any check must not be trusted,
    not even in part.
    """

    what = "the report failed verification"
