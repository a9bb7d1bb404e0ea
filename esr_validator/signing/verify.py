"""Checking an envelope file, and reading a report without checking it.

``verify_envelope`` authenticates before it interprets: the payload is parsed only after the
signature over ``PAE(payloadType, payload)`` has been checked. Every failure is a
:class:`VerificationError` whose message names the check that failed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from esr_validator.errors import InputError
from esr_validator.schemas.report import Report
from esr_validator.signing.canonical import canonical_bytes, strict_loads
from esr_validator.signing.dsse import (
    PAYLOAD_TYPE,
    Envelope,
    b64decode,
    describe_validation,
    pae,
    parse_envelope,
)
from esr_validator.signing.errors import VerificationError
from esr_validator.signing.keys import keyid_of
from esr_validator.signing.statement import (
    REPORT_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Statement,
    Subject,
    report_subjects,
)

_M = TypeVar("_M", Statement, Report)
_NOT_OURS = "this envelope was not written by esr-validator's signing stage"


@dataclass(frozen=True)
class VerifiedReport:
    """A report whose signature, form and content all checked out."""

    report: Report
    keyid: str
    subjects: tuple[Subject, ...]
    submission_checked: bool


def verify_envelope(
    env_bytes: bytes, public_key: Ed25519PublicKey, *, submission_zip: Path | None = None
) -> VerifiedReport:
    """Verify an envelope file's bytes against ``public_key``.

    With ``submission_zip``, also require that the report is about that very file.
    """
    env = parse_envelope(env_bytes)
    if env.payload_type != PAYLOAD_TYPE:
        raise VerificationError(
            f"payloadType is {env.payload_type!r}, expected {PAYLOAD_TYPE!r}",
            hint="a signature made for another kind of document is never accepted as a report",
        )
    keyid, payload = _check_signature(env, public_key)
    report, statement = _read_statement(payload)
    if submission_zip is not None:
        _check_submission(report, submission_zip)
    return VerifiedReport(report, keyid, tuple(statement.subject), submission_zip is not None)


def read_report(path: str | os.PathLike[str]) -> Report:
    """The report inside an envelope file, signed or not, **without** checking any signature.

    For consumers that only need the content; anything that relies on who produced the
    numbers must call :func:`verify_envelope` instead.
    """
    env = parse_envelope(_read_file(Path(path), "report"))
    report, _ = _read_statement(b64decode(env.payload, what="the payload"))
    return report


def _check_signature(env: Envelope, public_key: Ed25519PublicKey) -> tuple[str, bytes]:
    """The key id and the authenticated payload bytes."""
    if not env.signatures:
        raise VerificationError(
            "the report is unsigned: its envelope has no signatures",
            hint="it was written without a key, so nothing vouches for it; ask for the "
            "organizer-signed report",
        )
    if len(env.signatures) > 1:
        raise VerificationError(
            f"the envelope has {len(env.signatures)} signatures; esr-validator reports carry "
            f"exactly one",
            hint=_NOT_OURS,
        )
    signature = env.signatures[0]
    expected = keyid_of(public_key)
    if signature.keyid != expected:
        raise VerificationError(
            f"the envelope names signing key {signature.keyid!r}, but the given public key is "
            f"{expected}",
            hint="pass the public key that signed this report: the organizers' key for an "
            "official report, the team's own key for a self-attested one",
        )
    sig = b64decode(signature.sig, what="the signature")
    payload = b64decode(env.payload, what="the payload")
    try:
        public_key.verify(sig, pae(env.payload_type, payload))
    except (InvalidSignature, ValueError):
        raise VerificationError(
            f"the signature does not match the report for key {expected}: the payload or "
            "the signature was changed after signing",
            hint="do not trust any part of this report; obtain the original file",
        ) from None
    return expected, payload


def _read_statement(payload: bytes) -> tuple[Report, Statement]:
    value = strict_loads(payload, what="the payload")
    _check_canonical(value, payload)
    if not isinstance(value, dict):
        raise VerificationError("the payload is not a JSON object", hint=_NOT_OURS)
    if value.get("_type") != STATEMENT_TYPE:
        raise VerificationError(
            f"the payload's _type is {value.get('_type')!r}, expected {STATEMENT_TYPE!r}",
            hint=_NOT_OURS,
        )
    if value.get("predicateType") != REPORT_PREDICATE_TYPE:
        raise VerificationError(
            f"predicateType is {value.get('predicateType')!r}, expected "
            f"{REPORT_PREDICATE_TYPE!r}: this is not an esr-validator report of this version",
            hint="a report of a newer schema needs a newer esr-validator to verify",
        )
    statement = _validated(Statement, value, "the payload is not an in-toto Statement")
    report = _validated(Report, statement.predicate, "the predicate is not a valid report")
    try:
        expected = report_subjects(report)
    except ValidationError as exc:
        raise VerificationError(
            f"the report's submission digests are malformed: {describe_validation(exc)}",
            hint=_NOT_OURS,
        ) from None
    if statement.subject != expected:
        raise VerificationError(
            "the statement's subjects differ from the files named in the report's submission block",
            hint=_NOT_OURS,
        )
    return report, statement


def _check_canonical(value: Any, payload: bytes) -> None:
    try:
        canonical = canonical_bytes(value)
    except rfc8785.CanonicalizationError as exc:
        raise VerificationError(
            f"the payload cannot be canonicalised: {exc}", hint=_NOT_OURS
        ) from None
    if canonical != payload:
        raise VerificationError(
            "the signed payload is not RFC 8785 canonical JSON (it was re-serialised before "
            "signing), so its bytes are not the one form of this report",
            hint=_NOT_OURS + "; re-sign the report with esr-validator",
        )


def _validated(model: type[_M], value: Any, what: str) -> _M:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise VerificationError(f"{what}: {describe_validation(exc)}", hint=_NOT_OURS) from None


def _check_submission(report: Report, zip_path: Path) -> None:
    digest = hashlib.sha256()
    try:
        with zip_path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read the submission {zip_path}: {exc.strerror}") from None
    actual, signed = digest.hexdigest(), report.submission.zip_sha256
    if actual != signed:
        raise VerificationError(
            f"{zip_path.name} (sha256 {actual}) is not the file this report is about: the "
            f"signed report covers {report.submission.zip_name} (sha256 {signed})",
            hint="the signature is valid, but for another submission; compare against the "
            "exact zip that was evaluated",
        )


def _read_file(path: Path, kind: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the {kind} {path}: {exc.strerror}") from None
