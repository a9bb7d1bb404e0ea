"""Each loading variant of the manifest, on models and checkpoints written here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from esr_validator.sandbox.cudashim import cpu_for_cuda
from esr_validator.sandbox.loader import LoadError, load_model, model_dtype, place_model
from esr_validator.schemas.manifest import CheckpointSpec, Manifest
from esr_validator.schemas.report import Report
from tests.factories import evaluate, make_settings
from tests.subs import (
    TINY_MODEL,
    checkpoint_bytes,
    good_members,
    manifest,
    tiny_state_dict,
    write_zip,
)

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
    with pytest.raises(LoadError, match="params_ema"):
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


def _evaluate(tmp_path: Path, source: str, state: Any, **overrides: Any) -> Report:
    """The entry through the real sandbox sessions (complexity, then one official run)."""
    members = good_members(**overrides)
    members["models/team16_TinySR.py"] = source.encode()
    members["model_zoo/team16_TinySR.pth"] = checkpoint_bytes(state)
    zip_path = write_zip(tmp_path / "team16.zip", members)
    return evaluate(zip_path, options=make_settings(runs=1, stable_runs=0).eval_options())


def test_worker_evaluates_a_cuda_hardcoding_entry_on_cpu_and_says_so(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("on a GPU the entry's .cuda() behaves as written")
    report = _evaluate(tmp_path, CUDA_MODEL, tiny_state_dict())
    assert report.status == "evaluated", report.findings
    assert report.complexity is not None and report.complexity.params > 0
    [said] = [f for f in report.findings if f.name == "hardcoded-cuda"]
    assert ".cuda()" in said.message


def test_worker_evaluates_and_counts_an_fp16_entry_casting_its_input(tmp_path: Path) -> None:
    half = {k: v.half() for k, v in tiny_state_dict().items()}
    report = _evaluate(
        tmp_path, SELF_HALF, half, class_name="SelfHalf", inference={"precision": "fp16"}
    )
    assert report.status == "evaluated", report.findings
    assert report.complexity is not None and report.complexity.flops > 0
    assert not any(f.name == "hardcoded-cuda" for f in report.findings)
