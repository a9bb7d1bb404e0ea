"""Find the pieces of a challenge repository's ``test_demo.py``: the ``select_model()``
branches, the tail every branch shares (tiling) and per-team special forwards."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from esr_validator.importer.values import Evaluator, Unsupported, import_names

DEMO = "test_demo.py"


@dataclass
class Branch:
    team_id: int
    line: int
    body: list[ast.stmt]


@dataclass
class Demo:
    """What the importer needs from ``test_demo.py``."""

    globals: dict[str, Any]
    branches: list[Branch]
    tail: list[ast.stmt]
    tile_overlap: int = 32
    special_forwards: dict[int, ast.FunctionDef] = field(default_factory=dict)


def _team_id(test: ast.expr) -> int | None:
    if (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and ast.unparse(test.left) in ("model_id", "args.model_id")
    ):
        try:  # a literal: 16, or -1 (2022's IMDN baseline)
            value = ast.literal_eval(test.comparators[0])
        except ValueError:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _module_globals(tree: ast.Module) -> dict[str, Any]:
    """Classes imported from models/ at the top of the file (some branches rely on them)."""
    env: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            try:
                env.update(import_names(node))
            except Unsupported:
                continue  # a module-level import of something else: not a model class
    return env


def _chain(fn: ast.FunctionDef) -> tuple[list[Branch], list[ast.stmt]]:
    for i, stmt in enumerate(fn.body):
        if isinstance(stmt, ast.If) and _team_id(stmt.test) is not None:
            branches: list[Branch] = []
            node: ast.If | None = stmt
            while node is not None:
                team = _team_id(node.test)
                if team is None:
                    raise Unsupported(node, "an arm of the chain not keyed by model_id == N")
                branches.append(Branch(team, node.lineno, node.body))
                rest = node.orelse
                node = rest[0] if len(rest) == 1 and isinstance(rest[0], ast.If) else None
            return branches, fn.body[i + 1 :]
    raise Unsupported(fn, "select_model() has no `if model_id == N:` chain")


def _special_forwards(tree: ast.Module, names: dict[str, ast.FunctionDef]) -> dict[int, Any]:
    """``if args.model_id == 34: img_sr = forward_team34(...)`` anywhere outside select_model."""
    found: dict[int, ast.FunctionDef] = {}
    others = [f for name, f in names.items() if name != "select_model"]
    for node in (n for f in others for n in ast.walk(f)):
        team = _team_id(node.test) if isinstance(node, ast.If) else None
        if team is None or not isinstance(node, ast.If):
            continue
        for inner in ast.walk(ast.Module(body=node.body, type_ignores=[])):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name):
                fn = names.get(inner.func.id)
                if fn is not None and fn.name not in ("select_model", "forward"):
                    found[team] = fn
    return found


def _overlap(forward: ast.FunctionDef | None) -> int:
    if forward is None:
        return 32
    args = forward.args
    names = [a.arg for a in args.args][len(args.args) - len(args.defaults) :]
    defaults = dict(zip(names, args.defaults, strict=True))
    value = defaults.get("tile_overlap")
    ok = isinstance(value, ast.Constant) and isinstance(value.value, int)
    return int(value.value) if ok and isinstance(value, ast.Constant) else 32  # type: ignore[arg-type]


def read_demo(source: str) -> Demo:
    tree = ast.parse(source)
    names = _functions(tree)
    select = names.get("select_model")
    if select is None:
        raise Unsupported(tree, "test_demo.py defines no select_model()")
    branches, tail = _chain(select)
    return Demo(
        globals=_module_globals(tree),
        branches=branches,
        tail=tail,
        tile_overlap=_overlap(names.get("forward")),
        special_forwards=_special_forwards(tree, names),
    )


def tile_for(demo: Demo, team_id: int) -> int | None:
    """``tile = None`` / ``tile = 256 if model_id == 2 else None`` in the shared tail."""
    for stmt in demo.tail:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and ast.unparse(stmt.targets[0]) == "tile"
        ):
            value = Evaluator({"model_id": team_id})(stmt.value)
            if value is not None and not isinstance(value, int):
                raise Unsupported(stmt, "tile is not an integer or None")
            return value
    return None


def pad_multiple(fn: ast.FunctionDef) -> int:
    """A special forward that reflect-pads to a multiple and crops back: the multiple."""
    consts: dict[str, int] = {}
    for node in ast.walk(fn):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, int)
        ):
            consts.setdefault(node.targets[0].id, node.value.value)
    mods = {
        consts.get(ast.unparse(n.right)) if isinstance(n.right, ast.Name) else _int(n.right)
        for n in ast.walk(fn)
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod)
    }
    pads = [
        n
        for n in ast.walk(fn)
        if isinstance(n, ast.Call) and ast.unparse(n.func) in ("F.pad", "torch.nn.functional.pad")
    ]
    reflect = all("'reflect'" in ast.unparse(p) for p in pads)
    sliced = any(
        isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Tuple) for n in ast.walk(fn)
    )
    mods.discard(None)
    if len(mods) != 1 or len(pads) != 1 or not reflect or not sliced:
        raise Unsupported(fn, f"special forward {fn.name}() is not a reflect-pad-and-crop")
    return int(mods.pop())  # type: ignore[arg-type]


def _int(node: ast.expr) -> int | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, int) else None
