"""Each loading variant of the manifest, on models and checkpoints written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import torch

from esr_validator.intake.checkpoint import CheckpointError
from esr_validator.sandbox import __main__ as worker
from esr_validator.sandbox.cudashim import cpu_for_cuda
from esr_validator.sandbox.loader import LoadError, load_model, model_dtype, place_model
from esr_validator.schemas.manifest import CheckpointSpec, Manifest
from esr_validator.schemas.worker import WorkerResult
from tests.subs import TINY_MODEL, manifest, tiny_state_dict

# A model whose constructor and forward call .cuda(), as several accepted entries do.
CUDA_MODEL = TINY_MODEL.replace(
    "        self.scale = scale\n",
    "        self.scale = scale\n        self.cuda()\n"
    "        self(torch.randn(1, 3, 16, 16).cuda())\n",
).replace(
    "        base = F.interpolate(",
    "        x = x.cuda()\n        torch.cuda.synchronize()\n        base = F.interpolate(",
)
# A model overriding .to() without a dtype argument.
TO_OVERRIDE = (
    TINY_MODEL
    + """

class OwnTo(TinySR):
    def to(self, device):
        return super().to(device)
"""
)
# fp16 weights and a forward that casts its own input to half.
SELF_HALF = (
    TINY_MODEL
    + """

class SelfHalf(TinySR):
    def forward(self, x):
        return super().forward(x.half())
"""
)
# Counts its forwards, so a test sees the warm-up.
COUNTING = (
    TINY_MODEL
    + """

