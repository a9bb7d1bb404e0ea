"""``.safetensors`` files, read by the reference library's rules without the library.

:mod:`esr_validator.intake.safetensors_header` decides what is a valid file (exactly what the
``safetensors`` package accepts); this module turns the tensors into torch tensors. A dtype the
format allows but this torch cannot hold (F6, F4 unpacked) is a problem, reported as such.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from esr_validator.intake.safetensors_header import (
    DTYPE_BITS,
    MAX_HEADER_BYTES,
    Entry,
    SafetensorsProblem,
    header_length,
    parse,
)

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["DTYPE_BITS", "MAX_HEADER_BYTES", "Entry", "SafetensorsProblem", "load", "read_header"]

#: safetensors dtype → torch dtype name (only those torch has; F4/F6 have none unpacked)
TORCH_DTYPES: dict[str, str] = {
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2", "F8_E8M0": "float8_e8m0fnu",
    "F8_E4M3FNUZ": "float8_e4m3fnuz", "F8_E5M2FNUZ": "float8_e5m2fnuz", "C64": "complex64",
    "I64": "int64", "I32": "int32", "I16": "int16", "I8": "int8",
    "U64": "uint64", "U32": "uint32", "U16": "uint16", "U8": "uint8", "BOOL": "bool",
}  # fmt: skip


def read_header(path: Path) -> tuple[list[Entry], int]:
    """The tensor entries (offset order) and the file offset where their data starts."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        length = header_length(handle.read(8), file_size=size)
        raw = handle.read(length)
    return parse(raw, file_size=size)


def torch_dtype_name(entry: Entry) -> str:
    name = TORCH_DTYPES.get(entry.dtype)
    if name is None:
        raise SafetensorsProblem(
            f"entry {entry.name[:80]!r} is {entry.dtype}, which torch cannot load as a tensor"
        )
    return name


def load(path: Path) -> dict[str, Tensor]:
    """The tensors of ``path``, on the CPU, in header (offset) order."""
    import torch

    if sys.byteorder != "little":
        raise SafetensorsProblem("reading safetensors needs a little-endian machine")
    entries, start = read_header(path)
    dtypes: dict[str, torch.dtype] = {}
    for e in entries:
        dtype = getattr(torch, torch_dtype_name(e), None)
        if not isinstance(dtype, torch.dtype):
            raise SafetensorsProblem(f"this torch has no dtype for {e.dtype}")
        dtypes[e.name] = dtype
    data = path.read_bytes()[start:]
    tensors: dict[str, Tensor] = {}
    for e in entries:
        dtype = dtypes[e.name]
        if e.end == e.begin:
            tensors[e.name] = torch.empty(e.shape, dtype=dtype)
        else:
            buffer = bytearray(data[e.begin : e.end])  # writable copy: torch warns otherwise
            tensors[e.name] = torch.frombuffer(buffer, dtype=dtype).reshape(e.shape)
    return tensors
