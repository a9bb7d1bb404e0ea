"""Resolving what a name in the model file refers to, without importing anything.

``import os as o``, ``from os import system``, ``from subprocess import *``, ``s = os.system``
and ``getattr(os, "system")`` all make a later expression mean ``os.system``; ``resolve``
returns that fully qualified name. The analysis is flow-insensitive on purpose: an alias bound
anywhere counts everywhere, which errs towards reporting. Only shadowing is scope-aware: a
parameter called ``compile`` or ``open`` is not the builtin inside its function. Everything
here is iterative, so a deeply nested file cannot exhaust the recursion limit.
"""

from __future__ import annotations

import ast
import builtins

from esr_validator.intake.source_policy import classify, normalise

_BUILTIN_NAMES = frozenset(dir(builtins))
_ALIAS_PASSES = 5  # alias-of-alias chains longer than this are not worth following
_NONE: frozenset[str] = frozenset()


class Names:
    """The bindings of one module: import aliases, star imports and module-level names."""

    def __init__(self, tree: ast.Module, nodes: list[ast.AST]) -> None:
        self.aliases: dict[str, str] = {}
        self.star_modules: list[str] = []
        self.module_bound: set[str] = _module_level_names(tree)
        self.relative: set[str] = set()
        self._locals = _visible_locals(tree)
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".", 1)[0]
                        self.aliases[top] = top
            elif isinstance(node, ast.ImportFrom):
                self._bind_from(node)
        assignments = [n for n in nodes if isinstance(n, ast.Assign)]
        for _ in range(_ALIAS_PASSES):
            if not self._bind_assignments(assignments):
                break
        modules = {
            alias.name if alias.asname else alias.name.split(".", 1)[0]
            for node in nodes
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        #: names that denote an imported module (``import os as o``; ``p = o`` too)
        self.imported_modules = {n for n, target in self.aliases.items() if target in modules}

    def _bind_from(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            bound = alias.asname or alias.name
            if node.level or not node.module:
                self.relative.add(bound)
            elif alias.name == "*":
                self.star_modules.append(node.module)
            else:
                self.aliases[bound] = f"{node.module}.{alias.name}"

    def _bind_assignments(self, assignments: list[ast.Assign]) -> bool:
        changed = False
        for node in assignments:
            if not isinstance(node.value, ast.Name | ast.Attribute | ast.Call):
                continue
            target = self.resolve(node.value)
            if target is None:
                continue
            for name in node.targets:
                if isinstance(name, ast.Name) and self.aliases.get(name.id) != target:
                    self.aliases[name.id] = target
                    changed = True
        return changed

    def resolve_name(self, name: str, *, local: frozenset[str] = _NONE) -> str | None:
        if name in self.aliases:
            return normalise(self.aliases[name])
        if name in local or name in self.module_bound or name in self.relative:
            return None
        for module in reversed(self.star_modules):
            # Which names a star import binds is unknown statically; builtins stay builtins.
            if name not in _BUILTIN_NAMES and classify(f"{module}.{name}"):
                return normalise(f"{module}.{name}")
        if name in _BUILTIN_NAMES:
            return f"builtins.{name}"
        return None

    def resolve(self, node: ast.AST) -> str | None:
        """The qualified name ``node`` denotes (``o.system`` → ``os.system``), if known."""
        attrs: list[str] = []
        while True:
            if isinstance(node, ast.Attribute):
                attrs.append(node.attr)
                node = node.value
            elif isinstance(node, ast.Call) and (name := self.literal_getattr(node)):
                attrs.append(name)
                node = node.args[0]
            else:
                break
        if not isinstance(node, ast.Name):
            return None
        base = self.resolve_name(node.id, local=self._locals.get(id(node), _NONE))
        if base is None:
            return None
        return normalise(".".join([base, *reversed(attrs)]))

    def literal_getattr(self, call: ast.Call) -> str | None:
        """``name`` for ``getattr(obj, "name"[, default])``, else None."""
        if not (isinstance(call.func, ast.Name) and 2 <= len(call.args) <= 3):
            return None
        local = self._locals.get(id(call.func), _NONE)
        if self.resolve_name(call.func.id, local=local) != "builtins.getattr":
            return None
        attr = call.args[1]
        if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
            return attr.value
        return None


def _module_level_names(tree: ast.Module) -> set[str]:
    """Names bound at module level (shadowing builtins), including in top-level if/try."""
    bound: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)  # its body is another scope
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif not isinstance(node, _OTHER_SCOPES):
            pending.extend(ast.iter_child_nodes(node))
    return bound


_OTHER_SCOPES = (
    ast.Import, ast.ImportFrom, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
    ast.GeneratorExp,
)  # fmt: skip


def _visible_locals(tree: ast.Module) -> dict[int, frozenset[str]]:
    """For each Name inside a function (by ``id``), the local names visible there."""
    visible: dict[int, frozenset[str]] = {}
    pending: list[tuple[ast.AST, frozenset[str]]] = [(tree, _NONE)]
    while pending:
        node, local = pending.pop()
        if isinstance(node, ast.Name) and local:
            visible[id(node)] = local
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            local = local | _function_locals(node)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            local = local | {
                n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)
            }
        pending.extend((child, local) for child in ast.iter_child_nodes(node))
    return visible


def _function_locals(fn: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    a = fn.args
    names = {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg) if x}
    declared: set[str] = set()
    pending: list[ast.AST] = list(fn.body) if isinstance(fn.body, list) else [fn.body]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            continue
        if isinstance(node, ast.Global | ast.Nonlocal):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        if not isinstance(node, _OTHER_SCOPES):
            pending.extend(ast.iter_child_nodes(node))
    return frozenset(names - declared)
