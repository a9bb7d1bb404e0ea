"""Import, construct and load the submission's model, honouring every manifest variant.

The model file is compiled from its source text and nothing else: no ``__pycache__`` is read
(a planted ``.pyc`` could differ from the source the intake checked) and none is written
(``sys.dont_write_bytecode``, and the runners set ``PYTHONDONTWRITEBYTECODE``).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import torch
from torch import nn

from esr_validator.sandbox.weights import WeightsError, load_state_dict
from esr_validator.schemas.manifest import Manifest


class LoadError(Exception):
    """The model could not be imported, built or given its weights."""


def import_model_module(model_file: Path) -> object:
    """Execute exactly ``model_file``'s source as a fresh module named after its stem."""
    sys.dont_write_bytecode = True
    if model_file.suffix != ".py" or not model_file.is_file():
        raise LoadError(f"{model_file.name} is not a Python source file")
    name = model_file.stem
    module = types.ModuleType(name)
    module.__file__ = str(model_file)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    code = compile(model_file.read_bytes(), str(model_file), "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102  (this is the sandbox: running it is the point)
    return module


def build_model(module: object, manifest: Manifest) -> nn.Module:
    factory = getattr(module, manifest.class_name, None)
    if not callable(factory):
        raise LoadError(f"{manifest.class_name} is not defined in the model file")
    model = factory(*manifest.args, **manifest.kwargs)
    if not isinstance(model, nn.Module):
        raise LoadError(
            f"{manifest.class_name}(...) returned {type(model).__name__}, not nn.Module"
        )
    return model


def _post_load(model: nn.Module, manifest: Manifest) -> None:
    method = manifest.checkpoint.post_load
    if method is None:
        return
    if manifest.checkpoint.post_load_scope == "model":
        fn = getattr(model, method, None)
        if not callable(fn):
            raise LoadError(f"the model has no method {method}()")
        fn()
        return
    called = 0
    for module in list(model.modules()):
        fn = getattr(module, method, None)
        if callable(fn):
            fn()
            called += 1
    if not called:
        raise LoadError(f"no submodule has a method {method}()")


def _strip(state: dict[str, torch.Tensor], prefix: str | None) -> dict[str, torch.Tensor]:
    if not prefix:
        return state
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state.items()}


def load_model(model_file: Path, checkpoint: Path, manifest: Manifest) -> nn.Module:
    """The official sequence: build, load on CPU, post-load, eval, freeze parameters."""
    model = build_model(import_model_module(model_file), manifest)
    spec = manifest.checkpoint
    if spec.loader_method:
        loader = getattr(model, spec.loader_method, None)
        if not callable(loader):
            raise LoadError(f"the model has no method {spec.loader_method}(path)")
        loader(str(checkpoint))
    else:
        try:
            state = _strip(load_state_dict(checkpoint, spec=spec), spec.strip_prefix)
        except (WeightsError, RuntimeError, ValueError, KeyError) as exc:
            raise LoadError(f"cannot load the checkpoint: {str(exc)[:1500]}") from None
        try:
            model.load_state_dict(state, strict=spec.strict)
        except RuntimeError as exc:
            raise LoadError(f"load_state_dict failed: {str(exc)[:1500]}") from None
    _post_load(model, manifest)
    model.eval()
    for param in model.parameters():
        param.requires_grad = False
    return model


_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def model_dtype(manifest: Manifest) -> torch.dtype:
    """The dtype of the input the harness feeds: fp32 unless the weights are fp16/bf16 (an
    int8 entry quantises itself and takes fp32 input)."""
    return _DTYPES.get(manifest.inference.precision, torch.float32)


def place_model(model: nn.Module, device: torch.device, manifest: Manifest) -> nn.Module:
    """Move the model to ``device``, then run the entry's warm-up forwards.

    A dtype is passed only when the manifest declares fp16 or bf16: some entries override
    ``.to()`` with a signature that takes no ``dtype``, and fp32 needs no cast anyway.
    """
    dtype = _DTYPES.get(manifest.inference.precision)
    moved = model.to(device, dtype=dtype) if dtype is not None else model.to(device)
    if isinstance(moved, nn.Module):  # an override may return None or self
        model = moved
    spec = manifest.checkpoint
    if spec.warmup_forwards:
        side = spec.warmup_size
        x = torch.randn(1, 3, side, side, device=device, dtype=model_dtype(manifest))
        for _ in range(spec.warmup_forwards):  # outside no_grad, as the branches ran them
            model(x)
    return model
