"""Calls a branch makes in expressions: paths, ``torch.load``, constructors, ``.get`` chains."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from esr_validator.importer.values import (
    CHAIN_METHODS,
    ClassRef,
    Device,
    ModelVal,
    ModuleRef,
    RandInput,
    State,
    Unsupported,
    module_path,
)

if TYPE_CHECKING:
    from esr_validator.importer.values import Evaluator


def evaluate_call(ev: Evaluator, node: ast.Call) -> Any:
    func = node.func
    if isinstance(func, ast.Attribute):
        dotted = ast.unparse(func)
        special = _SPECIAL.get(dotted)
        if special is not None:
            return special(ev, node)
        return _method(ev, node, ev(func.value), func.attr)
    if isinstance(func, ast.Name) and func.id == "getattr":
        return _getattr(ev, node)
    target = ev(func)
    if isinstance(target, ClassRef):
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
            k.arg is None for k in node.keywords
        ):
            raise Unsupported(node, "*args/**kwargs in the constructor call")
        args = [ev.const(a) for a in node.args]
        kwargs = {str(k.arg): ev.const(k.value) for k in node.keywords}
        return ModelVal(target, args, kwargs, node.lineno)
    raise Unsupported(node, f"call `{ast.unparse(node)[:80]}`")


def _join(ev: Evaluator, node: ast.Call) -> str:
    parts = [ev.const(a) for a in node.args]
    if not all(isinstance(p, str) for p in parts):
        raise Unsupported(node, "os.path.join of non-strings")
    return "/".join(p.strip("/") for p in parts)


def _load(ev: Evaluator, node: ast.Call) -> State:
    if not node.args:
        raise Unsupported(node, "torch.load without a path")
    path = ev(node.args[0])
    if not isinstance(path, str):
        raise Unsupported(node, "torch.load of a computed path")
    for kw in node.keywords:  # map_location is always CPU here; nothing else is allowed
        if kw.arg != "map_location":
            raise Unsupported(node, f"torch.load(..., {kw.arg}=...)")
    return State(path=path)


def _rand(ev: Evaluator, node: ast.Call) -> RandInput:
    dims = [ev.const(a) for a in node.args]
    if len(dims) != 4 or dims[:2] != [1, 3] or not all(isinstance(d, int) for d in dims):
        raise Unsupported(node, "a random input other than 1x3xHxW")
    return RandInput(dims[2], dims[3])


def _import_module(ev: Evaluator, node: ast.Call) -> ModuleRef:
    name = ev.const(node.args[0]) if len(node.args) == 1 else None
    if not isinstance(name, str):
        raise Unsupported(node, "importlib.import_module of a computed name")
    return ModuleRef(module_path(name, node))


def _getattr(ev: Evaluator, node: ast.Call) -> ClassRef:
    if len(node.args) != 2:
        raise Unsupported(node, "getattr with a default")
    module, name = ev(node.args[0]), ev.const(node.args[1])
    if not isinstance(module, ModuleRef) or not isinstance(name, str):
        raise Unsupported(node, "getattr on something other than a models/ module")
    return ClassRef(module.file, name)


_SPECIAL = {
    "os.path.join": _join,
    "torch.load": _load,
    "torch.device": lambda ev, node: Device(),
    "torch.randn": _rand,
    "torch.rand": _rand,
    "importlib.import_module": _import_module,
}


def _method(ev: Evaluator, node: ast.Call, base: Any, attr: str) -> Any:
    if isinstance(base, ModelVal) and attr in CHAIN_METHODS:
        return base  # .eval()/.to(device)/.cuda(): the harness places the model itself
    if isinstance(base, RandInput) and attr in ("to", "cuda", "float"):
        return base
    if isinstance(base, State) and attr == "get":
        return _get(ev, node, base)
    raise Unsupported(node, f"call `{ast.unparse(node)[:80]}`")


def _get(ev: Evaluator, node: ast.Call, base: State) -> State:
    """``ckpt.get('params_ema', ckpt.get('params'))``: a chain, ending in the file or not."""
    if not 1 <= len(node.args) <= 2:
        raise Unsupported(node, "dict.get with keyword arguments")
    key = ev.const(node.args[0])
    if not isinstance(key, str):
        raise Unsupported(node, "dict.get of a non-string key")
    if len(node.args) == 1 or (
        isinstance(node.args[1], ast.Constant) and node.args[1].value is None
    ):
        return base.under((key,), node)
    default = ev(node.args[1])
    if default == base:
        return base.under((key,), node, else_file=True)
    if isinstance(default, State) and default.path == base.path and default.keys:
        return base.under((key, *default.keys), node, else_file=default.else_file)
    raise Unsupported(node, f"dict.get default `{ast.unparse(node.args[1])[:60]}`")
