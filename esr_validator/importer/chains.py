"""The control flow branches use around loading: key fallback chains, prefix stripping,
per-submodule re-parameterisation and warm-up loops. Anything else is unsupported."""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from esr_validator.importer.values import Evaluator, KeyChoice, ModelVal, State, Unsupported

if TYPE_CHECKING:
    from esr_validator.importer.branch import BranchReader


def _tested(test: ast.expr, ev: Evaluator) -> tuple[str, list[str]] | None:
    """``'k' in V`` (with ``isinstance(V, dict) and``, ``or``): the variable and the keys."""
    if isinstance(test, ast.BoolOp):
        found = [_tested(v, ev) for v in test.values if not _is_isinstance_dict(v)]
        if not found or any(f is None for f in found):
            return None
        names = {f[0] for f in found if f is not None}
        if len(names) != 1:
            return None
        return names.pop(), [k for f in found if f is not None for k in f[1]]
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.In)
        and isinstance(test.comparators[0], ast.Name)
    ):
        key = ev(test.left)
        if isinstance(key, str):
            return test.comparators[0].id, [key]
    return None


def _is_isinstance_dict(node: ast.expr) -> bool:
    return ast.unparse(node).replace(" ", "").startswith("isinstance(") and ast.unparse(
        node
    ).replace(" ", "").endswith(",dict)")


def _flatten(stmt: ast.If) -> tuple[list[tuple[ast.expr, list[ast.stmt]]], list[ast.stmt]]:
    arms = [(stmt.test, stmt.body)]
    rest = stmt.orelse
    while len(rest) == 1 and isinstance(rest[0], ast.If):
        arms.append((rest[0].test, rest[0].body))
        rest = rest[0].orelse
    return arms, rest


def _single_assign(body: list[ast.stmt], node: ast.AST) -> tuple[str, ast.expr]:
    if len(body) != 1 or not isinstance(body[0], ast.Assign) or len(body[0].targets) != 1:
        raise Unsupported(node, "a key test whose arm is not one assignment")
    target = body[0].targets[0]
    if not isinstance(target, ast.Name):
        raise Unsupported(node, "a key test assigning to something other than a name")
    return target.id, body[0].value


def read_if(ev: Evaluator, stmt: ast.If) -> tuple[str, Any]:
    """An if statement around the state dict: a key chain or a prefix strip."""
    if "startswith" in ast.unparse(stmt.test) and not stmt.orelse:
        name, value = _single_assign(stmt.body, stmt)
        if isinstance(value, ast.DictComp):
            return name, read_strip(ev, value)
    arms, orelse = _flatten(stmt)
    tested = [_tested(test, ev) for test, _ in arms]
    if any(t is None for t in tested) or len({t[0] for t in tested if t}) != 1:
        raise Unsupported(stmt, f"condition `{ast.unparse(stmt.test)[:80]}`")
    source = tested[0][0] if tested[0] else ""
    base = ev.env.get(source)
    if not isinstance(base, State) or base.keys:
        raise Unsupported(stmt, f"a key test on `{source}`, which is not a loaded checkpoint")
    assigned = [_single_assign(body, stmt) for _, body in arms]
    if orelse:
        assigned.append(_single_assign(orelse, stmt))
    targets = {name for name, _ in assigned}
    if len(targets) != 1:
        raise Unsupported(stmt, "the arms of a key test assign different names")
    target = targets.pop()
    values = [ev(value) for _, value in assigned]
    if all(isinstance(v, str) for v in values):  # keyname = 'params_ema' / 'params'
        if not orelse:
            raise Unsupported(stmt, "a key name chosen without an else")
        return target, KeyChoice(tuple(values))
    keys: list[str] = []
    else_file = not orelse and target == source
    for i, value in enumerate(values):
        if not isinstance(value, State) or value.path != base.path:
            raise Unsupported(stmt, "a key test arm that is not the checkpoint under a key")
        if not value.keys:
            if i != len(values) - 1 or not orelse:
                raise Unsupported(stmt, "the file itself chosen before the last arm")
            else_file = True
        keys.extend(k for k in value.keys if k not in keys)
        else_file = else_file or (value.else_file and bool(value.keys))
    return target, replace(base, keys=tuple(keys), else_file=else_file)


class FreshDict:
    """``dict()``, ``OrderedDict()`` or ``{}``: an empty dict a key loop fills."""


FRESH_DICT_CALLS = ("dict", "OrderedDict", "collections.OrderedDict")


def is_fresh_dict(node: ast.expr) -> bool:
    if isinstance(node, ast.Dict):
        return not node.keys
    return (
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in FRESH_DICT_CALLS
        and not node.args
        and not node.keywords
    )


def _strip(ev: Evaluator, node: ast.AST, state: Any, key: ast.expr, var: str) -> State:
    """``state`` with the prefix that ``key`` (``var.replace('module.', '')``) removes."""
    ok = (
        isinstance(key, ast.Call)
        and isinstance(key.func, ast.Attribute)
        and key.func.attr == "replace"
        and ast.unparse(key.func.value) == var
        and len(key.args) in (2, 3)
        and not key.keywords
    )
    if not ok or not isinstance(key, ast.Call):
        raise Unsupported(node, f"key rewrite `{ast.unparse(node)[:80]}`")
    prefix, empty = ev.const(key.args[0]), ev.const(key.args[1])
    if not isinstance(state, State) or empty != "" or not isinstance(prefix, str) or not prefix:
        raise Unsupported(node, f"key rewrite `{ast.unparse(node)[:80]}`")
    if not prefix.endswith("."):  # only a module path prefix is safe to read as a strip
        raise Unsupported(node, f"key rewrite replacing {prefix!r}")
    return replace(state, strip=prefix)