class Counting(TinySR):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        return super().forward(x)
"""
)


def _files(tmp_path: Path, source: str, state: Any) -> tuple[Path, Path]:
    model = tmp_path / "team16_TinySR.py"
    model.write_text(source)
    ckpt = tmp_path / "team16_TinySR.pth"
    torch.save(state, ckpt)
    return model, ckpt


def _manifest(**overrides: Any) -> Manifest:
    return Manifest.model_validate(manifest(**overrides))


@pytest.mark.parametrize(
    ("stored", "keys", "else_file"),
    [
        ({"params_ema": "W", "params": "X"}, ["params_ema", "params"], False),
        ({"params": "W"}, ["params_ema", "params"], False),
        ("W", ["params_ema", "params"], True),
        ({"state_dict": "W", "params": "X"}, ["state_dict", "params_ema", "params"], True),
    ],
)
def test_key_chain_takes_the_first_key_present(
    tmp_path: Path, stored: Any, keys: list[str], else_file: bool
) -> None:
    good, other = tiny_state_dict(seed=1), tiny_state_dict(seed=2)
    swap = {"W": good, "X": other}
    obj = swap[stored] if isinstance(stored, str) else {k: swap[v] for k, v in stored.items()}
    model_file, ckpt = _files(tmp_path, TINY_MODEL, obj)
    spec = {"keys": keys, "file_if_no_key": else_file}
    model = load_model(model_file, ckpt, _manifest(checkpoint=spec))
    torch.testing.assert_close(model.state_dict()["head.weight"], good["head.weight"])


def test_key_chain_without_file_fallback_fails_when_no_key_is_present(tmp_path: Path) -> None:
    model_file, ckpt = _files(tmp_path, TINY_MODEL, tiny_state_dict())
    with pytest.raises(CheckpointError, match="params_ema"):
        load_model(model_file, ckpt, _manifest(checkpoint={"keys": ["params_ema", "params"]}))


def test_key_and_keys_are_exclusive() -> None:
    with pytest.raises(ValueError, match="key or keys"):
        CheckpointSpec(key="params", keys=["params_ema"])
    with pytest.raises(ValueError, match="needs keys"):
        CheckpointSpec(file_if_no_key=True)


def test_module_prefix_is_stripped(tmp_path: Path) -> None:
    state = tiny_state_dict(seed=3)
    model_file, ckpt = _files(tmp_path, TINY_MODEL, {f"module.{k}": v for k, v in state.items()})
    with pytest.raises(LoadError, match="Missing key"):
        load_model(model_file, ckpt, _manifest())
    model = load_model(model_file, ckpt, _manifest(checkpoint={"strip_prefix": "module."}))
    torch.testing.assert_close(model.state_dict()["tail.bias"], state["tail.bias"])


def test_warmup_forwards_run_after_loading(tmp_path: Path) -> None:
    state = {**tiny_state_dict(), "calls": torch.zeros(())}
    model_file, ckpt = _files(tmp_path, COUNTING, state)
    spec = {"warmup_forwards": 3, "warmup_size": 16}
    m = _manifest(class_name="Counting", checkpoint=spec)
    model = place_model(load_model(model_file, ckpt, m), torch.device("cpu"), m)
    assert float(model.calls) == 3  # type: ignore[arg-type]


def test_fp32_passes_no_dtype_to_a_model_overriding_to(tmp_path: Path) -> None:
    model_file, ckpt = _files(tmp_path, TO_OVERRIDE, tiny_state_dict())
    m = _manifest(class_name="OwnTo")
    model = place_model(load_model(model_file, ckpt, m), torch.device("cpu"), m)
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(
    ("precision", "dtype"), [("fp16", torch.float16), ("bf16", torch.bfloat16)]
)
def test_half_precisions_cast_weights_and_input(
    tmp_path: Path, precision: str, dtype: torch.dtype
) -> None:
    model_file, ckpt = _files(tmp_path, TINY_MODEL, tiny_state_dict())
    m = _manifest(inference={"precision": precision})
    model = place_model(load_model(model_file, ckpt, m), torch.device("cpu"), m)
    assert model.head.weight.dtype == dtype and model_dtype(m) == dtype


def test_int8_casts_nothing(tmp_path: Path) -> None:
    model_file, ckpt = _files(tmp_path, TO_OVERRIDE, tiny_state_dict())
    m = _manifest(class_name="OwnTo", inference={"precision": "int8"})
    model = place_model(load_model(model_file, ckpt, m), torch.device("cpu"), m)
    assert model.head.weight.dtype == torch.float32 and model_dtype(m) == torch.float32


def test_cuda_calls_run_on_the_cpu_inside_the_shim_only(tmp_path: Path) -> None:
    model_file, ckpt = _files(tmp_path, CUDA_MODEL, tiny_state_dict())
    m = _manifest()
    if torch.cuda.is_available():
        pytest.skip("on a GPU the entry's .cuda() behaves as written")
    with pytest.raises((AssertionError, RuntimeError)):  # torch: "not compiled with CUDA"
        load_model(model_file, ckpt, m)
    with cpu_for_cuda(torch.device("cpu")) as calls:
        model = place_model(load_model(model_file, ckpt, m), torch.device("cpu"), m)
        y = model(torch.rand(1, 3, 8, 8))
    assert y.device.type == "cpu"
    text = " ".join(calls.calls)
    assert ".cuda() at team16_TinySR.py:" in text and "torch.cuda.synchronize()" in text


def _lr_dir(root: Path) -> Path:
    split = root / "lr" / "valid"
    split.mkdir(parents=True)
    img = np.random.default_rng(0).integers(0, 255, (12, 10, 3), dtype=np.uint8)
    cv2.imwrite(str(split / "0001x4.png"), img)
    return root / "lr"


def _run_worker(tmp_path: Path, source: str, state: Any, **overrides: Any) -> WorkerResult:
    sub = tmp_path / "sub"
    (sub / "models").mkdir(parents=True)
    (sub / "model_zoo").mkdir()
    (sub / "models" / "team16_TinySR.py").write_text(source)
    torch.save(state, sub / "model_zoo" / "team16_TinySR.pth")
    out = tmp_path / "out"
    out.mkdir()
    config = {
        "manifest": manifest(**overrides),
        "submission_dir": str(sub),
        "model_file": "models/team16_TinySR.py",
        "checkpoint_file": "model_zoo/team16_TinySR.pth",
        "lr_dir": str(_lr_dir(tmp_path)),
        "out_dir": str(out),
        "splits": ["valid"],
        "runs": 1,
        "stable_runs": 0,
        "warmup": 0,
        "complexity_input": 32,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    worker.main([str(tmp_path / "config.json")])
    return WorkerResult.model_validate_json((out / "result.json").read_text())


def test_worker_evaluates_a_cuda_hardcoding_entry_on_cpu_and_says_so(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("on a GPU the entry's .cuda() behaves as written")
    result = _run_worker(tmp_path, CUDA_MODEL, tiny_state_dict())
    assert result.status == "ok", result.failure
    assert result.complexity is not None and result.complexity.params > 0
    assert any(".cuda()" in c for c in result.hardcoded_cuda)
    assert torch.cuda.synchronize is not None  # restored: calling it would raise again


def test_worker_evaluates_and_counts_an_fp16_entry_casting_its_input(tmp_path: Path) -> None:
    half = {k: v.half() for k, v in tiny_state_dict().items()}
    result = _run_worker(
        tmp_path, SELF_HALF, half, class_name="SelfHalf", inference={"precision": "fp16"}
    )
    assert result.status == "ok", result.failure
    assert result.complexity is not None and result.complexity.flops > 0
    assert result.hardcoded_cuda == []
