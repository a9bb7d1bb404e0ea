"""The safetensors reader accepts and refuses exactly what the ``safetensors`` library does.

A hand-written parser used to accept gaps between tensors, trailing bytes and a first offset
other than 0 (the library refuses all three), to refuse newer dtypes and ``__metadata__: null``
(the library accepts both), and to crash on a 5,000-digit integer. Each case is written as the
file that did it; then a differential test compares the two readers on generated headers.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esr_validator.intake.checkpoint import check_checkpoint
from esr_validator.intake.safetensors_file import load
from esr_validator.intake.safetensors_header import (
    DTYPE_BITS,
    SafetensorsProblem,
    parse_bytes,
)
from esr_validator.schemas.manifest import CheckpointSpec

safetensors = pytest.importorskip("safetensors")


def blob(header: Any, data: bytes = b"", *, raw: bytes | None = None, pad: bytes = b"") -> bytes:
    text = (json.dumps(header).encode() if raw is None else raw) + pad
    return struct.pack("<Q", len(text)) + text + data


def f32(begin: int, end: int, shape: list[int] | None = None) -> dict[str, Any]:
    return {"dtype": "F32", "shape": shape or [(end - begin) // 4], "data_offsets": [begin, end]}


def check(path: Path) -> list[str]:
    report = check_checkpoint(path, spec=CheckpointSpec(), display_path=f"model_zoo/{path.name}")
    return [f.code for f in report.findings]


def library_accepts(data: bytes) -> bool:
    try:
        safetensors.deserialize(data)
    except Exception:  # SafetensorError, and anything else the library raises
        return False
    return True


def ours_accepts(data: bytes) -> bool:
    try:
        parse_bytes(data)
    except SafetensorsProblem:
        return False
    return True


CASES: dict[str, bytes] = {
    "gap between tensors": blob({"a": f32(0, 4), "b": f32(8, 12)}, b"\0" * 12),
    "trailing bytes": blob({"a": f32(0, 4)}, b"\0" * 5),
    "first offset not 0": blob({"a": f32(4, 8)}, b"\0" * 8),
    "overlap": blob({"a": f32(0, 4), "b": f32(0, 4)}, b"\0" * 4),
    "5000-digit integer": blob(
        None,
        b"\0" * 4,
        raw=b'{"a":{"dtype":"F32","shape":[' + b"1" * 5000 + b'],"data_offsets":[0,4]}}',
    ),
    "400-digit integer in an ignored field": blob(
        None,
        b"\0" * 4,
        raw=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1' + b"0" * 400 + b"}}",
    ),
    "shape of 2^64": blob({"a": {"dtype": "F32", "shape": [2**64], "data_offsets": [0, 4]}}),
    "element count overflows": blob(
        {"a": {"dtype": "F32", "shape": [2**63, 4], "data_offsets": [0, 4]}}, b"\0" * 4
    ),
    "NaN": blob(None, raw=b'{"__metadata__":{"a":NaN}}'),
    "lone surrogate": blob(None, raw=b'{"__metadata__":{"a":"\\ud800"}}'),
    "__metadata__ null": blob({"a": f32(0, 4), "__metadata__": None}, b"\0" * 4),
    "__metadata__ twice": blob(None, raw=b'{"__metadata__":{},"__metadata__":null}'),
    "__metadata__ with a number": blob({"__metadata__": {"x": 1}}),
    "newer dtype F8_E8M0": blob(
        {"a": {"dtype": "F8_E8M0", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2
    ),
    "packed F4": blob({"a": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}, b"\0"),
    "half-byte F4": blob({"a": {"dtype": "F4", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
    "C64": blob({"a": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
    "unknown dtype": blob({"a": {"dtype": "Q4", "shape": [0], "data_offsets": [0, 0]}}),
    "tensor named twice, last wins": blob(
        None,
        b"\0" * 4,
        raw=b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        b'"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}',
    ),
    "field twice": blob(
        None, b"\0" * 4, raw=b'{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
    ),
    "extra field": blob({"a": f32(0, 4) | {"note": [1, {"x": None}]}}, b"\0" * 4),
    "entry as a sequence": blob({"a": ["F32", [1], [0, 4]]}, b"\0" * 4),
    "space padding": blob({"a": f32(0, 4)}, b"\0" * 4, pad=b"    "),
    "NUL padding": blob({"a": f32(0, 4)}, b"\0" * 4, pad=b"\0\0"),
    "header too large": struct.pack("<Q", 100_000_001) + b"{}",
    "header longer than the file": struct.pack("<Q", 10) + b"{}",
    "shorter than 8 bytes": b"\0\0\0",
    "empty header": blob({}),
    "not an object": blob([]),
    "float shape": blob(
        None, b"\0" * 4, raw=b'{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}'
    ),
    "boolean offset": blob({"a": {"dtype": "F32", "shape": [1], "data_offsets": [False, 4]}}),
    "scalar": blob({"a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}}, b"\0" * 4),
    "zero-size tensors": blob({"z": f32(0, 0, [0, 3]), "a": f32(0, 4)}, b"\0" * 4),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_is_judged_as_the_library_judges_it(name: str) -> None:
    data = CASES[name]
    assert ours_accepts(data) == library_accepts(data), name


def test_the_known_disagreements_now_follow_the_library() -> None:
    for refused in ("gap between tensors", "trailing bytes", "first offset not 0"):
        assert not ours_accepts(CASES[refused]), refused
    for accepted in ("__metadata__ null", "newer dtype F8_E8M0", "C64", "packed F4"):
        assert ours_accepts(CASES[accepted]), accepted


@pytest.mark.parametrize(
    "name",
    [
        "5000-digit integer",
        "gap between tensors",
        "NaN",
        "lone surrogate",
        "element count overflows",
    ],
)
def test_malformed_header_is_a_finding_not_a_traceback(name: str, tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(CASES[name])
    assert check(path) == ["ESR302"]


def test_last_of_two_same_named_tensors_is_loaded(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(CASES["tensor named twice, last wins"])
    tensors = load(path)
    assert tensors["a"].dtype == torch.float16 and tensors["a"].shape == (2,)


def test_dtype_torch_cannot_hold_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(CASES["packed F4"])
    assert check(path) == ["ESR302"]


# --- differential: generated headers -------------------------------------------------------

_numbers = st.one_of(
    st.integers(0, 16), st.integers(-2, 2**64 + 1), st.sampled_from([1.0, 1e400, -0.0])
)
_dtype = st.one_of(st.sampled_from(sorted(DTYPE_BITS)), st.sampled_from(["f32", "Q4", ""]))


@st.composite
def _headers(draw: st.DrawFn) -> bytes:
    tensors: list[str] = []
    position = 0
    for index in range(draw(st.integers(0, 4))):
        dtype = draw(_dtype)
        shape = draw(st.lists(st.integers(0, 5), max_size=3))
        bits = DTYPE_BITS.get(dtype, 32)
        size = -(-(bits * _prod(shape)) // 8)  # rounded up: sub-byte dtypes may not fill it
        begin = position + draw(st.sampled_from([0, 0, 0, 1, -1]))
        end = begin + size + draw(st.sampled_from([0, 0, 0, 1]))
        position = end
        offsets = draw(st.one_of(st.just([begin, end]), st.lists(_numbers, max_size=3)))
        fields = [
            f'"dtype":{json.dumps(dtype)}',
            f'"shape":{json.dumps(shape)}',
            f'"data_offsets":{json.dumps(offsets)}',
        ]
        fields = draw(st.permutations(fields))
        fields = fields[: draw(st.sampled_from([3, 3, 3, 2]))]
        if draw(st.booleans()):
            fields.append(f'"extra":{json.dumps(draw(_numbers))}')
        name = draw(st.sampled_from([f"t{index}", "t0", "__metadata__"]))
        tensors.append(f"{json.dumps(name)}:{{{','.join(fields)}}}")
    meta = draw(
        st.sampled_from(
            ["", '"__metadata__":null', '"__metadata__":{"k":"v"}', '"__metadata__":{"k":1}']
        )
    )
    body = ",".join(p for p in [meta, *tensors] if p)
    pad = draw(st.sampled_from([b"", b"  ", b"\n", b"\0"]))
    trailing = draw(st.sampled_from([0, 0, 0, 1]))
    return blob(
        None, b"\0" * (max(position, 0) + trailing), raw=b"{" + body.encode() + b"}", pad=pad
    )


def _prod(shape: list[int]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_headers())
def test_generated_headers_are_judged_as_the_library_judges_them(data: bytes) -> None:
    assert ours_accepts(data) == library_accepts(data)
