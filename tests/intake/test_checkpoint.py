"""Checkpoint intake: globals scanned before any load, weights-only loading, state-dict shapes.

The checkpoints take the shapes real 2024/2025 entries have: a plain state dict, ``params``
and ``params_ema`` nesting, tensors saved on ``cuda:0``, legacy (pre-1.6) files, safetensors.
"""

from __future__ import annotations

import io
import json
import os
import pathlib
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from esr_validator.intake import checkpoint as ckpt
from esr_validator.intake.checkpoint import (
    CheckpointError,
    check_checkpoint,
    load_state_dict_safely,
)
from esr_validator.intake.pickle_scan import TENSOR_GLOBALS, UNRESOLVED, scan_pickle
from esr_validator.schemas.manifest import CheckpointSpec


def state_dict() -> OrderedDict[str, torch.Tensor]:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Conv2d(8, 48, 1))
    return net.state_dict()


def save(obj: object, path: Path, **kwargs: Any) -> Path:
    torch.save(obj, path, **kwargs)
    return path


def check(path: Path, **spec: Any) -> ckpt.CheckpointReport:
    return check_checkpoint(
        path, spec=CheckpointSpec(**spec), display_path=f"model_zoo/{path.name}"
    )


def codes(report: ckpt.CheckpointReport) -> list[str]:
    return [f.code for f in report.findings]


# --- accepted shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_plain_state_dict_passes(tmp_path: Path, zip_format: bool) -> None:
    sd = state_dict()
    path = save(sd, tmp_path / "team16_M.pth", _use_new_zipfile_serialization=zip_format)
    report = check(path)
    assert report.findings == []
    assert report.format == ("torch-zip" if zip_format else "torch-legacy")
    assert report.keys == list(sd)
    assert report.count == 9
    assert report.dtypes == {"float32": 8, "int64": 1}  # num_batches_tracked
    assert report.state_dict is None  # never kept unless asked for
    assert (
        check_checkpoint(
            path, spec=CheckpointSpec(), display_path="x", keep_tensors=True
        ).state_dict
        is not None
    )


@pytest.mark.parametrize("key", ["params", "params_ema"])
def test_nested_under_declared_key_passes(tmp_path: Path, key: str) -> None:
    path = save({key: state_dict(), "iter": 300000}, tmp_path / "w.pth")
    report = check(path, key=key)
    assert report.findings == []
    assert report.count == 9
    assert set(load_state_dict_safely(path, key=key)) == set(state_dict())


def test_nested_without_key_suggests_it(tmp_path: Path) -> None:
    path = save({"params": state_dict(), "params_ema": state_dict()}, tmp_path / "w.pth")
    report = check(path)
    assert codes(report) == ["ESR305"]
    assert report.findings[0].severity.value == "warning"
    assert report.suggested_key == "params_ema"  # BasicSR's EMA weights come first
    assert 'key = "params_ema"' in (report.findings[0].hint or "")
    with pytest.raises(CheckpointError) as exc:  # the loader never guesses
        load_state_dict_safely(path, key=None)
    assert exc.value.finding.code == "ESR304"


def test_nested_without_key_is_an_error_when_not_strict(tmp_path: Path) -> None:
    path = save({"params": state_dict()}, tmp_path / "w.pth")
    report = check(path, strict=False)
    assert codes(report) == ["ESR305"]
    assert report.findings[0].severity.value == "error"


def _save_as_if_on(location: str, obj: object, path: Path, monkeypatch: pytest.MonkeyPatch,
                   **kwargs: Any) -> Path:  # fmt: skip
    """torch.save, writing ``location`` where torch writes the storage's device ('cpu')."""
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: location)
        return save(obj, path, **kwargs)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_tensors_saved_on_cuda_load_on_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zip_format: bool
) -> None:
    sd = state_dict()
    path = _save_as_if_on(
        "cuda:0", {"params": sd}, tmp_path / "w.pth", monkeypatch,
        _use_new_zipfile_serialization=zip_format,
    )  # fmt: skip
    raw = path.read_bytes()
    if zip_format:
        with zipfile.ZipFile(path) as z:
            raw = z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    assert b"cuda:0" in raw and b"cpu" not in raw
    if not torch.cuda.is_available():  # what the official loader without map_location meets
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    assert check(path, key="params").findings == []
    loaded = load_state_dict_safely(path, key="params")
    assert all(t.device.type == "cpu" for t in loaded.values())
    assert all(torch.equal(loaded[k], v) for k, v in sd.items())


def write_safetensors(path: Path, tensors: dict[str, torch.Tensor], *, header_extra: Any = None,
                      bad_offset: bool = False) -> Path:  # fmt: skip
    names = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        end = len(data) + len(blob) + (8 if bad_offset else 0)
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape),
                        "data_offsets": [len(data), end]}  # fmt: skip
        data += blob
    header.update(header_extra or {})
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


