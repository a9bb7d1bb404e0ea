"""``.safetensors`` without the ``safetensors`` package: the format is small enough to read.

Layout: an 8-byte little-endian header length N, N bytes of JSON (an object mapping each
tensor name to ``dtype``, ``shape`` and ``data_offsets`` relative to the data, plus an optional
``__metadata__`` of strings), then the data. The header is validated strictly: duplicate names,
offsets outside the data, sizes that do not match the shape and overlapping tensors are all
refused, as the reference implementation refuses them.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import Tensor

MAX_HEADER_BYTES = 100 * 1024 * 1024  # the reference implementation's limit

#: safetensors dtype → (torch dtype name, bytes per element)
DTYPES: dict[str, tuple[str, int]] = {
    "F64": ("float64", 8), "F32": ("float32", 4), "F16": ("float16", 2),
    "BF16": ("bfloat16", 2), "F8_E4M3": ("float8_e4m3fn", 1), "F8_E5M2": ("float8_e5m2", 1),
    "I64": ("int64", 8), "I32": ("int32", 4), "I16": ("int16", 2), "I8": ("int8", 1),
    "U64": ("uint64", 8), "U32": ("uint32", 4), "U16": ("uint16", 2), "U8": ("uint8", 1),
    "BOOL": ("bool", 1),
}  # fmt: skip


class SafetensorsProblem(ValueError):
    """The file does not follow the safetensors format."""


@dataclass(frozen=True)
class Entry:
    name: str
    dtype: str  # torch's name: "float32"
    shape: tuple[int, ...]
    begin: int
    end: int


def read_header(path: Path) -> tuple[list[Entry], int]:
    """The tensor entries and the file offset where their data starts."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise SafetensorsProblem("file shorter than the 8-byte header length")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES or 8 + length > size:
            raise SafetensorsProblem(f"header length {length} does not fit the file")
        raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SafetensorsProblem(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise SafetensorsProblem("header is not a JSON object")
    _check_metadata(header.pop("__metadata__", {}))
    entries = [_entry(name, value) for name, value in header.items()]
    _check_layout(entries, data_size=size - 8 - length)
    return entries, 8 + length


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise SafetensorsProblem("header names a tensor twice")
    return dict(pairs)


def _check_metadata(metadata: object) -> None:
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsProblem("__metadata__ must map strings to strings")


def _entry(name: str, value: object) -> Entry:
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data_offsets"}:
        raise SafetensorsProblem(f"entry {name!r} needs exactly dtype, shape and data_offsets")
    dtype, shape, offsets = value["dtype"], value["shape"], value["data_offsets"]
    if dtype not in DTYPES:
        raise SafetensorsProblem(f"entry {name!r} has unknown dtype {dtype!r}")
    if not isinstance(shape, list) or not all(_natural(d) for d in shape):
        raise SafetensorsProblem(f"entry {name!r} has an invalid shape {shape!r}")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(map(_natural, offsets))):
        raise SafetensorsProblem(f"entry {name!r} has invalid data_offsets {offsets!r}")
    torch_dtype, itemsize = DTYPES[dtype]
    begin, end = offsets
    if end - begin != math.prod(shape) * itemsize:
        raise SafetensorsProblem(f"entry {name!r}: {end - begin} bytes do not hold {shape}")
    return Entry(name=name, dtype=torch_dtype, shape=tuple(shape), begin=begin, end=end)


def _natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_layout(entries: list[Entry], *, data_size: int) -> None:
    position = 0
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin < position or entry.end > data_size:
            raise SafetensorsProblem(f"entry {entry.name!r} overlaps another or the file end")
        position = entry.end


def load(path: Path) -> dict[str, Tensor]:
    """The tensors of ``path``, on the CPU, in header order."""
    import torch

    if sys.byteorder != "little":
        raise SafetensorsProblem("reading safetensors needs a little-endian machine")
    entries, start = read_header(path)
    data = path.read_bytes()[start:]
    tensors: dict[str, Tensor] = {}
    for e in entries:
        dtype = getattr(torch, e.dtype)
        if e.end == e.begin:
            tensors[e.name] = torch.empty(e.shape, dtype=dtype)
        else:
            buffer = bytearray(data[e.begin : e.end])  # writable copy: torch warns otherwise
            tensors[e.name] = torch.frombuffer(buffer, dtype=dtype).reshape(e.shape)
    return tensors
