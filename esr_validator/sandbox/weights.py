"""Weights-only checkpoint loading inside the sandbox.

The trusted intake has already scanned the file (no pickle global beyond tensor rebuilding,
a plain state dict, the declared key). Here the same file is loaded again, never with full
unpickling: ``torch.load(weights_only=True)`` for torch files, and a plain header read plus
``torch.frombuffer`` for ``.safetensors`` (the intake validated its header strictly).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from esr_validator.schemas.manifest import CheckpointSpec

NEST_KEYS = ("params_ema", "params", "state_dict", "model")
_SAFE_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}  # fmt: skip


class WeightsError(Exception):
    """The checkpoint is not a state dict this loader accepts."""


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    data = memoryview(raw)[8 + size :]
    out: dict[str, torch.Tensor] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = _SAFE_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise WeightsError(f"{name}: dtype {entry['dtype']} is not supported here")
        flat = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else None
        out[name] = (flat if flat is not None else torch.empty(0, dtype=dtype)).reshape(
            entry["shape"]
        )
    return out


def _looks_safetensors(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(9)
    if len(head) < 9 or head[8:9] != b"{":
        return False
    return 8 + int.from_bytes(head[:8], "little") <= path.stat().st_size


def _nested(obj: object, spec: CheckpointSpec) -> object:
    """The manifest's key, or the first key of its chain the file holds, or the file itself
    (``file_if_no_key``): the same resolution the intake check applied."""
    chain = [spec.key] if spec.key is not None else list(spec.keys)
    if not chain:
        return obj
    for key in chain:
        if isinstance(obj, dict) and key in obj:
            return obj[key]
    if spec.file_if_no_key:
        return obj
    raise WeightsError(f"checkpoint.key {chain[0]!r} is not in the checkpoint")


def load_state_dict(path: Path, *, spec: CheckpointSpec) -> dict[str, torch.Tensor]:
    """The state dict of ``path`` (under ``spec``'s key) on the CPU, never unpickling objects."""
    if path.suffix.lower() == ".safetensors" or _looks_safetensors(path):
        obj: object = _safetensors(path)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(path, weights_only=True, map_location="cpu")
    obj = _nested(obj, spec)
    if not isinstance(obj, dict) or not obj:
        raise WeightsError(f"the checkpoint holds a {type(obj).__name__}, not a state dict")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise WeightsError("the checkpoint holds entries that are not named tensors")
    return obj
