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
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
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
