"""Canonical JSON bytes (RFC 8785) and the strict JSON reader used on every signed file.

One value has exactly one byte form, so a signature covers the report's meaning and nothing
that a re-formatting could change. The reader refuses everything RFC 8785 cannot round-trip
(``NaN``, ``Infinity``, duplicate keys) so that "parse, then re-canonicalise, then compare
bytes" is a complete test of canonical form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import rfc8785

from esr_validator.signing.errors import VerificationError


def canonical_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of a JSON value; raises ``rfc8785.CanonicalizationError``."""
    return rfc8785.dumps(value)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# RFC 8785 numbers are IEEE doubles. A float whose value is an integer below 1e21 is written
# without a decimal point or exponent (ES6 Number.prototype.toString), so "880000000000000000"
# is the one canonical form of 8.8e17. Read back as a Python int it would fall outside the
# integer domain the canonicaliser accepts (|n| <= 2^53 - 1) and an honest report would be
# refused; read back as the double it denotes, it re-canonicalises to the same bytes. An
# integer literal that is not exactly a double (2^53 + 1) then re-canonicalises differently
# and is refused as non-canonical, which is what it is.
_SAFE_INTEGER = 2**53 - 1


def _json_integer(literal: str) -> int | float:
    number = int(literal)  # more than 4300 digits: ValueError, refused below as invalid JSON
    return number if abs(number) <= _SAFE_INTEGER else _json_float(literal)


def _json_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # "1e400" overflows to infinity, which JSON cannot hold
        raise ValueError(f"number {literal[:40]} is outside the double range")
    return value


def strict_loads(data: bytes, *, what: str) -> Any:
    """Parse UTF-8 JSON bytes, refusing NaN/Infinity and duplicate keys.

    ``what`` names the document in the error ("the envelope file", "the payload").
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VerificationError(
            f"{what} is not valid UTF-8 (byte {exc.start})",
            hint="the file was altered or truncated; obtain the original report again",
        ) from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
            parse_int=_json_integer,
            parse_float=_json_float,
        )
    except (ValueError, OverflowError, RecursionError) as exc:
        raise VerificationError(
            f"{what} is not valid JSON: {exc}",
            hint="the file was altered or truncated; obtain the original report again",
        ) from None


def non_finite_paths(value: Any, path: str = "$") -> list[str]:
    """JSON paths of every NaN or infinite float inside ``value`` (dicts, lists, tuples)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{path} = {value!r}"]
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, item in value.items():
            found += non_finite_paths(item, f"{path}.{key}")
        return found
    if isinstance(value, list | tuple):
        found = []
        for index, item in enumerate(value):
            found += non_finite_paths(item, f"{path}[{index}]")
        return found
    return []


def as_json_doubles(value: Any) -> Any:
    """``value`` with every integer outside the double-exact range as the double it becomes.

    JSON numbers are doubles (RFC 8785 refuses a larger Python int outright). A count that a
    hostile entry drives past 2^53 (a FLOP count) is signed as the nearest double rather than
    stopping the signing; below 2^53 every integer is exact and left alone.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) <= _SAFE_INTEGER else float(value)
    if isinstance(value, dict):
        return {key: as_json_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json_doubles(item) for item in value]
    return value
