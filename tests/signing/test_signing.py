"""Signing and verifying reports: the envelope, the statement and every way to break them."""

from __future__ import annotations

import base64
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esr_validator.errors import EXIT_SIGNATURE, SignatureError
from esr_validator.schemas.report import Report
from esr_validator.signing import (
    PAYLOAD_TYPE,
    REPORT_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Envelope,
    Signature,
    SigningError,
    VerificationError,
    dumps_envelope,
    keyid_of,
    read_report,
    sign_report,
    statement_bytes,
    verify_envelope,
    write_envelope,
)
from esr_validator.signing.canonical import canonical_bytes
from esr_validator.signing.dsse import b64decode, b64encode, pae, sign_payload
from tests.signing_support import ZIP_BYTES, make_report, new_key, sha256, write_zip

KEY = new_key()
PUB = KEY.public_key()


@cache
def signed_bytes() -> bytes:
    return dumps_envelope(sign_report(make_report(), KEY))


def statement(report: Report | None = None) -> dict[str, Any]:
    value = json.loads(statement_bytes(report or make_report()))
    assert isinstance(value, dict)
    return value


def envelope_for(value: Any, *, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """A correctly signed envelope around ``value``'s canonical bytes."""
    return dumps_envelope(sign_payload(canonical_bytes(value), payload_type, KEY))


def refused(data: bytes, match: str, **kwargs: Any) -> VerificationError:
    with pytest.raises(VerificationError, match=match) as info:
        verify_envelope(data, PUB, **kwargs)
    return info.value


# --- the happy path and the format ---------------------------------------------------------


def test_pae_matches_the_dsse_test_vector() -> None:
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("é", b"") == "DSSEv1 2 é 0 ".encode()  # lengths count bytes


def test_round_trip(tmp_path: Path) -> None:
    report = make_report()
    path = tmp_path / "report.json"
    write_envelope(sign_report(report, KEY), path)
    zip_path = write_zip(tmp_path / "team16.zip")

    verified = verify_envelope(path.read_bytes(), PUB, submission_zip=zip_path)

    assert verified.report == report
    assert verified.keyid == keyid_of(PUB)
    assert verified.submission_checked
    assert [s.name for s in verified.subjects] == [
        "team16_TinySR.zip",
        "models/team16_TinySR.py",
        "model_zoo/team16_TinySR.pth",
    ]
    assert read_report(path) == report
    assert not list(tmp_path.glob(".*.tmp"))


def test_envelope_file_is_canonical_dsse_around_an_in_toto_statement(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_envelope(sign_report(make_report(), KEY), path)
    data = path.read_bytes()
    env = json.loads(data)

    assert data == canonical_bytes(env) + b"\n"
    assert sorted(env) == ["payload", "payloadType", "signatures"]
    assert env["payloadType"] == "application/vnd.in-toto+json"
    assert [sorted(s) for s in env["signatures"]] == [["keyid", "sig"]]
    payload = base64.b64decode(env["payload"])
    assert payload == canonical_bytes(json.loads(payload))
    value = json.loads(payload)
    assert value["_type"] == STATEMENT_TYPE == "https://in-toto.io/Statement/v1"
    assert value["predicateType"] == REPORT_PREDICATE_TYPE
    assert value["subject"][0] == {
        "name": "team16_TinySR.zip",
        "digest": {"sha256": sha256(ZIP_BYTES)},
    }
    assert Report.model_validate(value["predicate"]) == make_report()


def test_subjects_skip_files_without_a_digest() -> None:
    report = make_report()
    report.submission.checkpoint_sha256 = None
    report.submission.model_file = None
    assert [s["name"] for s in statement(report)["subject"]] == ["team16_TinySR.zip"]
    assert verify_envelope(dumps_envelope(sign_report(report, KEY)), PUB).report == report


def test_envelope_without_the_final_newline_still_verifies() -> None:
    assert verify_envelope(signed_bytes().rstrip(b"\n"), PUB).report == make_report()


def test_unsigned_envelope_is_readable_but_never_verifies(tmp_path: Path) -> None:
    env = sign_report(make_report(), None)
    assert env.signatures == []
    path = tmp_path / "unsigned.json"
    write_envelope(env, path)
    assert read_report(path) == make_report()
    error = refused(path.read_bytes(), "unsigned")
    assert error.exit_code == EXIT_SIGNATURE
    assert isinstance(error, SignatureError)


# --- keys and submissions ----------------------------------------------------------------


def test_wrong_key_fails_naming_both_keys() -> None:
    other = new_key().public_key()
    with pytest.raises(VerificationError) as info:
        verify_envelope(signed_bytes(), other)
    assert keyid_of(PUB) in info.value.message
    assert keyid_of(other) in info.value.message


def test_keyid_relabelled_to_the_verifier_key_still_fails() -> None:
    other = new_key()
    env = sign_report(make_report(), other)
    forged = env.model_copy(
        update={"signatures": [Signature(keyid=keyid_of(PUB), sig=env.signatures[0].sig)]}
    )
    refused(dumps_envelope(forged), "signature does not match")


def test_valid_signature_over_a_different_submission(tmp_path: Path) -> None:
    other_zip = write_zip(tmp_path / "team16.zip", ZIP_BYTES + b"tampered")
    error = refused(signed_bytes(), "not the file this report is about", submission_zip=other_zip)
    assert sha256(ZIP_BYTES) in error.message
    assert verify_envelope(signed_bytes(), PUB).submission_checked is False


def test_subjects_that_disagree_with_the_report_are_refused() -> None:
    value = statement()
    value["subject"][0]["digest"]["sha256"] = sha256(b"another zip")
    refused(envelope_for(value), "subjects differ")


def test_multiple_signatures_are_refused() -> None:
    env = sign_report(make_report(), KEY)
    doubled = env.model_copy(update={"signatures": env.signatures * 2})
    refused(dumps_envelope(doubled), "2 signatures")


# --- type confusion and canonical form ------------------------------------------------------


def test_signature_for_another_payload_type_is_refused() -> None:
    refused(envelope_for(statement(), payload_type="application/json"), "payloadType")


def test_relabelled_payload_type_is_refused() -> None:
    env = sign_report(make_report(), KEY)
    refused(dumps_envelope(env.model_copy(update={"payload_type": "application/json"})), "json")


def test_signature_over_another_type_in_an_in_toto_envelope_is_refused() -> None:
    payload = statement_bytes(make_report())
    sig = KEY.sign(pae("application/json", payload))
    env = Envelope(
        payload_type=PAYLOAD_TYPE,
        payload=b64encode(payload),
        signatures=[Signature(keyid=keyid_of(PUB), sig=b64encode(sig))],
    )
    refused(dumps_envelope(env), "signature does not match")


@pytest.mark.parametrize(
    "dump",
    [
        lambda v: json.dumps(v, indent=2),
        lambda v: json.dumps(v, sort_keys=True),  # sorted, but with spaces
        lambda v: json.dumps(v, separators=(",", ":")),  # compact, insertion order
        lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")),  # ASCII escapes
    ],
)
def test_signed_non_canonical_payload_is_refused(dump: Any) -> None:
    payload = dump(statement()).encode()
    assert payload != statement_bytes(make_report())
    refused(dumps_envelope(sign_payload(payload, PAYLOAD_TYPE, KEY)), "not RFC 8785 canonical")


def test_reformatted_envelope_file_is_refused() -> None:
    pretty = json.dumps(json.loads(signed_bytes()), indent=2).encode()
    refused(pretty, "not in canonical form")


def test_payload_with_a_duplicate_key_is_refused() -> None:
    canonical = statement_bytes(make_report())
    payload = b'{"_type":"x",' + canonical[1:]
    refused(dumps_envelope(sign_payload(payload, PAYLOAD_TYPE, KEY)), "duplicate key")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("_type", "https://in-toto.io/Statement/v0.1", "_type"),
        ("predicateType", "https://esr-validator.dev/report/v2", "predicateType"),
        ("predicate", {"hello": "world"}, "not a valid report"),
        ("subject", [], "not an in-toto Statement"),
    ],
)
def test_signed_statement_that_is_not_a_report_is_refused(
    field: str, value: Any, match: str
) -> None:
    doc = statement()
    doc[field] = value
    refused(envelope_for(doc), match)


