"""Signed, verifiable reports: DSSE envelopes holding an in-toto Statement v1.

The last arrow of the data flow, ``report → signature``::

    from esr_validator.signing import load_private_key, sign_report, write_envelope
    write_envelope(sign_report(report, load_private_key(args.key)), out)

and, for anyone holding the published public key::

    verify_envelope(data, load_public_key("org.pub"), submission_zip=Path("team16.zip"))

See ``docs/signing.md`` for the file format and the trust model.
"""

from __future__ import annotations

from esr_validator.signing.dsse import PAYLOAD_TYPE, Envelope, Signature, dumps_envelope
from esr_validator.signing.errors import KeyFileError, SigningError, VerificationError
from esr_validator.signing.keys import (
    KEY_ENV,
    PASSPHRASE_ENV,
    PUBKEY_ENV,
    KeyPair,
    keyid_of,
    load_private_key,
    load_public_key,
    write_keypair,
)
from esr_validator.signing.sign import sign_report, statement_bytes, write_envelope
from esr_validator.signing.statement import (
    REPORT_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Statement,
    Subject,
)
from esr_validator.signing.verify import VerifiedReport, read_report, verify_envelope

__all__ = [
    "KEY_ENV",
    "PASSPHRASE_ENV",
    "PAYLOAD_TYPE",
    "PUBKEY_ENV",
    "REPORT_PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "Envelope",
    "KeyFileError",
    "KeyPair",
    "Signature",
    "SigningError",
    "Statement",
    "Subject",
    "VerificationError",
    "VerifiedReport",
    "dumps_envelope",
    "keyid_of",
    "load_private_key",
    "load_public_key",
    "read_report",
    "sign_report",
    "statement_bytes",
    "verify_envelope",
    "write_envelope",
    "write_keypair",
]
