"""Where a finding's line runs at evaluation: never (``__main__``, unused functions), or only
when its branch is taken (a function-local import).

The organizers accepted entries whose files carry a training or export script: a
``torch.save`` in a helper nothing calls, ``open(..., "w")`` under ``if __name__ ==
"__main__":``, ``from thop import profile`` there too, a kernel imported inside ``forward`` on
a branch the evaluation does not take. Those are visible, plain uses, and the sandbox is the
boundary, so they become warnings that say why. The obfuscation families, dynamic code and
builtins stay errors wherever they are: hiding code is a statement of intent on any line.

Reachability is a name-based over-approximation: a function counts as called when any code
that runs (module level, class bodies, default arguments, decorators, dunder methods, the
nn.Module methods torch and the harness call, and every function reached so far) mentions
its name. A name mentioned anywhere reachable keeps it an error.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, replace

from esr_validator.intake.source_policy import NETWORK, PATCH_TORCH, PROCESS, WRITE
from esr_validator.intake.source_rules import Hit
from esr_validator.schemas.findings import Severity

UNAVAILABLE = "source-import-unavailable"
_IN_MAIN = frozenset({WRITE, UNAVAILABLE, NETWORK, PROCESS, PATCH_TORCH,
                      "source-low-level-file", "source-cudnn-flags"})  # fmt: skip
_IN_UNUSED = frozenset({WRITE, UNAVAILABLE})
#: methods that run without the file naming them: by Python, torch or the harness
_HOOKS = frozenset(
    {"forward", "load_state_dict", "_load_from_state_dict", "state_dict", "_save_to_state_dict",
     "to", "cuda", "cpu", "half", "float", "bfloat16", "double", "type", "eval", "train",
     "_apply", "apply", "extra_repr", "parameters", "named_parameters", "buffers",
     "named_buffers", "modules", "named_modules", "children", "named_children",
     "requires_grad_", "zero_grad", "_register_load_state_dict_pre_hook",
     "_register_state_dict_hook"}
)  # fmt: skip
Function = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Reach:
    main_lines: set[int] = field(default_factory=set)
    unused_lines: dict[int, str] = field(default_factory=dict)  # line -> function name
    function_lines: set[int] = field(default_factory=set)


def analyse(tree: ast.Module, *, entry: str | set[str]) -> Reach:
    """``entry``: the names the evaluation calls from outside the file (the class; for a
    package's helper module, every name the package mentions)."""
    reach = Reach()
    main = [s for s in tree.body if _is_main_guard(s)]
    for stmt in main:
        reach.main_lines |= _lines(stmt.body)  # type: ignore[attr-defined]
    functions = [n for n in ast.walk(tree) if isinstance(n, Function)]
    for fn in functions:
        reach.function_lines |= _body_lines(fn)
    roots = [s for s in tree.body if s not in main]
    mentioned = _mentions(roots) | ({entry} if isinstance(entry, str) else entry)
    reached: set[int] = set()
    changed = True
    while changed:
        changed = False
        for fn in functions:
            if id(fn) in reached:
                continue
            if fn.name in mentioned or _is_hook(fn.name):
                reached.add(id(fn))
                mentioned |= _mentions(fn.body)
                changed = True
    for fn in functions:
        if id(fn) not in reached:
            reach.unused_lines |= dict.fromkeys(_body_lines(fn), fn.name)
    return reach


def soften(hits: list[Hit], reach: Reach) -> list[Hit]:
    """The hits, with plain uses on lines that never run (or may not) as warnings."""
    return [_soften(hit, reach) for hit in hits]


def _soften(hit: Hit, reach: Reach) -> Hit:
    if hit.severity is Severity.WARNING:
        return hit
    if hit.line in reach.main_lines and hit.name in _IN_MAIN:
        why = 'under `if __name__ == "__main__":`, which the evaluation never runs'
    elif hit.line in reach.unused_lines and hit.name in _IN_UNUSED:
        why = f"in `{reach.unused_lines[hit.line]}`, which the evaluation never calls"
    elif hit.line in reach.function_lines and hit.name == UNAVAILABLE:
        why = "inside a function: it fails only if that line runs at evaluation"
    else:
        return hit
    message = f"{hit.message} ({why}; the sandbox contains it if it does run)"
    return replace(hit, severity=Severity.WARNING, message=message)


def _is_main_guard(stmt: ast.stmt) -> bool:
    if not isinstance(stmt, ast.If) or not isinstance(stmt.test, ast.Compare):
        return False
    sides = [stmt.test.left, *stmt.test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"} and len(sides) == 2


def _is_hook(name: str) -> bool:
    return (name.startswith("__") and name.endswith("__")) or name in _HOOKS


def _lines(stmts: list[ast.stmt]) -> set[int]:
    lines: set[int] = set()
    for stmt in stmts:
        lines |= set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
    return lines


def _body_lines(fn: Function) -> set[int]:
    # A body on the def line (`def f(w=open(...)): pass`) shares it with the defaults, which
    # run at definition time: that line is not the body's.
    return _lines(fn.body) - {fn.lineno}


def _mentions(stmts: list[ast.stmt]) -> set[str]:
    """Every name and attribute mentioned by code that runs when ``stmts`` run: function
    bodies are skipped (they run when called), their defaults and decorators are not."""
    names: set[str] = set()
    pending: list[ast.AST] = list(stmts)
    while pending:
        node = pending.pop()
        if isinstance(node, Function):
            a = node.args
            pending += [*node.decorator_list, *a.defaults, *(d for d in a.kw_defaults if d)]
            continue
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)  # getattr(self, "fuse"), hooks registered by name
        pending.extend(ast.iter_child_nodes(node))
    return names