def _items_of(ev: Evaluator, it: ast.expr) -> Any:
    if (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Attribute)
        and it.func.attr == "items"
        and not it.args
    ):
        return ev(it.func.value)
    return None


def read_strip(ev: Evaluator, node: ast.DictComp) -> State:
    """``{k.replace('module.', '', 1): v for k, v in state.items()}``: strip a prefix."""
    gen = node.generators[0] if len(node.generators) == 1 else None
    target = gen.target if gen is not None else None
    value_var = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else None
    ok = (
        gen is not None
        and not gen.ifs
        and isinstance(target, ast.Tuple)
        and isinstance(target.elts[0], ast.Name)
        and isinstance(value_var, ast.Name)
        and ast.unparse(node.value) == value_var.id
    )
    if not ok or gen is None or not isinstance(target, ast.Tuple):
        raise Unsupported(node, f"dict comprehension `{ast.unparse(node)[:80]}`")
    state = _items_of(ev, gen.iter)
    return _strip(ev, node, state, node.key, ast.unparse(target.elts[0]))


def _strip_loop(ev: Evaluator, stmt: ast.For) -> tuple[str, State]:
    """``new = dict()`` then ``for k, v in state.items(): new[k.replace('module.', '')] = v``."""
    target, body = stmt.target, stmt.body[0] if len(stmt.body) == 1 else None
    names = target.elts if isinstance(target, ast.Tuple) else []
    ok = (
        len(names) == 2
        and all(isinstance(n, ast.Name) for n in names)
        and isinstance(body, ast.Assign)
        and len(body.targets) == 1
        and isinstance(body.targets[0], ast.Subscript)
        and isinstance(body.targets[0].value, ast.Name)
        and isinstance(ev.env.get(body.targets[0].value.id), FreshDict)
        and ast.unparse(body.value) == ast.unparse(names[1])
    )
    if not ok or not isinstance(body, ast.Assign) or not isinstance(body.targets[0], ast.Subscript):
        raise Unsupported(stmt, f"loop `{ast.unparse(stmt).splitlines()[0][:80]}`")
    fresh = body.targets[0]
    assert isinstance(fresh.value, ast.Name)
    state = _items_of(ev, stmt.iter)
    return fresh.value.id, _strip(ev, stmt, state, fresh.slice, ast.unparse(names[0]))


def read_for(reader: BranchReader, stmt: ast.For) -> tuple[str, Any] | None:
    """Per-submodule post-load calls, warm-up loops and key loops."""
    ev = reader.ev
    it = stmt.iter
    if not stmt.orelse and isinstance(stmt.target, ast.Tuple):
        return _strip_loop(ev, stmt)
    if stmt.orelse or not isinstance(stmt.target, ast.Name):
        raise Unsupported(stmt, "a for loop with else or a tuple target")
    var = stmt.target.id
    if (
        isinstance(it, ast.Call)
        and isinstance(it.func, ast.Attribute)
        and it.func.attr == "modules"
    ):
        if not isinstance(ev(it.func.value), ModelVal):
            raise Unsupported(stmt, "a loop over modules() of something other than the model")
        reader.spec["post_load"] = _hasattr_call(stmt, var)
        reader.spec["post_load_scope"] = "submodules"
        return None
    if isinstance(it, ast.Call) and ast.unparse(it.func) == "range" and len(it.args) == 1:
        count = ev.const(it.args[0])
        body = stmt.body[0] if len(stmt.body) == 1 else None
        call = body.value if isinstance(body, ast.Assign | ast.Expr) else None
        if not isinstance(count, int) or not isinstance(call, ast.Call):
            raise Unsupported(stmt, "a range loop other than warm-up forwards")
        reader.add_warmup(call, count)
        return None
    if isinstance(it, ast.List | ast.Tuple):
        return _key_loop(ev, stmt, var)
    raise Unsupported(stmt, f"loop `for {var} in {ast.unparse(it)[:60]}`")


def _hasattr_call(stmt: ast.For, var: str) -> str:
    body = stmt.body[0] if len(stmt.body) == 1 else None
    if isinstance(body, ast.If) and not body.orelse and len(body.body) == 1:
        test, call = body.test, body.body[0]
        if (
            isinstance(test, ast.Call)
            and ast.unparse(test.func) == "hasattr"
            and len(test.args) == 2
            and isinstance(test.args[1], ast.Constant)
            and isinstance(test.args[1].value, str)
            and isinstance(call, ast.Expr)
            and ast.unparse(call.value) == f"{var}.{test.args[1].value}()"
        ):
            return str(test.args[1].value)
    raise Unsupported(stmt, "a loop over modules() other than `if hasattr(m, 'x'): m.x()`")


def _key_loop(ev: Evaluator, stmt: ast.For, var: str) -> tuple[str, State]:
    """``for key in [...]: if key in state: state = state[key]; break``."""
    keys = ev.const(stmt.iter)
    body = stmt.body[0] if len(stmt.body) == 1 else None
    if not isinstance(body, ast.If) or body.orelse or len(body.body) != 2:
        raise Unsupported(stmt, "a loop over keys other than a first-match lookup")
    tested = _tested(body.test, Evaluator({**ev.env, var: "\0key"}))
    assign, brk = body.body
    expected = f"{tested[0]} = {tested[0]}[{var}]" if tested else ""
    if tested is None or not isinstance(brk, ast.Break) or ast.unparse(assign) != expected:
        raise Unsupported(stmt, "a loop over keys other than a first-match lookup")
    base = ev.env.get(tested[0])
    if not isinstance(base, State) or base.keys or not all(isinstance(k, str) for k in keys):
        raise Unsupported(stmt, "a key loop over something other than a loaded checkpoint")
    return tested[0], replace(base, keys=tuple(keys), else_file=True)
