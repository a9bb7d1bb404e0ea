"""The import rules of the static source check (ESR403, ESR404 and the dangerous modules).

Order of judgement for one imported name: dangerous (network, processes, ...) whatever the
guard; then the model package's own modules (relative, or ``models.teamNN_X...``), resolved
against the files the zip carries (``source_package``); relative imports in a one-file model,
which cannot work (ESR403, the import fails; ESR216 is the layout rule for a stray extra file);
then harmless stdlib;
other stdlib (ESR404); packages of the evaluation environment, usual or not (ESR404); anything
else is unavailable (ESR403, with the reason ``environment.toml`` gives). An import guarded by
``try/except ImportError`` has a fallback, so an unavailable package there is only a warning;
imports under ``if TYPE_CHECKING:`` never run and are skipped.
"""

from __future__ import annotations

import ast
import sys

from esr_validator.intake.packages import PackageList
from esr_validator.intake.source_package import ROOT, Package
from esr_validator.intake.source_policy import (
    BUILTIN_MODULES,
    BUILTINS,
    HARMLESS_STDLIB,
    ORGANIZER_PACKAGES,
    PURPOSE,
    classify,
)
from esr_validator.intake.source_rules import Hit
from esr_validator.schemas.findings import Severity

UNAVAILABLE = "source-import-unavailable"
UNUSUAL = "source-import-unusual"
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_ONE_FILE = (
    "A one-file model is imported alone: inline the helper, or make the model a package "
    "models/teamNN_<Name>/ (module in submission.toml, see docs/manifest.md)."
)
_IN_PACKAGE = (
    "Only models/teamNN_<Name>/ travels with the submission: copy the module into the package "
    "and import it from there (relatively, or by the package's own name)."
)

Parents = dict[int, ast.AST]


def scan(
    nodes: list[ast.AST],
    parents: Parents,
    *,
    environment: PackageList,
    package: Package | None = None,
    path: str = "",
) -> list[Hit]:
    """``package`` is the model package ``path`` belongs to; None for a one-file model."""
    hits: list[Hit] = []
    for node in nodes:
        if not isinstance(node, ast.Import | ast.ImportFrom) or _type_checking_only(node, parents):
            continue
        guarded = _guarded(node, parents)
        if isinstance(node, ast.Import):
            for alias in node.names:
                shown = f"import {alias.name}"
                if package is not None and alias.name.split(".")[0] == ROOT:
                    hits += _own_module(package, alias.name, None, shown, node.lineno, guarded)
                    continue
                hits += _dangerous(alias.name, shown, node.lineno) or _judge(
                    alias.name, shown, node.lineno, guarded=guarded, environment=environment
                )
        elif package is not None and (node.level or (node.module or "").split(".")[0] == ROOT):
            module = package.resolve(node, path) if node.level else node.module
            shown = _shown_from(node)
            names = [a.name for a in node.names if a.name != "*"]
            hits += _own_module(package, module, names, shown, node.lineno, guarded)
        else:
            hits += _judge_from(node, guarded=guarded, environment=environment)
    return hits


def _shown_from(node: ast.ImportFrom) -> str:
    module = "." * node.level + (node.module or "")
    return f"from {module} import {', '.join(a.name for a in node.names)}"


def _own_module(
    package: Package,
    module: str | None,
    names: list[str] | None,
    shown: str,
    line: int,
    guarded: bool,
) -> list[Hit]:
    """An import of the package's own modules: fine when the zip carries what it names."""
    severity = Severity.WARNING if guarded else None
    if module is None:
        why = "climbs above models/, which nothing carries"
    elif not package.inside(module):
        why = f"{module} is not part of the submission ({package.folder}/ is)"
    elif not package.carries(module):
        why = f"{module} is not a file of {package.folder}/"
    else:
        missing = [n for n in names or [] if not package.provides(module, n)]
        if not missing:
            return []
        why = f"{module} has no module {missing[0]} and no __init__.py to define it"
    return [Hit(UNAVAILABLE, line, f"`{shown}`: {why}", severity, _IN_PACKAGE)]


