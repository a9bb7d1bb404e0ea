"""The values a ``select_model()`` branch computes, evaluated symbolically from its AST.

Nothing is executed: an expression either maps onto one of these values or raises
:class:`Unsupported`, naming the node, so the importer reports the line instead of guessing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace
from typing import Any

OK_MODULES = frozenset({"os", "torch", "importlib", "torch.nn.functional", "math"})
_CHAIN = ("eval", "to", "cuda", "float", "train", "requires_grad_")


class Unsupported(Exception):
    """A construct the manifest cannot express."""

    def __init__(self, node: ast.AST, why: str) -> None:
        super().__init__(why)
        self.line = getattr(node, "lineno", None)
        self.why = why


@dataclass(frozen=True)
class ClassRef:
    file: str  # repository-relative: models/teamNN_X.py
    name: str


@dataclass(frozen=True)
class ModuleRef:
    file: str


@dataclass(frozen=True)
class Device:
    """``device``, ``torch.device(...)``: where the harness puts the model, ignored."""


@dataclass(frozen=True)
class RandInput:
    height: int
    width: int


@dataclass(frozen=True)
class KeyChoice:
    """``keyname = 'params_ema' if ... else 'params'``: one of several keys."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class State:
    """What ``torch.load(path)`` gives, narrowed by keys: ``keys`` is a fallback chain and
    ``else_file`` says whether the file itself is used when none of them is present."""

    path: str
    keys: tuple[str, ...] = ()
    else_file: bool = True
    strip: str | None = None

    def under(self, keys: tuple[str, ...], node: ast.AST, *, else_file: bool = False) -> State:
        if self.keys:
            raise Unsupported(node, "a state dict nested under two keys")
        return replace(self, keys=keys, else_file=else_file)


@dataclass
class ModelVal:
    cls: ClassRef
    args: list[Any]
    kwargs: dict[str, Any]
    line: int
    calls: list[str] = field(default_factory=list)


def _module_path(dotted: str, node: ast.AST) -> str:
    if not dotted.startswith("models.") or not all(p.isidentifier() for p in dotted.split(".")):
        raise Unsupported(node, f"import of {dotted!r}, not a file under models/")
    return dotted.replace(".", "/") + ".py"


def import_names(node: ast.Import | ast.ImportFrom) -> dict[str, Any]:
    """What an import statement binds; only models.* and harmless modules are accepted."""
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            raise Unsupported(node, "a relative import")
        if node.module in OK_MODULES:
            return {}
        path = _module_path(node.module, node)
        return {a.asname or a.name: ClassRef(path, a.name) for a in node.names}
    for alias in node.names:
        if alias.name not in OK_MODULES:
            raise Unsupported(node, f"`import {alias.name}` in the branch")
    return {}


class Evaluator:
    """Evaluates expressions against the branch's variables (``env``)."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env

    def __call__(self, node: ast.expr) -> Any:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(node, f"expression `{ast.unparse(node)[:80]}`")
        return method(node)

    def const(self, node: ast.expr) -> Any:
        value = self(node)
        if not _is_data(value):
            raise Unsupported(node, f"`{ast.unparse(node)[:80]}` is not a constant")
        return value

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _List(self, node: ast.List | ast.Tuple) -> list[Any]:
        return [self.const(e) for e in node.elts]

    _Tuple = _List

    def _Dict(self, node: ast.Dict) -> dict[str, Any]:
        keys = [self.const(k) if k is not None else None for k in node.keys]
        if not all(isinstance(k, str) for k in keys):
            raise Unsupported(node, "a dict with non-string keys")
        return {str(k): self.const(v) for k, v in zip(keys, node.values, strict=True)}

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        value = self.const(node.operand)
        if isinstance(node.op, ast.USub) and isinstance(value, int | float):
            return -value
        raise Unsupported(node, f"expression `{ast.unparse(node)[:80]}`")

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self(node.body) if self._Compare(node.test) else self(node.orelse)

    def _Compare(self, node: ast.expr) -> bool:
        """``model_id == 2`` and the like, between constants only (the shared tail)."""
        ok = isinstance(node, ast.Compare) and len(node.ops) == 1
        if not ok or not isinstance(node, ast.Compare):
            raise Unsupported(node, f"condition `{ast.unparse(node)[:80]}`")
        left, right, op = self.const(node.left), self.const(node.comparators[0]), node.ops[0]
        if isinstance(op, ast.Eq | ast.NotEq):
            return (left == right) is isinstance(op, ast.Eq)
        if isinstance(op, ast.In | ast.NotIn) and isinstance(right, list):
            return (left in right) is isinstance(op, ast.In)
        raise Unsupported(node, f"condition `{ast.unparse(node)[:80]}`")

    def _Name(self, node: ast.Name) -> Any:
        if node.id not in self.env:
            raise Unsupported(node, f"`{node.id}` is not defined in the branch")
        return self.env[node.id]

    def _JoinedStr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            assert isinstance(value, ast.FormattedValue)
            spec = self.const(value.format_spec) if value.format_spec else ""
            parts.append(format(self.const(value.value), spec))
        return "".join(parts)

    def _Subscript(self, node: ast.Subscript) -> Any:
        base = self(node.value)
        if not isinstance(base, State):
            raise Unsupported(node, f"indexing `{ast.unparse(node)[:80]}`")
        key = self(node.slice)
        if isinstance(key, KeyChoice):
            return base.under(key.keys, node)
        if not isinstance(key, str):
            raise Unsupported(node, "a state dict indexed by a non-string key")
        return base.under((key,), node)

    def _Call(self, node: ast.Call) -> Any:
        from esr_validator.importer.calls import evaluate_call

        return evaluate_call(self, node)


def _is_data(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_data(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_data(v) for k, v in value.items())
    return value is None or isinstance(value, bool | int | float | str)


def module_path(dotted: str, node: ast.AST) -> str:
    return _module_path(dotted, node)


CHAIN_METHODS = _CHAIN
