"""Turning a report into an envelope file.

Report → JSON (refusing NaN/Inf) → Statement → RFC 8785 bytes → DSSE envelope → file
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from esr_validator.errors import InputError
from esr_validator.schemas.report import Report
from esr_validator.signing.canonical import as_json_doubles, canonical_bytes, non_finite_paths
from esr_validator.signing.dsse import PAYLOAD_TYPE, Envelope, describe_validation, dumps_envelope
from esr_validator.signing.dsse import sign_payload as _sign_payload
from esr_validator.signing.errors import SigningError
from esr_validator.signing.files import atomic_write
from esr_validator.signing.statement import statement_json

_BUG_HINT = "this is a bug in the stage that built the report; please report it"


def report_predicate(report: Report) -> dict[str, Any]:
    """The report as the JSON value that gets signed, refusing anything unsignable."""
    # Both dumps are checked: in JSON mode pydantic silently turns a non-finite float held
    # in an untyped field (manifest kwargs) into null, so the Python dump is looked at first.
    predicate: dict[str, Any] = as_json_doubles(report.model_dump(mode="json"))
    bad = non_finite_paths(report.model_dump()) or non_finite_paths(predicate)
    if bad:
        raise SigningError(
            f"the report holds values that JSON cannot represent: {', '.join(bad[:5])}",
            hint="a signed report must mean the same to every reader; store an undefined "
            "measurement as null (e.g. PSNR of identical images, with identical = true). "
            + _BUG_HINT,
        )
    try:
        Report.model_validate(predicate)
    except ValidationError as exc:
        raise SigningError(
            f"the report does not validate against its own schema: {describe_validation(exc)}",
            hint="it would be signed but could never be verified. " + _BUG_HINT,
        ) from None
    return predicate


def statement_bytes(report: Report) -> bytes:
    """The canonical (RFC 8785) in-toto statement about ``report``: the signed payload."""
    predicate = report_predicate(report)
    try:
        statement = statement_json(report, predicate)
    except ValidationError as exc:
        raise SigningError(
            f"the report's submission digests are not lowercase SHA-256 hex: "
            f"{describe_validation(exc)}",
            hint=_BUG_HINT,
        ) from None
    try:
        return canonical_bytes(statement)
    except rfc8785.CanonicalizationError as exc:
        raise SigningError(f"the report cannot be canonicalised: {exc}", hint=_BUG_HINT) from None


def sign_report(report: Report, key: Ed25519PrivateKey | None) -> Envelope:
    """An envelope holding ``report``: signed with ``key``, or marked unsigned (no
    signatures) when ``key`` is None."""
    return _sign_payload(statement_bytes(report), PAYLOAD_TYPE, key)


def write_envelope(env: Envelope, path: str | os.PathLike[str]) -> None:
    """Write the envelope file atomically (temporary file, fsync, rename)."""
    target = Path(path)
    try:
        atomic_write(target, dumps_envelope(env), mode=0o644)
    except OSError as exc:
        raise InputError(
            f"cannot write the report to {target}: {exc.strerror}",
            hint="check that the folder exists and is writable",
        ) from None