def test_safetensors_passes_and_loads(tmp_path: Path) -> None:
    sd = {k: v for k, v in state_dict().items()}
    sd["half"] = torch.arange(6, dtype=torch.float16).reshape(2, 3)
    sd["empty"] = torch.zeros(0, 4)
    path = write_safetensors(tmp_path / "w.safetensors", sd)
    report = check(path)
    assert report.findings == []
    assert report.format == "safetensors"
    assert report.dtypes == {"float32": 9, "int64": 1, "float16": 1}
    loaded = load_state_dict_safely(path, key=None)
    assert all(torch.equal(loaded[k], v) for k, v in sd.items())
    assert codes(check(path, key="params")) == ["ESR303"]


@pytest.mark.parametrize(
    "kwargs",
    [{"bad_offset": True}, {"header_extra": {"x": {"dtype": "F32", "shape": [1]}}},
     {"header_extra": {"x": {"dtype": "Q4", "shape": [0], "data_offsets": [0, 0]}}}],
    ids=["offset", "fields", "dtype"],
)  # fmt: skip
def test_malformed_safetensors_is_unreadable(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    path = write_safetensors(tmp_path / "w.safetensors", {"w": torch.ones(3)}, **kwargs)
    assert codes(check(path)) == ["ESR302"]


def test_safetensors_duplicate_names_are_read_as_the_library_reads_them(tmp_path: Path) -> None:
    # The safetensors library keeps the last of two same-named tensors; so does this reader
    # (tests/intake/test_safetensors_rules.py compares the two).
    entry = '{"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}'
    text = f'{{"w": {entry}, "w": {entry}}}'.encode()
    path = tmp_path / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * 4)
    assert codes(check(path)) == []


# --- refused shapes -------------------------------------------------------------------------


def test_non_tensor_in_state_dict_is_esr304(tmp_path: Path) -> None:
    sd = dict(state_dict())
    sd["epoch"] = 12  # type: ignore[assignment]
    report = check(save(sd, tmp_path / "w.pth"))
    assert codes(report) == ["ESR304"]
    assert "'epoch' (int)" in report.findings[0].message
    nested = check(save({"params": sd}, tmp_path / "n.pth"), key="params")
    assert codes(nested) == ["ESR304"]
    assert "under checkpoint.key 'params'" in nested.findings[0].message


def test_missing_key_is_esr303_listing_the_keys(tmp_path: Path) -> None:
    report = check(save({"params": state_dict(), "iter": 1}, tmp_path / "w.pth"), key="params_ema")
    assert codes(report) == ["ESR303"]
    assert "'params'" in report.findings[0].message and "'iter'" in report.findings[0].message
    flat = check(save(state_dict(), tmp_path / "f.pth"), key="params")
    assert codes(flat) == ["ESR303"] and "state dict itself" in flat.findings[0].message
    with pytest.raises(CheckpointError) as exc:
        load_state_dict_safely(tmp_path / "w.pth", key="params_ema")
    assert exc.value.finding.code == "ESR303"


@pytest.mark.parametrize("damage", ["random", "truncated", "empty", "no-data-pkl", "plain-pickle"])
def test_corrupt_files_are_esr302(tmp_path: Path, damage: str) -> None:
    good = save(state_dict(), tmp_path / "good.pth").read_bytes()
    path = tmp_path / "w.pth"
    if damage == "random":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "no-data-pkl":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/other.bin", b"x")
    else:
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    report = check(path)
    assert codes(report) == ["ESR302"]
    loader = check(path, loader_method="load_weights")  # the model reads it itself
    assert codes(loader) == ["ESR302"] and loader.findings[0].severity.value == "warning"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_torchscript_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.jit.save(torch.jit.script(nn.Conv2d(3, 3, 1)), path)
    report = check(path)
    assert codes(report) == ["ESR302"]
    assert "TorchScript" in report.findings[0].message


# --- pickles that execute code --------------------------------------------------------------


