"""Every finite float a report can hold signs, writes, reads back and verifies.

RFC 8785 writes an integral double below 1e21 without a decimal point, so 8.8e17 (the params
score of an entry with about 6.5 M unused parameters) is written ``880000000000000000``. Read
back as a Python int it left the canonicaliser's integer domain and the organizer's own report
failed verification; these tests pin the whole float range, that window included.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from esr_validator.schemas.report import FigureSet, ImageResult
from esr_validator.signing import (
    VerificationError,
    dumps_envelope,
    read_report,
    sign_report,
    verify_envelope,
    write_envelope,
)
from esr_validator.signing.canonical import canonical_bytes, strict_loads
from esr_validator.signing.dsse import sign_payload
from tests.signing_support import complexity_figures, make_report, new_key

KEY = new_key()
PUB = KEY.public_key()

finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
# The window that broke: integral doubles between 2^53 and 1e21.
integral_window = st.integers(min_value=2**53, max_value=10**21 - 1).map(float)
subnormal = st.floats(
    min_value=-sys.float_info.min, max_value=sys.float_info.min, allow_subnormal=True
)


def _round_trip(value: float, tmp_path: Path) -> None:
    report = make_report(
        images=[
            ImageResult(
                split="valid", stem="0801", psnr=value, official_ms=[value, -value], stable_ms=[]
            )
        ],
        official=FigureSet(
            protocol="official", runtime_ms=value, memory_mb=None, description="as ranked"
        ),
    )
    path = tmp_path / "report.json"
    write_envelope(sign_report(report, KEY), path)
    verified = verify_envelope(path.read_bytes(), PUB)
    assert verified.report == report
    assert read_report(path) == report
    back = verified.report.images[0]
    assert back.psnr == value and back.official_ms == [value, -value]
    assert math.copysign(1.0, back.official_ms[1]) == math.copysign(1.0, -value) or value == 0


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(finite, integral_window, subnormal))
@example(value=8.8e17)
@example(value=2.0**53)
@example(value=2.0**53 + 2)
@example(value=1e21 - 65536)
@example(value=1e21)
@example(value=5e-324)
@example(value=sys.float_info.max)
@example(value=-sys.float_info.max)
def test_every_finite_float_signs_writes_reads_and_verifies(
    value: float, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _round_trip(value, tmp_path_factory.mktemp("n"))


@given(value=st.one_of(finite, integral_window))
def test_canonical_bytes_read_back_to_the_same_bytes(value: float) -> None:
    data = canonical_bytes({"x": value})
    assert canonical_bytes(strict_loads(data, what="t")) == data


@pytest.mark.parametrize(
    "literal",
    [
        b'{"x":9007199254740993}',  # not a double: the nearest one is written differently
        b'{"x":1' + b"0" * 400 + b"}",  # an integer beyond the double range
        b'{"x":1e400}',  # overflows to infinity
    ],
)
def test_number_that_is_not_one_canonical_double_is_refused(literal: bytes) -> None:
    env = sign_payload(literal, "application/vnd.in-toto+json", KEY)
    with pytest.raises(VerificationError):
        verify_envelope(dumps_envelope(env), PUB)


def test_a_5000_digit_integer_is_invalid_json_not_a_traceback() -> None:
    with pytest.raises(VerificationError, match="not valid JSON"):
        strict_loads(b"1" + b"0" * 5000, what="the payload")


def test_a_count_past_2_53_signs_as_a_double_and_verifies(tmp_path: Path) -> None:
    """A hostile entry can drive an integer count (FLOPs) past 2^53, which RFC 8785 refuses
    as an int: it is signed as the nearest double instead of failing the signing."""
    flops = 2**60 + 1
    cx = complexity_figures(1, flops)
    path = tmp_path / "report.json"
    write_envelope(sign_report(make_report(complexity=cx), KEY), path)
    verified = verify_envelope(path.read_bytes(), PUB)
    assert verified.report.complexity is not None
    assert verified.report.complexity.flops == int(float(flops))