def _dangerous(qualified: str, shown: str, line: int) -> list[Hit]:
    code = classify(qualified)
    return [Hit(code, line, f"`{shown}`: {qualified} {PURPOSE[code]}")] if code else []


def _judge_from(node: ast.ImportFrom, *, guarded: bool, environment: PackageList) -> list[Hit]:
    """Dangerous names one by one (``from os import system, popen``), the module once."""
    module = "." * node.level + (node.module or "")
    shown = f"from {module} import {', '.join(a.name for a in node.names)}"
    if hits := _dangerous(module, shown, node.lineno):
        return hits
    for alias in node.names:
        qualified = module if alias.name == "*" else f"{module}.{alias.name}"
        hits += _dangerous(qualified, f"from {module} import {alias.name}", node.lineno)
    if len(hits) == len(node.names):
        return hits
    return hits + _judge(module, shown, node.lineno, guarded=guarded, environment=environment)


def _judge(
    module: str, shown: str, line: int, *, guarded: bool, environment: PackageList
) -> list[Hit]:
    """Availability of ``module`` in the evaluation environment."""
    top = module.split(".", 1)[0]
    if top in BUILTIN_MODULES:
        return [Hit(BUILTINS, line, f"`{shown}`: importing {top} is how code {PURPOSE[BUILTINS]}")]
    severity = Severity.WARNING if guarded else None
    fallback = " (guarded by try/except ImportError: the fallback will run)" if guarded else ""
    if module.startswith("."):
        return [
            Hit(
                UNAVAILABLE,
                line,
                f"`{shown}` is a relative import, but a one-file model is "
                f"imported alone, so {module} will not exist{fallback}",
                severity,
                _ONE_FILE,
            )
        ]
    if top in HARMLESS_STDLIB:
        return []
    if top in sys.stdlib_module_names:
        return [
            Hit(
                UNUSUAL,
                line,
                f"`{shown}`: the standard-library module {top} is unusual in model code",
            )
        ]
    package = environment.provides(top)
    if package is not None:
        if package.usual:
            return []
        return [
            Hit(
                UNUSUAL,
                line,
                f"`{shown}`: {top} (package {package.name}) is in the "
                "evaluation environment, but few models need it",
            )
        ]
    if top in ORGANIZER_PACKAGES:
        severity = Severity.WARNING
        fallback += (
            "; the organizers' environment offered it, so this is a warning: the evaluation "
            "says whether the entry runs without it"
        )
    return [
        Hit(
            UNAVAILABLE,
            line,
            f"`{shown}`: {top} is not in the evaluation environment "
            f"({environment.variant} image){fallback}",
            severity,
            _why_unavailable(top, environment),
        )
    ]


def _why_unavailable(top: str, environment: PackageList) -> str | None:
    reason = environment.unavailable_reason(top)
    if reason:
        return reason[0].upper() + reason[1:] + "."
    others = environment.other_variants(top)
    if others:
        return (
            f"Only the {'/'.join(others)} image provides {top}; remove the import or make "
            "it optional."
        )
    return None


def _guarded(node: ast.AST, parents: Parents) -> bool:
    """Whether ``node`` sits in the body of a ``try`` that catches ImportError."""
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if (
            isinstance(parent, ast.Try | ast.TryStar)
            and any(s is child for s in parent.body)
            and any(_catches_import_error(h) for h in parent.handlers)
        ):
            return True
        if isinstance(parent, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return False
        child, parent = parent, parents.get(id(parent))
    return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(
        (k.id if isinstance(k, ast.Name) else getattr(k, "attr", None)) in _IMPORT_ERRORS
        for k in kinds
    )


def _type_checking_only(node: ast.AST, parents: Parents) -> bool:
    child, parent = node, parents.get(id(node))
    while parent is not None:
        if isinstance(parent, ast.If) and any(s is child for s in parent.body):
            test = parent.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                return True
        child, parent = parent, parents.get(id(parent))
    return False