class TouchMarker:
    """Unpickling this creates ``marker`` (through pathlib, no shell involved)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


class SystemMarker(TouchMarker):
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch '{self.marker}'",))


def test_payload_is_live(tmp_path: Path) -> None:
    """The payload really runs when unpickled normally: the negative tests mean something."""
    control = tmp_path / "CONTROL"
    pickle.loads(pickle.dumps(TouchMarker(control)))
    assert control.exists()


def _zip_with_pickle(tmp_path: Path, payload: bytes, *, extra_member: bool = False) -> Path:
    """A torch.save zip whose data.pkl is ``payload`` (or, hidden, a second data.pkl)."""
    good = save(state_dict(), tmp_path / "good.pth")
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("data.pkl") and not extra_member:
                data = payload
            dst.writestr(info, data)
        if extra_member:
            dst.writestr("other/data.pkl", payload)
    return path


def _memo_stack_global() -> bytes:
    """Protocol 4: the module name is memoised, then fetched back with BINGET."""
    module = os.system.__module__.encode()
    return (b"\x80\x04" + b"\x8c" + bytes([len(module)]) + module + b"\x94" + b"0"
            + b"h\x00" + b"\x8c\x06system" + b"\x93" + b"\x8c\x04true\x85R.")  # fmt: skip


EVIL_CASES = ["touch-zip", "system-zip", "touch-legacy", "protocol4-zip", "hidden-member",
              "memo-stack-global"]  # fmt: skip


@pytest.mark.parametrize("case", EVIL_CASES)
def test_code_executing_pickle_is_refused_and_never_runs(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "MARKER"
    touch_name = "pathlib.Path"  # protocol 2 spells Path.touch as getattr(Path, 'touch')
    system_name = f"{os.system.__module__}.system"
    expect = {"touch-zip": touch_name, "system-zip": system_name, "touch-legacy": touch_name,
              "protocol4-zip": "pathlib.Path.touch", "hidden-member": "pathlib.Path.touch",
              "memo-stack-global": system_name}[case]  # fmt: skip
    payload = {"w": torch.ones(2), "x": TouchMarker(marker)}
    if case == "touch-zip":
        path = save(payload, tmp_path / "evil.pth")
    elif case == "system-zip":
        path = save({"params": SystemMarker(marker)}, tmp_path / "evil.pth")
    elif case == "touch-legacy":
        path = save(payload, tmp_path / "evil.pth", _use_new_zipfile_serialization=False)
    elif case == "protocol4-zip":
        path = _zip_with_pickle(tmp_path, pickle.dumps(TouchMarker(marker), protocol=4))
    elif case == "hidden-member":
        evil = pickle.dumps(TouchMarker(marker), protocol=4)
        path = _zip_with_pickle(tmp_path, evil, extra_member=True)
    else:
        path = _zip_with_pickle(tmp_path, _memo_stack_global())
    for spec in ({}, {"key": "params"}, {"loader_method": "load_weights"}):
        report = check(path, **spec)
        assert codes(report) == ["ESR301"], report.findings
        assert expect in report.findings[0].message
    with pytest.raises(CheckpointError) as exc:
        load_state_dict_safely(path, key=None)
    assert exc.value.finding.code == "ESR301"
    assert not marker.exists()


def test_unresolvable_stack_global_counts_as_unsafe() -> None:
    # STACK_GLOBAL whose operands come from a memo slot the scan cannot know.
    data = b"\x80\x04h\x05h\x06\x93)R."
    assert scan_pickle(io.BytesIO(data)).globals == {UNRESOLVED}


def test_allowlist_is_within_torch_weights_only_allowlist() -> None:
    """What the scan lets through, torch's weights-only unpickler accepts too."""
    from torch import _weights_only_unpickler as wou

    assert set(TENSOR_GLOBALS) <= set(wou._get_allowed_globals())


# --- declared sizes: torch allocates a legacy storage before reading it ----------------------


def _inflate_numel(raw: bytes) -> bytes:
    """Replace the numel 4099 (BININT2) with 2**31 - 1 (BININT) in a protocol-2 pickle."""
    small, huge = b"M" + struct.pack("<H", 4099), b"J" + struct.pack("<i", 2**31 - 1)
    assert small in raw
    return raw.replace(small, huge)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_declared_storage_larger_than_the_file_is_refused(tmp_path: Path, zip_format: bool) -> None:
    path = save(
        {"w": torch.ones(4099)}, tmp_path / "w.pth", _use_new_zipfile_serialization=zip_format
    )
    if zip_format:
        pkl = next(n for n in zipfile.ZipFile(path).namelist() if n.endswith("data.pkl"))
        path = _zip_with_pickle(tmp_path, _inflate_numel(zipfile.ZipFile(path).read(pkl)))
    else:
        path.write_bytes(_inflate_numel(path.read_bytes()))
    report = check(path)
    assert codes(report) == ["ESR302"]
    assert "declares" in report.findings[0].message


def test_persistent_id_that_is_not_a_storage_record_is_unsafe(tmp_path: Path) -> None:
    path = _zip_with_pickle(tmp_path, b"\x80\x02X\x01\x00\x00\x00aQ.")
    report = check(path)
    assert codes(report) == ["ESR301"]
    assert "persistent id" in report.findings[0].message


def test_inflating_zip_member_is_refused(tmp_path: Path) -> None:
    good = save(state_dict(), tmp_path / "good.pth")
    path = tmp_path / "bomb.pth"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("archive/data/99", bytes(32 << 20), compress_type=zipfile.ZIP_DEFLATED)
    report = check(path)
    assert codes(report) == ["ESR302"]
    assert "expand" in report.findings[0].message


def test_loader_method_skips_the_structure_rules(tmp_path: Path) -> None:
    path = save({"params": state_dict(), "epoch": 3}, tmp_path / "w.pth")
    assert check(path, loader_method="load_weights").findings == []
    assert check(path).findings[0].code == "ESR305"


def test_torch_save_named_pkl_is_read_by_content(tmp_path: Path) -> None:
    report = check(save(state_dict(), tmp_path / "team13_model2.pkl"))
    assert report.findings == [] and report.count == 9
