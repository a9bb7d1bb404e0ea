"""The sample submission's TinyESR: its contract, its checkpoint, and that it beats bicubic."""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from esr_validator.checks import significant_unsupported
from esr_validator.data import discover
from esr_validator.metrics.convert import mod_crop, read_image
from esr_validator.metrics.imresize import upscale
from esr_validator.metrics.psnr import psnr
from esr_validator.sandbox.complexity import count_params, fvcore_flops
from esr_validator.sandbox.convert import from_tensor, to_tensor

ROOT = Path(__file__).resolve().parents[2]
MODEL_FILE = ROOT / "sample_submission" / "models" / "team01_TinyESR.py"
CHECKPOINT = ROOT / "sample_submission" / "model_zoo" / "team01_TinyESR.pth"
SMOKE = ROOT / "esr_validator" / "data" / "smoke"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    net = _load(MODEL_FILE, "team01_TinyESR").TinyESR(num_feat=24, num_blocks=4)
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    net.load_state_dict(state, strict=True)
    return net.eval()


def test_checkpoint_is_a_small_plain_state_dict() -> None:
    assert CHECKPOINT.stat().st_size < 1_000_000
    state = torch.load(CHECKPOINT, map_location="cpu", weights_only=True)
    assert isinstance(state, dict) and state
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float32 for v in state.values())


def test_model_size_and_output_shape(model: torch.nn.Module) -> None:
    assert count_params(model) == 52_752  # < 60k by design
    with torch.no_grad():
        out = model(torch.rand(1, 3, 17, 23))
    assert out.shape == (1, 3, 68, 92)
    flops = fvcore_flops(model, size=64)
    assert flops.flops > 0
    assert significant_unsupported(flops.unsupported_ops) == {}


def test_model_source_is_plain_torch() -> None:
    tree = ast.parse(MODEL_FILE.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"__future__", "torch"}
    calls = {
        n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    names = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert "cuda" not in calls and "open" not in names


@pytest.mark.slow
def test_training_is_reproducible() -> None:
    train_sample = _load(ROOT / "scripts" / "train_sample.py", "train_sample")
    pairs = train_sample.training_pairs()
    states = []
    for _ in range(2):
        train_sample.seed_everything(7, 1)
        net = train_sample.load_model_module().TinyESR(num_feat=8, num_blocks=1)
        train_sample.train(net, pairs, steps=3, seed=7, log=False)
        states.append(net.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert not torch.equal(states[0]["head.weight"], torch.zeros_like(states[0]["head.weight"]))


@pytest.mark.slow
def test_beats_bicubic_on_every_smoke_split(model: torch.nn.Module) -> None:
    torch.set_num_threads(2)
    for split in discover(SMOKE).splits:
        ours, bicubic = [], []
        for pair in split.pairs:
            lr, hr = read_image(pair.lr), mod_crop(read_image(pair.hr), 4)
            with torch.no_grad():
                sr = from_tensor(model(to_tensor(lr, 1.0)), 1.0)
            ours.append(psnr(sr, hr))
            bicubic.append(psnr(np.asarray(upscale(lr, 4), dtype=np.uint8), hr))
        assert np.mean(ours) > np.mean(bicubic) + 0.1, (split.name, ours, bicubic)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
