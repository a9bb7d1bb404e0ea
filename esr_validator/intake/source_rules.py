"""The behaviour rules of the static source check (ESR405-ESR412), over resolved names.

Each rule looks at one kind of node and reports a ``Hit``: a catalogue name, a line and a
message. References are reported where they are written, not only where they are called, so
``s = os.system`` is caught on its own line. Ordinary model code must stay silent: ``x.to(dev)``
with a variable device, ``self.conv = nn.Conv2d(...)``, ``torch.load`` for reading and
``model.eval()`` all pass.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from esr_validator.intake.source_names import Names
from esr_validator.intake.source_policy import (
    BUILTIN_MODULES,
    BUILTINS,
    CUDNN_FLAGS,
    DYNAMIC,
    ESCAPE_ATTRIBUTES,
    OPENERS,
    PATCH_TORCH,
    PURPOSE,
    SENSITIVE_MODULES,
    WRITE,
    WRITE_METHODS,
    classify,
)
from esr_validator.schemas.findings import Severity

DEVICE = "source-device-hardcoded"
_MODE = re.compile(r"^[rwxabtU+]{1,4}$")
_WRITE_FLAGS = frozenset({"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"})


@dataclass(frozen=True)
class Hit:
    name: str
    line: int
    message: str
    severity: Severity | None = None
    hint: str | None = None


def scan(nodes: list[ast.AST], names: Names) -> list[Hit]:
    """Every hit of the behaviour rules, in ``nodes`` order (parents before children)."""
    hits: list[Hit] = []
    covered: set[int] = set()  # parts of a reference already reported whole (`subprocess`)
    for node in nodes:
        if id(node) in covered:
            continue
        if isinstance(node, ast.Call):
            found = _call(node, names)
            if found and names.literal_getattr(node):
                covered.update(id(n) for n in ast.walk(node.args[0]))
        elif isinstance(node, ast.Name | ast.Attribute) and isinstance(node.ctx, ast.Load):
            found = _reference(node, names)
            if found:
                covered.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            found = _assignment(node, names)
        else:
            continue
        hits += found
    return hits


def written(node: ast.AST) -> str:
    """``a.b(...).c`` as written in the source, with arguments and subscripts elided."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append("." + node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            parts.append("(...)")
            node = node.func
        elif isinstance(node, ast.Subscript):
            parts.append("[...]")
            node = node.value
        else:
            break
    head = node.id if isinstance(node, ast.Name) else "..."
    return head + "".join(reversed(parts))


def _danger(node: ast.AST, qualified: str, code: str) -> Hit:
    if isinstance(node, ast.Call):  # getattr(obj, "name")
        shown = f"getattr({written(node.args[0])}, {node.args[1].value!r})"  # type: ignore[attr-defined]
    else:
        shown = written(node)
    alias = f" ({qualified})" if shown != qualified else ""
    return Hit(code, node.lineno, f"`{shown}`{alias} {PURPOSE[code]}")  # type: ignore[attr-defined]


def _reference(node: ast.Name | ast.Attribute, names: Names) -> list[Hit]:
    if (node.id if isinstance(node, ast.Name) else node.attr) == "__builtins__":
        return [Hit(BUILTINS, node.lineno, "`__builtins__` is touched; " + PURPOSE[BUILTINS])]
    if isinstance(node, ast.Attribute) and node.attr in ESCAPE_ATTRIBUTES:
        return [
            Hit(
                DYNAMIC,
                node.lineno,
                f"`{written(node)}` reaches interpreter internals (a sandbox-escape pattern)",
            )
        ]
    qualified = names.resolve(node)
    code = classify(qualified) if qualified else None
    return [_danger(node, qualified, code)] if qualified and code else []


