"""The safetensors header, read by exactly the reference library's rules (safetensors 0.8).

The reference is a Rust reader (serde_json into ``HashMap<String, TensorInfo>`` plus an
optional ``__metadata__``, then a layout check). Its rules, reproduced here so that this
validator refuses and accepts exactly the files the organizers' loader does:

- an 8-byte little-endian length N (at most 100,000,000), then N bytes of UTF-8 JSON; JSON
  whitespace may pad it (not NUL); integers beyond 64 bits are doubles, so a shape of 2^64 or
  a 5,000-digit number is refused; ``NaN``, lone surrogates and raw control characters are not
  JSON;
- a tensor named twice: the last one wins; ``__metadata__`` twice: refused; ``__metadata__``
  may be ``null`` or a map of strings; a tensor entry needs ``dtype``, ``shape`` and
  ``data_offsets`` once each, and other fields are ignored;
- shapes and offsets are unsigned 64-bit integers; element counts and bit sizes must not
  overflow; sub-byte dtypes (F4, F6) must fill whole bytes;
- sorted by offsets, the tensors tile the data exactly: the first starts at 0, each starts
  where the previous ended, and the last ends at the end of the file (no gaps, no trailing
  bytes).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit
_U64 = 2**64

#: every dtype the reference accepts → its size in bits
DTYPE_BITS: dict[str, int] = {
    "BOOL": 8, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6, "U8": 8, "I8": 8, "F8_E5M2": 8,
    "F8_E4M3": 8, "F8_E8M0": 8, "F8_E4M3FNUZ": 8, "F8_E5M2FNUZ": 8, "I16": 16, "U16": 16,
    "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "C64": 64, "F64": 64, "I64": 64,
    "U64": 64,
}  # fmt: skip
_TENSOR_FIELDS = ("dtype", "shape", "data_offsets")


class SafetensorsProblem(ValueError):
    """The file does not follow the safetensors format."""


@dataclass(frozen=True)
class Entry:
    name: str
    dtype: str  # the safetensors name: "F32"
    shape: tuple[int, ...]
    begin: int
    end: int


class _Pairs(list[tuple[str, Any]]):
    """A JSON object as its key/value pairs: duplicates are judged where they occur."""


def parse(raw: bytes, *, file_size: int) -> tuple[list[Entry], int]:
    """Entries (in offset order) from the header bytes ``raw`` of a file of ``file_size``
    bytes, with the offset where the data starts."""
    entries = _entries(_json(raw))
    start = 8 + len(raw)
    _check_layout(entries, data_size=file_size - start)
    return sorted(entries, key=lambda e: (e.begin, e.end)), start


def header_length(prefix: bytes, *, file_size: int) -> int:
    """N from the 8-byte prefix, refused as the reference refuses it."""
    if len(prefix) < 8:
        raise SafetensorsProblem("file shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        raise SafetensorsProblem(f"header length {length} is above the 100 MB limit")
    if 8 + length > file_size:
        raise SafetensorsProblem(f"header length {length} does not fit the file")
    return int(length)


def _json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_Pairs,
            parse_int=_integer,
            parse_float=_double,
            parse_constant=_not_json,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SafetensorsProblem(f"header is not JSON: {str(exc)[:200]}") from None
    _no_surrogates(value)
    return value


def _integer(literal: str) -> int | float:
    value = int(literal)  # over 4300 digits: ValueError
    # serde_json reads integers outside i64/u64 as doubles, then refuses them where an
    # unsigned integer is expected, and refuses them outright when they overflow a double.
    return value if -(2**63) <= value < _U64 else _double(literal)


def _double(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {literal[:40]}")
    return value


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_surrogates(value: Any) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise SafetensorsProblem("header has a lone surrogate escape") from None
        elif isinstance(item, _Pairs):
            stack.extend(k for k, _ in item)
            stack.extend(v for _, v in item)
        elif isinstance(item, list):
            stack.extend(item)


def _entries(header: Any) -> list[Entry]:
    if not isinstance(header, _Pairs):
        raise SafetensorsProblem("header is not a JSON object")
    tensors: dict[str, Entry] = {}
    seen_metadata = False
    for name, value in header:
        if name == "__metadata__":
            if seen_metadata:
                raise SafetensorsProblem("header has __metadata__ twice")
            seen_metadata = True
            _check_metadata(value)
        else:
            tensors[name] = _entry(name, value)  # a repeated name: the last one wins
    return list(tensors.values())


def _check_metadata(metadata: Any) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, _Pairs) or not all(isinstance(v, str) for _, v in metadata):
        raise SafetensorsProblem("__metadata__ must be null or map strings to strings")


def _entry(name: str, value: Any) -> Entry:
    fields = _fields(name, value)
    dtype, shape, offsets = (fields[f] for f in _TENSOR_FIELDS)
    if not isinstance(dtype, str) or dtype not in DTYPE_BITS:
        raise SafetensorsProblem(f"entry {name[:80]!r} has unknown dtype {str(dtype)[:40]!r}")
    if not isinstance(shape, list) or not all(_unsigned(d) for d in shape):
        raise SafetensorsProblem(f"entry {name[:80]!r} has an invalid shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_unsigned, offsets))):
        raise SafetensorsProblem(f"entry {name[:80]!r} has invalid data_offsets")
    return Entry(name=name, dtype=dtype, shape=tuple(shape), begin=offsets[0], end=offsets[1])


def _fields(name: str, value: Any) -> dict[str, Any]:
    # serde's derived struct reader takes an object, or a sequence of the fields in order.
    if isinstance(value, list) and not isinstance(value, _Pairs):
        if len(value) < 3:
            raise SafetensorsProblem(f"entry {name[:80]!r} lacks dtype, shape or data_offsets")
        return dict(zip(_TENSOR_FIELDS, value, strict=False))
    if not isinstance(value, _Pairs):
        raise SafetensorsProblem(f"entry {name[:80]!r} is not an object")
    fields: dict[str, Any] = {}
    for key, item in value:
        if key in _TENSOR_FIELDS:
            if key in fields:
                raise SafetensorsProblem(f"entry {name[:80]!r} has {key} twice")
            fields[key] = item
    if len(fields) != 3:
        raise SafetensorsProblem(f"entry {name[:80]!r} needs dtype, shape and data_offsets")
    return fields


def _unsigned(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _U64


def _check_layout(entries: list[Entry], *, data_size: int) -> None:
    position = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin != position or entry.end < entry.begin:
            raise SafetensorsProblem(
                f"entry {entry.name[:80]!r} does not start where the previous one ends "
                f"(byte {position}): gaps, overlaps and a first offset other than 0 are refused"
            )
        elements = 1
        for dim in entry.shape:
            elements *= dim
            if elements >= _U64:
                raise SafetensorsProblem(f"entry {entry.name[:80]!r}: element count overflows")
        bits = elements * DTYPE_BITS[entry.dtype]
        if bits >= _U64:
            raise SafetensorsProblem(f"entry {entry.name[:80]!r}: byte size overflows")
        if bits % 8 or entry.end - entry.begin != bits // 8:
            raise SafetensorsProblem(
                f"entry {entry.name[:80]!r}: {entry.end - entry.begin} bytes do not hold "
                f"{entry.dtype} {list(entry.shape)}"
            )
        position = entry.end
    if position != data_size:
        raise SafetensorsProblem(
            f"the tensors cover {position} of the {data_size} data bytes: trailing bytes are "
            "refused"
        )


def parse_bytes(blob: bytes) -> list[Entry]:
    """The entries of a whole file held in memory (tests, small files)."""
    length = header_length(blob[:8], file_size=len(blob))
    return parse(blob[8 : 8 + length], file_size=len(blob))[0]