def test_base64_is_standard_padded_and_canonical() -> None:
    assert b64decode("QQ==", what="x") == b"A"
    for text in ("QR==", "QQ", "-_8=", "Q Q==", "QQ==\n", "é"):
        with pytest.raises(VerificationError, match="base64"):
            b64decode(text, what="x")


def test_non_envelopes_are_refused(tmp_path: Path) -> None:
    bare = tmp_path / "report.json"
    bare.write_text(make_report().model_dump_json())
    with pytest.raises(VerificationError, match="not a DSSE envelope"):
        read_report(bare)
    for data in (b"", b"[]", b"\xff\xfe", b"{" * 100_000, b'{"payload":NaN}'):
        with pytest.raises(VerificationError):
            verify_envelope(data, PUB)


# --- tampering, byte by byte --------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_fails_verification(data: st.DataObject) -> None:
    original = signed_bytes()
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != original[position]), label="value")
    tampered = bytearray(original)
    tampered[position] = value
    with pytest.raises(VerificationError):
        verify_envelope(bytes(tampered), PUB)


def test_flipping_the_low_bit_of_every_byte_fails_verification() -> None:
    original = signed_bytes()
    passed = []
    for position in range(len(original)):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        try:
            verify_envelope(bytes(tampered), PUB)
        except VerificationError:
            continue
        passed.append(position)
    assert passed == []


