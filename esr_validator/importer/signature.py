"""Name a constructor's positional arguments from the class signature, read by AST.

``RCN(40, 40)`` becomes ``{"in_ch": 40, "feat": 40}`` so the manifest says what each number
is. Where the signature cannot be read (a base class in another module, ``*args``) the
arguments stay positional.
"""

from __future__ import annotations

import ast
from typing import Any

_MISSING = object()


def _find(tree: ast.Module, name: str) -> ast.ClassDef | ast.FunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef) and node.name == name:
            return node
    return None


def _init(tree: ast.Module, cls: ast.ClassDef, depth: int = 0) -> ast.FunctionDef | None:
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            return node
    for base in cls.bases:  # inherited __init__ from a class of the same file
        parent = _find(tree, ast.unparse(base)) if depth < 5 else None
        if isinstance(parent, ast.ClassDef):
            return _init(tree, parent, depth + 1)
    return None


def parameters(source: str, name: str) -> list[tuple[str, Any]] | None:
    """(name, default) of each positional-or-keyword parameter; None if unknown."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    node = _find(tree, name)
    fn = _init(tree, node) if isinstance(node, ast.ClassDef) else node
    if fn is None:
        return None
    args = fn.args
    names = [a.arg for a in args.posonlyargs + args.args]
    if isinstance(node, ast.ClassDef):
        names = names[1:]  # self
    defaults: list[Any] = [_MISSING] * (len(names) - len(args.defaults))
    for d in args.defaults[-len(names) :] if names else []:
        try:
            defaults.append(ast.literal_eval(d))
        except ValueError:
            defaults.append(_MISSING)
    result = list(zip(names, defaults, strict=True))
    if args.vararg is not None:  # positions past the named ones go to *args: stop there
        return result
    return result


def name_arguments(
    source: str, name: str, args: list[Any], kwargs: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """Positional arguments moved to keywords where the signature names them."""
    params = parameters(source, name)
    if params is None or len(args) > len(params):
        return args, kwargs
    named = dict(zip([p for p, _ in params], args, strict=False))
    if set(named) & set(kwargs):
        return args, kwargs  # the call itself would fail; leave it as written
    return [], {**named, **kwargs}


def default_of(source: str, name: str, param: str) -> Any:
    """The literal default of ``param``, or a sentinel that equals nothing."""
    for p, default in parameters(source, name) or []:
        if p == param:
            return default
    return _MISSING
