"""Read one ``elif model_id == NN:`` branch of ``select_model()`` into loading facts.

Each statement must match a pattern the manifest can express; the first one that does not
raises :class:`Unsupported` with its line. Nothing is executed.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import Any

from esr_validator.importer.values import (
    CHAIN_METHODS,
    Device,
    Evaluator,
    ModelVal,
    RandInput,
    State,
    Unsupported,
    import_names,
)

_IGNORED_CALLS = frozenset({"print"})


@dataclass
class BranchSpec:
    """What one branch does, as data."""

    model: ModelVal
    checkpoint: str
    data_range: float
    state: State | None = None  # None with a loader method
    strict: bool = True
    loader_method: str | None = None
    post_load: str | None = None
    post_load_scope: str = "model"
    warmup: tuple[int, int] | None = None  # (forwards, side)


class BranchReader:
    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.ev = Evaluator(env)
        self.spec: dict[str, Any] = {}

    # -- statements ---------------------------------------------------------------------
    def run(self, body: list[ast.stmt], line: int) -> BranchSpec:
        for stmt in body:
            self._stmt(stmt)
        return self._finish(line)

    def _stmt(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            self.env.update(import_names(stmt))
        elif isinstance(stmt, ast.Assign):
            self._assign(stmt)
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            self._call(stmt.value)
        elif isinstance(stmt, ast.For):
            self._for(stmt)
        elif isinstance(stmt, ast.If):
            from esr_validator.importer.chains import read_if

            name, value = read_if(self.ev, stmt)
            self.env[name] = value
        elif not isinstance(stmt, ast.Pass):
            raise Unsupported(stmt, f"statement `{ast.unparse(stmt).splitlines()[0][:80]}`")

    def _assign(self, stmt: ast.Assign) -> None:
        if len(stmt.targets) != 1:
            raise Unsupported(stmt, "chained assignment")
        target = stmt.targets[0]
        if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple):
            pairs = list(zip(target.elts, stmt.value.elts, strict=False))
            if len(target.elts) != len(stmt.value.elts):
                raise Unsupported(stmt, "unpacking of unequal length")
        else:
            pairs = [(target, stmt.value)]
        for name_node, value_node in pairs:
            if not isinstance(name_node, ast.Name):
                raise Unsupported(stmt, f"assignment to `{ast.unparse(name_node)[:60]}`")
            if name_node.id == "name":  # the label the organizers print; not needed
                continue
            if isinstance(value_node, ast.Call) and _is_model_call(value_node, self.env):
                self._forward(value_node)  # `out = model(inp)` outside a loop: one warm-up
                continue
            self.env[name_node.id] = self._value(value_node)

    def _value(self, node: ast.expr) -> Any:
        from esr_validator.importer.chains import FreshDict, is_fresh_dict, read_strip

        if isinstance(node, ast.DictComp):
            return read_strip(self.ev, node)
        if is_fresh_dict(node):
            return FreshDict()
        return self.ev(node)

    def _call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Name) and func.id in _IGNORED_CALLS:
            return
        if _is_model_call(call, self.env):
            self._forward(call)
            return
        if not isinstance(func, ast.Attribute):
            raise Unsupported(call, f"call `{ast.unparse(call)[:80]}`")
        base = self.ev(func.value)
        if not isinstance(base, ModelVal):
            raise Unsupported(call, f"call `{ast.unparse(call)[:80]}`")
        self._model_method(call, func.attr)

    def _model_method(self, call: ast.Call, method: str) -> None:
        loaded = "state" in self.spec or "loader_method" in self.spec
        if method in CHAIN_METHODS:
            return
        if method == "load_state_dict":
            self._load_state_dict(call)
        elif len(call.args) == 1 and not call.keywords and isinstance(self.ev(call.args[0]), str):
            self.spec["loader_method"] = method
            self.spec["checkpoint"] = self.ev(call.args[0])
        elif not call.args and not call.keywords and loaded and "post_load" not in self.spec:
            self.spec["post_load"] = method
        else:
            raise Unsupported(call, f"model method call `{ast.unparse(call)[:80]}`")

    def _load_state_dict(self, call: ast.Call) -> None:
        if not call.args or len(call.args) > 2:
            raise Unsupported(call, "load_state_dict without one state dict")
        state = self.ev(call.args[0])
        if not isinstance(state, State):
            raise Unsupported(call, "load_state_dict of something other than torch.load's")
        strict_node = call.args[1] if len(call.args) == 2 else None
        for kw in call.keywords:
            if kw.arg != "strict":
                raise Unsupported(call, f"load_state_dict(..., {kw.arg}=...)")
            strict_node = kw.value
        strict = True if strict_node is None else self.ev.const(strict_node)
        if not isinstance(strict, bool):
            raise Unsupported(call, "strict is not a constant bool")
        self.spec.update(state=state, strict=strict, checkpoint=state.path)

    def _for(self, stmt: ast.For) -> None:
        from esr_validator.importer.chains import read_for

        result = read_for(self, stmt)
        if result is not None:
            name, value = result
            self.env[name] = value

    def _forward(self, call: ast.Call) -> None:
        self.add_warmup(call, 1)

    def add_warmup(self, call: ast.Call, count: int) -> None:
        if len(call.args) != 1 or call.keywords:
            raise Unsupported(call, "a model call other than model(input)")
        x = self.ev(call.args[0])
        if not isinstance(x, RandInput) or x.height != x.width:
            raise Unsupported(call, "a forward on something other than a square random input")
        if "state" not in self.spec and "loader_method" not in self.spec:
            raise Unsupported(call, "a forward before the weights are loaded")
        done = self.spec.get("warmup", (0, x.height))[0]
        self.spec["warmup"] = (done + count, x.height)

    # -- result -------------------------------------------------------------------------
    def _finish(self, line: int) -> BranchSpec:
        model = self.env.get("model")
        anchor = ast.Pass(lineno=line)
        if not isinstance(model, ModelVal):
            raise Unsupported(anchor, "the branch builds no `model` from a models/ class")
        if "checkpoint" not in self.spec:
            raise Unsupported(anchor, "the branch loads no weights")
        data_range = self.env.get("data_range")
        if data_range not in (1.0, 255.0):
            raise Unsupported(anchor, f"data_range is {data_range!r}, not 1.0 or 255.0")
        spec = BranchSpec(model=model, data_range=float(data_range), **self.spec)
        if spec.state is not None and spec.state.path != spec.checkpoint:
            raise Unsupported(anchor, "the state dict comes from another file")
        return replace(spec, checkpoint=spec.checkpoint.removeprefix("./"))


def _is_model_call(call: ast.Call, env: dict[str, Any]) -> bool:
    return isinstance(call.func, ast.Name) and isinstance(env.get(call.func.id), ModelVal)


def branch_env(globals_env: dict[str, Any], model_id: int) -> dict[str, Any]:
    return {**globals_env, "model_id": model_id, "device": Device()}
