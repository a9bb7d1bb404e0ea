"""Static checks of the model file, on its AST only: nothing is imported or executed.

``check_source`` reports, each with its line: syntax errors (ESR401), a missing class or
factory (ESR402), imports the evaluation environment cannot satisfy (ESR403/ESR404, see
``source_imports``), hard-coded CUDA devices (ESR405) and behaviour a model has no business
with: network, processes, file writes, native code, dynamic code, builtins and patching torch
(ESR406-ESR412, see ``source_rules``), and the obfuscation families (ESR413-ESR417, see
``source_obfuscation``). Plain uses on lines the evaluation never runs are warnings
(``source_reach``). Static analysis cannot be complete (a determined author
can hide a call from it); the sandbox is the barrier, this check is the early, precise report.
"""

from __future__ import annotations

import ast
import warnings

from esr_validator.codes import finding
from esr_validator.intake import source_imports, source_obfuscation, source_reach, source_rules
from esr_validator.intake.packages import PackageList
from esr_validator.intake.source_names import Names
from esr_validator.intake.source_package import Package
from esr_validator.intake.source_rules import Hit
from esr_validator.schemas.findings import Finding

_SHOWN_DEFINITIONS = 10


def check_source(
    text: str,
    *,
    path: str,
    class_name: str | None,
    environment: PackageList,
    package: Package | None = None,
    callers: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Every finding of the static source rules for the model file ``text``.

    In a model package every file is checked: the one that defines ``class_name``, and the
    helper modules (``class_name`` None), whose functions count as called when ``callers``,
    the names the package's files mention, include them.
    """
    tree = _parse(text, path=path)
    if isinstance(tree, Finding):
        return [tree]
    nodes = list(ast.walk(tree))
    parents = {id(child): node for node in nodes for child in ast.iter_child_nodes(node)}
    findings = [] if class_name is None else _class_defined(tree, path=path, class_name=class_name)
    hits = source_imports.scan(nodes, parents, environment=environment, package=package, path=path)
    names = Names(tree, nodes)
    hits += source_rules.scan(nodes, names)
    hits += source_obfuscation.scan(nodes, names)
    entry = {class_name} if class_name is not None else set(callers)
    hits = source_reach.soften(hits, source_reach.analyse(tree, entry=entry))
    findings += [_to_finding(hit, path=path) for hit in _unique(hits)]
    return findings


def parse_quietly(text: str) -> ast.Module | None:
    """The tree of ``text``, or None when it does not parse (check_source reports that)."""
    tree = _parse(text, path="")
    return None if isinstance(tree, Finding) else tree


def _parse(text: str, *, path: str) -> ast.Module | Finding:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for "\d" must not reach the user
            return ast.parse(text, filename=path)
    except SyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno >= 1 else _nul_line(text)
        return finding("source-syntax-error", f"{exc.msg}", path=path, line=line)
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        message = str(exc) or type(exc).__name__
        return finding(
            "source-syntax-error", f"cannot be parsed: {message}", path=path, line=_nul_line(text)
        )


def _nul_line(text: str) -> int | None:
    return text.count("\n", 0, text.index("\0")) + 1 if "\0" in text else None


def _top_level_names(tree: ast.Module) -> dict[str, int]:
    """Names defined at module level, including inside top-level if/try/with blocks."""
    names: dict[str, int] = {}
    pending: list[ast.stmt] = list(reversed(tree.body))
    while pending:
        stmt = pending.pop()
        if isinstance(stmt, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.setdefault(stmt.name, stmt.lineno)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                for node in ast.walk(target):
                    if isinstance(node, ast.Name):
                        names.setdefault(node.id, stmt.lineno)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            for alias in stmt.names:
                bound = alias.asname or alias.name.split(".", 1)[0]
                names.setdefault(bound, stmt.lineno)
        elif isinstance(stmt, ast.If | ast.Try | ast.TryStar | ast.With):
            blocks = [getattr(stmt, field, []) for field in ("body", "orelse", "finalbody")]
            blocks += [h.body for h in getattr(stmt, "handlers", [])]
            pending += [s for block in blocks for s in reversed(block)]
    return names


def _class_defined(tree: ast.Module, *, path: str, class_name: str) -> list[Finding]:
    names = _top_level_names(tree)
    if class_name in names:
        return []
    defined = [s.name for s in tree.body if isinstance(s, ast.ClassDef | ast.FunctionDef)][
        :_SHOWN_DEFINITIONS
    ]
    listing = ", ".join(defined) if defined else "none"
    close = [n for n in names if n.lower() == class_name.lower()]
    hint = f"Did you mean {close[0]!r}? Names are case-sensitive." if close else None
    return [
        finding(
            "source-class-missing",
            f"class_name {class_name!r} is not defined at the top level of the model file "
            f"(top-level classes and functions: {listing})",
            path=path,
            hint=hint,
        )
    ]


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple[str, int, str]] = set()
    unique = []
    for hit in sorted(hits, key=lambda h: h.line):
        if (hit.name, hit.line, hit.message) not in seen:
            seen.add((hit.name, hit.line, hit.message))
            unique.append(hit)
    return unique


def _to_finding(hit: Hit, *, path: str) -> Finding:
    return finding(
        hit.name, hit.message, path=path, line=hit.line, hint=hit.hint, severity=hit.severity
    )
