"""Import, construct and load the submission's model, honouring every manifest variant.

The model file is compiled from its source text and nothing else: no ``__pycache__`` is read
(a planted ``.pyc`` could differ from the source the intake checked) and none is written
(``sys.dont_write_bytecode``, and the runners set ``PYTHONDONTWRITEBYTECODE``). A model
package's files are imported the same way, by a finder that serves ``models.<folder>`` only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

import torch
from torch import nn

from esr_validator.sandbox.weights import WeightsError, load_state_dict
from esr_validator.schemas.manifest import Manifest

ROOT_PACKAGE = "models"  # what the official code imports every model from


class LoadError(Exception):
    """The model could not be imported, built or given its weights."""


def import_model_module(model_file: Path, *, package: Path | None = None) -> object:
    """Execute exactly ``model_file``'s source as a fresh module named after its stem; or,
    for a model package (``package``: its folder), import ``model_file`` as the official
    code does, ``models.<folder>.<module>``, with the package's own files and nothing else."""
    sys.dont_write_bytecode = True
    if model_file.suffix != ".py" or not model_file.is_file():
        raise LoadError(f"{model_file.name} is not a Python source file")
    if package is not None:
        return _import_from_package(model_file, package)
    name = model_file.stem
    module = types.ModuleType(name)
    module.__file__ = str(model_file)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    code = compile(model_file.read_bytes(), str(model_file), "exec", dont_inherit=True)
    exec(code, module.__dict__)  # noqa: S102  (this is the sandbox: running it is the point)
    return module


class _SourceLoader(importlib.abc.Loader):
    """Runs one file of the package from its source text (never a cached ``.pyc``)."""

    def __init__(self, source: Path | None) -> None:
        self.source = source  # None: a folder without __init__.py, an empty package

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        return None  # the default module object

    def exec_module(self, module: types.ModuleType) -> None:
        if self.source is None:
            return
        code = compile(self.source.read_bytes(), str(self.source), "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102


class _PackageFinder(importlib.abc.MetaPathFinder):
    """Finds ``models.<folder>`` and its submodules in the package folder, and nothing else:
    a file of the package named like an installed module (``torch.py``) shadows nothing."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name, self.folder = name, folder

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name and not fullname.startswith(self.name + "."):
            return None
        inner = fullname[len(self.name) + 1 :]
        base = self.folder.joinpath(*inner.split(".")) if inner else self.folder
        if base.is_dir():
            init = base / "__init__.py"
            source = init if init.is_file() else None
            spec = importlib.util.spec_from_loader(
                fullname, _SourceLoader(source), origin=str(source or base), is_package=True
            )
            assert spec is not None
            spec.submodule_search_locations = [str(base)]
        elif base.with_name(base.name + ".py").is_file():
            source = base.with_name(base.name + ".py")
            spec = importlib.util.spec_from_loader(
                fullname, _SourceLoader(source), origin=str(source)
            )
        else:
            return None
        if spec is not None and source is not None:
            spec.has_location = True  # sets __file__, which some entries read
        return spec


def _import_from_package(model_file: Path, package: Path) -> object:
    try:
        relative = model_file.relative_to(package).with_suffix("")
    except ValueError:
        raise LoadError(f"{model_file.name} is not inside the model package") from None
    for stale in [n for n in sys.modules if n.split(".")[0] == ROOT_PACKAGE]:
        del sys.modules[stale]  # only the package's own files may answer models.*
    root = types.ModuleType(ROOT_PACKAGE)
    root.__path__ = []  # a package whose only child is the model's: see _PackageFinder
    sys.modules[ROOT_PACKAGE] = root
    name = f"{ROOT_PACKAGE}.{package.name}"
    sys.meta_path.insert(0, _PackageFinder(name, package))
    parts = [p for p in relative.parts if p != "__init__"]
    return importlib.import_module(".".join([name, *parts]))


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


def load_model(
    model_file: Path, checkpoint: Path, manifest: Manifest, *, package: Path | None = None
) -> nn.Module:
    """The official sequence: build, load on CPU, post-load, eval, freeze parameters."""
    model = build_model(import_model_module(model_file, package=package), manifest)
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