def test_truncated_and_extended_files_fail_verification() -> None:
    original = signed_bytes()
    for cut in range(0, len(original) - 1, 7):
        with pytest.raises(VerificationError):
            verify_envelope(original[:cut], PUB)
    for suffix in (b"\n", b" ", b"\x00", b"{}"):
        with pytest.raises(VerificationError):
            verify_envelope(original + suffix, PUB)


# --- refusing to sign ----------------------------------------------------------------------


class _RecordingKey:
    """Stands in for a private key and records whether anything was signed."""

    def __init__(self) -> None:
        self.signed = 0

    def sign(self, data: bytes) -> bytes:
        self.signed += 1
        return KEY.sign(data)

    def public_key(self) -> Any:
        return PUB


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_measurement_is_refused_before_signing(bad: float) -> None:
    report = make_report()
    report.images[0].official_ms[1] = bad  # assignment skips validation, like a buggy stage
    key = _RecordingKey()
    with pytest.raises(SigningError, match=r"\$\.images\[0\]\.official_ms\[1\]") as info:
        sign_report(report, key)  # type: ignore[arg-type]
    assert key.signed == 0
    assert info.value.exit_code == EXIT_SIGNATURE
    assert info.value.hint and "null" in info.value.hint


def test_non_finite_value_in_untyped_manifest_kwargs_is_refused() -> None:
    # The Report model forbids inf/nan, but the manifest's kwargs are untyped JSON, and
    # pydantic's JSON dump would silently turn this into null.
    report = make_report()
    assert report.submission.manifest is not None
    report.submission.manifest.kwargs["alpha"] = math.inf
    with pytest.raises(SigningError, match=r"submission\.manifest\.kwargs\.alpha"):
        sign_report(report, None)


def test_report_that_would_not_verify_is_refused() -> None:
    report = make_report()
    report.submission.model_sha256 = "NOT-HEX"
    with pytest.raises(SigningError):
        sign_report(report, KEY)


def test_describe_says_what_and_how_to_fix() -> None:
    with pytest.raises(VerificationError) as info:
        verify_envelope(signed_bytes(), new_key().public_key())
    text = info.value.describe()
    assert text.startswith("error: the report failed verification: ")
    assert "hint: " in text
