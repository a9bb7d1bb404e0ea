"""DSSE envelopes: the pre-authentication encoding, signing and strict parsing.

Format (https://github.com/secure-systems-lab/dsse, envelope and protocol v1)::

    {"payload": "<base64>", "payloadType": "<type>", "signatures": [{"keyid": "..", "sig": ".."}]}

A signature covers ``PAE(payloadType, payload)``, never a re-serialised object, so the type is
authenticated together with the bytes. Where DSSE leaves a choice, esr-validator makes one and
holds envelopes to it, which makes every report file byte-exact and tamper-evident:

- base64 is the standard alphabet with padding (DSSE also allows URL-safe); nothing else is
  accepted, so no two spellings decode to the same payload or signature;
- the file is the envelope's RFC 8785 form plus one newline (the newline is optional);
- exactly one signature, with a ``keyid`` (see :mod:`esr_validator.signing.keys`), or none for a
  report marked unsigned.
"""

from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.signing.canonical import canonical_bytes, strict_loads
from esr_validator.signing.errors import VerificationError
from esr_validator.signing.keys import keyid_of

PAYLOAD_TYPE = "application/vnd.in-toto+json"
_ALTERED = "the file was altered after signing; obtain the original report again"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class Signature(_Model):
    keyid: str = Field(min_length=1)
    sig: str = Field(min_length=1, description="Standard base64 of the Ed25519 signature.")


class Envelope(_Model):
    payload_type: str = Field(alias="payloadType")
    payload: str = Field(description="Standard base64 of the canonical statement bytes.")
    signatures: list[Signature]

    def to_json(self) -> dict[str, object]:
        return self.model_dump(by_alias=True)


def pae(payload_type: str, body: bytes) -> bytes:
    """``DSSEv1 SP LEN(type) SP type SP LEN(body) SP body``; lengths count bytes."""
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(body), body)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, *, what: str) -> bytes:
    """Decode standard, padded base64 and refuse any other spelling of the same bytes."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise VerificationError(f"{what} is not valid base64: {exc}", hint=_ALTERED) from None
    if b64encode(data) != text:  # non-zero padding bits would decode to the same bytes
        raise VerificationError(f"{what} is not canonical base64", hint=_ALTERED)
    return data


def sign_payload(payload: bytes, payload_type: str, key: Ed25519PrivateKey | None) -> Envelope:
    """Wrap ``payload`` as is; with no key the envelope has no signatures (unsigned)."""
    signatures = []
    if key is not None:
        sig = key.sign(pae(payload_type, payload))
        signatures.append(Signature(keyid=keyid_of(key.public_key()), sig=b64encode(sig)))
    return Envelope(payload_type=payload_type, payload=b64encode(payload), signatures=signatures)


def dumps_envelope(envelope: Envelope) -> bytes:
    """The envelope file's bytes: RFC 8785 JSON and a newline."""
    return canonical_bytes(envelope.to_json()) + b"\n"


def parse_envelope(data: bytes) -> Envelope:
    """Parse an envelope file, checking its shape and that it is byte-for-byte canonical."""
    value = strict_loads(data, what="the envelope file")
    try:
        envelope = Envelope.model_validate(value)
    except ValidationError as exc:
        raise VerificationError(
            f"the file is not a DSSE envelope: {describe_validation(exc)}",
            hint="pass the report file written by `esr-validator validate`, unchanged",
        ) from None
    canonical = dumps_envelope(envelope)
    if data not in (canonical, canonical[:-1]):
        raise VerificationError(
            "the envelope file is not in canonical form (RFC 8785 JSON and one newline): it was "
            "re-formatted or altered after it was written",
            hint="verify the file exactly as published; do not pretty-print or edit it",
        )
    return envelope


def describe_validation(exc: ValidationError, *, limit: int = 3) -> str:
    """The first few pydantic errors as ``location: message``, on one line."""
    parts = []
    for error in exc.errors()[:limit]:
        location = ".".join(str(part) for part in error["loc"]) or "(root)"
        parts.append(f"{location}: {error['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)
