"""A model package's modules, as its own imports name them.

A package ``models/teamNN_X/`` is imported as ``models.teamNN_X`` (the name the official
``test_demo.py`` imports it by), so its files reach each other either relatively
(``from . import block``) or absolutely (``import models.teamNN_X.block as B``). The static
check resolves both against the files the submission carries: an import that leaves the
package (``models.basicblock``, a file of the organizers' repository the zip does not hold)
fails at evaluation and is reported with its line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import PurePosixPath

ROOT = "models"  # the namespace the official code imports every model from


@dataclass(frozen=True)
class Package:
    """``folder`` is the package's path in the zip (``models/team12_hnct``)."""

    folder: str
    files: tuple[str, ...]
    modules: frozenset[str] = field(init=False)
    folders: frozenset[str] = field(init=False)  # the modules that are packages (folders)
    with_init: frozenset[str] = field(init=False)  # folders whose __init__.py is carried

    def __post_init__(self) -> None:
        modules: set[str] = set()
        folders: set[str] = set()
        with_init: set[str] = set()
        depth = len(PurePosixPath(self.folder).parts)
        for path in self.files:
            dotted = self.module_of(path)
            modules.add(dotted)
            parts = PurePosixPath(path).parts
            folders.update(".".join(parts[:i]) for i in range(depth, len(parts)))
            if PurePosixPath(path).name == "__init__.py":
                with_init.add(dotted)
        object.__setattr__(self, "modules", frozenset(modules | folders))
        object.__setattr__(self, "folders", frozenset(folders))
        object.__setattr__(self, "with_init", frozenset(with_init))

    @property
    def name(self) -> str:
        """``models.team12_hnct``."""
        return ".".join(PurePosixPath(self.folder).parts)

    def module_of(self, path: str) -> str:
        """The dotted module a carried file is imported as."""
        parts = list(PurePosixPath(path).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        return ".".join(parts)

    def package_of(self, path: str) -> str:
        """The package a relative import in ``path`` starts from."""
        dotted = self.module_of(path)
        return dotted if PurePosixPath(path).name == "__init__.py" else dotted.rsplit(".", 1)[0]

    def resolve(self, node: ast.ImportFrom, path: str) -> str | None:
        """The absolute module a ``from`` import names; None when it climbs above the root."""
        base = self.package_of(path).split(".")
        if node.level - 1 >= len(base):
            return None
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)

    def inside(self, module: str) -> bool:
        return module == self.name or module.startswith(self.name + ".")

    def carries(self, module: str) -> bool:
        return module in self.modules

    def provides(self, module: str, attribute: str) -> bool:
        """``from module import attribute``: any name of a file module (not checked further:
        a missing one fails visibly at import); for a folder, a carried submodule, or a name
        its ``__init__.py`` may define."""
        if module not in self.folders:
            return True
        return f"{module}.{attribute}" in self.modules or module in self.with_init


def mentioned_names(trees: list[ast.Module]) -> set[str]:
    """Every name and attribute the package's files mention: a helper module's function
    counts as called when any file of the package names it."""
    names: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name.rsplit(".", 1)[-1])
    return names


def imported_files(package: Package, entry: str, trees: dict[str, ast.Module]) -> list[str]:
    """The files importing ``entry`` runs: it, the package's ``__init__.py`` files on the way,
    and every carried module its imports reach, transitively (read from the AST; an import
    inside a function counts, since it may run)."""
    by_module = {package.module_of(f): f for f in package.files}
    seen: set[str] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _parents(package.module_of(path), package):
            if module in by_module:
                pending.append(by_module[module])
        tree = trees.get(path)
        for module in _imports(tree, package, path) if tree is not None else []:
            if module in by_module:
                pending.append(by_module[module])
    return sorted(seen)


def _parents(module: str, package: Package) -> list[str]:
    """``models.t.a.b`` -> ``models.t``, ``models.t.a``: their __init__.py run first."""
    parts = module.split(".")
    depth = len(package.name.split("."))
    return [".".join(parts[:i]) for i in range(depth, len(parts))]


def _imports(tree: ast.Module, package: Package, path: str) -> list[str]:
    """The package modules ``tree`` names in its imports (and every prefix of each)."""
    named: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named += [a.name for a in node.names if package.inside(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if not node.level and not package.inside(node.module or ""):
                continue
            module = package.resolve(node, path) if node.level else node.module
            if module is None or not package.inside(module):
                continue
            named += [module, *(f"{module}.{a.name}" for a in node.names)]
    return [m for name in named for m in (*_parents(name, package), name)]