def _call(node: ast.Call, names: Names) -> list[Hit]:
    hits: list[Hit] = []
    func = names.resolve(node.func)
    if names.literal_getattr(node):
        target = names.resolve(node)
        if target and (code := classify(target)):
            hits.append(_danger(node, target, code))
    elif func == "builtins.getattr" and len(node.args) >= 2:
        module = names.resolve(node.args[0])
        if module in SENSITIVE_MODULES:
            hits.append(
                Hit(
                    DYNAMIC,
                    node.lineno,
                    f"getattr({module}, <computed name>) hides which function is called",
                )
            )
    if func in ("builtins.setattr", "builtins.delattr") and node.args:
        hits += _patched(node.args[0], node.lineno, names)
    elif func and func.startswith("torch.") and ".__dict__." in func:  # F.__dict__.update(...)
        hits.append(
            Hit(PATCH_TORCH, node.lineno, f"`{written(node.func)}()` " + PURPOSE[PATCH_TORCH])
        )
    if not (func and classify(func)):  # else the reference rule reports `os.mkdir` itself
        hits += _file_write(node, func)
    hits += _unpickling(node, func)
    hits += _device(node, func)
    return hits


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _file_write(node: ast.Call, func: str | None) -> list[Hit]:
    line = node.lineno
    if func in OPENERS:
        index = OPENERS[func]
        mode = _keyword(node, "mode") or (node.args[index] if len(node.args) > index else None)
        if mode is None:
            return []
        if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)):
            return [
                Hit(
                    WRITE,
                    line,
                    f"`{written(node.func)}()` with a computed mode may write files",
                    Severity.WARNING,
                )
            ]
        if set(mode.value) & set("wax+"):
            return [
                Hit(WRITE, line, f"`{written(node.func)}(..., {mode.value!r})` " + PURPOSE[WRITE])
            ]
        return []
    if func == "os.open" and len(node.args) >= 2:
        flags = {
            n.id if isinstance(n, ast.Name) else getattr(n, "attr", "")
            for n in ast.walk(node.args[1])
        }
        if flags & _WRITE_FLAGS:
            return [
                Hit(WRITE, line, f"os.open with {sorted(flags & _WRITE_FLAGS)} " + PURPOSE[WRITE])
            ]
        return []
    if not isinstance(node.func, ast.Attribute):
        return []
    attr = node.func.attr
    if attr in WRITE_METHODS:
        return [Hit(WRITE, line, f"`{written(node.func)}()` {PURPOSE[WRITE]}")]
    if attr == "open":  # Path.open(mode): only a literal that looks like a mode counts
        mode = _keyword(node, "mode") or (node.args[0] if node.args else None)
        if isinstance(mode, ast.Constant) and _is_write_mode(mode.value):
            return [Hit(WRITE, line, f"`{written(node.func)}({mode.value!r})` " + PURPOSE[WRITE])]
    return []


def _is_write_mode(mode: object) -> bool:
    return isinstance(mode, str) and bool(_MODE.match(mode)) and bool(set(mode) & set("wax+"))


def _unpickling(node: ast.Call, func: str | None) -> list[Hit]:
    flag = {"torch.load": ("weights_only", False), "numpy.load": ("allow_pickle", True)}
    if func not in flag:
        return []
    keyword, unsafe = flag[func]
    value = _keyword(node, keyword)
    if isinstance(value, ast.Constant) and value.value is unsafe:
        return [
            Hit(
                DYNAMIC,
                node.lineno,
                f"{func}({keyword}={unsafe}) unpickles arbitrary "
                "objects, which runs code; load tensors only",
            )
        ]
    return []


def _is_cuda(node: ast.AST | None) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.strip().lower().startswith("cuda")
    )


def _device(node: ast.Call, func: str | None) -> list[Hit]:
    first = node.args[0] if node.args else None
    what = None
    if isinstance(node.func, ast.Attribute) and node.func.attr == "cuda":
        what = f"`{written(node.func)}()`"
    elif func == "torch.cuda.set_device":
        what = "`torch.cuda.set_device()`"
    elif func in ("torch.device", "torch.set_default_device") and _is_cuda(first):
        what = f"`{func}({first.value!r})`"  # type: ignore[union-attr]
    elif isinstance(node.func, ast.Attribute) and node.func.attr == "to" and _is_cuda(first):
        what = f"`.to({first.value!r})`"  # type: ignore[union-attr]
    elif _is_cuda(device := _keyword(node, "device")):
        what = f"`device={device.value!r}`"  # type: ignore[union-attr]
    if what is None:
        return []
    return [Hit(DEVICE, node.lineno, f"{what} hard-codes the CUDA device")]


def _assignment(node: ast.stmt, names: Names) -> list[Hit]:
    if isinstance(node, ast.Assign | ast.Delete):
        pending: list[ast.expr] = list(node.targets)
    else:
        pending = [node.target]  # type: ignore[attr-defined]
    hits: list[Hit] = []
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending += target.elts
        elif isinstance(target, ast.Starred):
            pending.append(target.value)
        elif isinstance(target, ast.Attribute) and names.resolve(target) in CUDNN_FLAGS:
            hits.append(
                Hit(
                    "source-cudnn-flags",
                    target.lineno,
                    f"`{written(target)}` sets a backend flag the harness also sets: it can "
                    "change the measured timing",
                )
            )
        elif isinstance(target, ast.Attribute | ast.Subscript):
            hits += _patched(target.value, target.lineno, names, shown=written(target))
    return hits


def _patched(obj: ast.expr, line: int, names: Names, *, shown: str | None = None) -> list[Hit]:
    """Hits for changing an attribute or item of ``obj`` (assignment, setattr, del)."""
    base = names.resolve(obj)
    label = f"`{shown}`" if shown else f"setattr/delattr on `{written(obj)}`"
    if base is None:
        return []
    if base == "torch" or base.startswith("torch."):
        if base.startswith("torch.backends"):
            return [
                Hit(
                    PATCH_TORCH,
                    line,
                    f"{label} changes a global torch setting that the harness controls",
                )
            ]
        return [Hit(PATCH_TORCH, line, f"{label} {PURPOSE[PATCH_TORCH]}")]
    if base in BUILTIN_MODULES:
        return [Hit(BUILTINS, line, f"{label} {PURPOSE[BUILTINS]}")]
    if base == "sys.modules":
        return [
            Hit(PATCH_TORCH, line, f"{label} replaces a module for every model the harness runs")
        ]
    return []
