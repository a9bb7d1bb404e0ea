"""The obfuscation families of the static source check (ESR413-ESR417, ESR410 additions).

A banned call is easy to hide from name-based rules: reach the module through ``sys.modules``,
``vars()``, ``__dict__`` or a computed ``getattr``; fetch the function with
``string.Formatter().get_field``; unpickle through ``pickle._loads``; write through
``io.FileIO`` or ``os.open`` with numeric flags; build the code from rot13 text; patch an
imported module's attribute. Each family has a precise rule here. They stay silent on model
code: ``getattr(self, name)``, ``getattr(nn, "ReLU")`` with a literal, ``self.x = ...`` and
``vars(args)`` on a non-module all pass.
"""

from __future__ import annotations

import ast

from esr_validator.intake.source_names import Names
from esr_validator.intake.source_policy import DYNAMIC, SENSITIVE_MODULES
from esr_validator.intake.source_rules import Hit, written

NAMESPACE = "source-dynamic-namespace"
FORMATTER = "source-reflective-format"
PRIVATE_PICKLE = "source-private-pickle"
LOW_LEVEL_FILE = "source-low-level-file"
MODULE_PATCH = "source-module-patch"

_WRITE_MODE = frozenset("wax+")
_WRITE_FLAG_BITS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND
_REFLECTIVE = frozenset({"builtins.vars", "builtins.getattr", "operator.attrgetter"})
_ROT13 = frozenset({"rot13", "rot_13"})
_HIDDEN_BY_DEFAULT = frozenset(
    {"builtins.open", "io.open", "io.FileIO", "codecs.open", "os.open", "os.fdopen",
     "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.vars",
     "builtins.globals", "builtins.locals", "operator.attrgetter", "operator.methodcaller"}
)  # fmt: skip
_LAYER_MODULES = ("torch.nn", "torch.optim", "einops.layers", "timm.layers", "timm.models")


def scan(nodes: list[ast.AST], names: Names) -> list[Hit]:
    hits: list[Hit] = []
    # `sys.modules["torch"] = x` is replacing a module: ESR412 reports it, not this rule.
    stored = {
        id(n.value)
        for n in nodes
        if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store | ast.Del)
    }
    for node in nodes:
        if id(node) in stored:
            continue
        if isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load):
            hits += _reference(node, names)
        elif isinstance(node, ast.Call):
            hits += _call(node, names)
        elif isinstance(node, ast.Subscript):
            hits += _subscript(node, names)
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            hits += _assignment(node, names)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            hits += _default_aliases(node, names)
    return hits


def _default_aliases(
    node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, names: Names
) -> list[Hit]:
    """``def __call__(cls, *a, w=open): w(p, "w")``: inside the function ``w`` is a parameter,
    so no name rule sees the call. A default that is a function which writes, loads or looks
    up by name is reported where it is bound (the metaclass default-argument trick)."""
    defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    hits = []
    for value in defaults:
        target = names.resolve(value) if isinstance(value, ast.Name | ast.Attribute) else None
        if target in _HIDDEN_BY_DEFAULT:
            message = f"a parameter default binds `{written(value)}` ({target}), hiding its calls"
            hits.append(Hit(NAMESPACE, value.lineno, message))
    return hits


def is_module(node: ast.AST, names: Names) -> bool:
    """Whether ``node`` is a name bound by ``import`` (``os``, ``np``, ``os.path``)."""
    if isinstance(node, ast.Attribute):
        return is_module(node.value, names) and names.resolve(node) is not None
    if not isinstance(node, ast.Name) or node.id not in names.imported_modules:
        return False
    return names.resolve(node) is not None


def _reference(node: ast.Attribute | ast.Name, names: Names) -> list[Hit]:
    qualified = names.resolve(node)
    if qualified == "sys.modules":
        return [Hit(NAMESPACE, node.lineno, f"`{written(node)}` reaches modules by name")]
    if qualified == "string.Formatter":
        return [Hit(FORMATTER, node.lineno, f"`{written(node)}` looks up attributes by name")]
    if qualified and (
        qualified.startswith("pickle._") or qualified in ("types.CodeType", "types.FunctionType")
    ):
        code = PRIVATE_PICKLE if qualified.startswith("pickle.") else DYNAMIC
        what = "unpickles, which runs code" if code == PRIVATE_PICKLE else "builds code objects"
        return [Hit(code, node.lineno, f"`{written(node)}` ({qualified}) {what}")]
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "__dict__"
        and is_module(node.value, names)
        and not (names.resolve(node.value) or "").startswith("torch")  # ESR412's
    ):
        return [Hit(NAMESPACE, node.lineno, f"`{written(node)}` reads a module's namespace")]
    return []


def _lookup_namespace(module: str | None) -> bool:
    """Modules where a computed getattr is ordinary model code (``getattr(nn, act)``), and
    those the older ESR410 rule already reports (``os``, ``sys``, ...)."""
    if module is None:
        return True
    return module in SENSITIVE_MODULES or module == "math" or module.startswith(_LAYER_MODULES)


def _computed(node: ast.AST) -> bool:
    return not (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _call(node: ast.Call, names: Names) -> list[Hit]:
    func = names.resolve(node.func)
    if hits := _namespace_call(node, func, names):
        return hits
    args, line = node.args, node.lineno
    if func in ("codecs.decode", "codecs.encode") and _rot13(node):
        return [Hit(DYNAMIC, line, f"`{func}(..., 'rot13')` decodes hidden text")]
    if func in ("io.FileIO", "_io.FileIO"):
        return _fileio(node)
    if func == "os.open" and len(args) >= 2:
        return _os_open(node)
    if func in ("builtins.setattr", "builtins.delattr") and args and is_module(args[0], names):
        return _module_patch(args[0], line, names, shown=f"{func.split('.')[1]}(...)")
    return []


def _namespace_call(node: ast.Call, func: str | None, names: Names) -> list[Hit]:
    """vars(module), getattr(module, computed), __getattribute__ and attrgetter on modules."""
    args, line = node.args, node.lineno
    modules = [a for a in args if is_module(a, names)]
    what = None
    if func == "builtins.vars" and args and args[0] in modules:
        what = f"`vars({written(args[0])})` reads a module's namespace"
    elif (
        func == "builtins.getattr"
        and len(args) >= 2
        and _computed(args[1])
        and args[0] in modules
        and not _lookup_namespace(names.resolve(args[0]))
    ):
        what = f"`getattr({written(args[0])}, <computed name>)` hides which function is called"
    elif modules and isinstance(node.func, ast.Attribute) and node.func.attr == "__getattribute__":
        what = "`__getattribute__` on a module hides what is called"
    elif (
        modules and isinstance(node.func, ast.Call) and names.resolve(node.func.func) in _REFLECTIVE
    ):
        what = f"`{written(node.func)}(module)` hides what is called"  # attrgetter("x")(os)
    return [Hit(NAMESPACE, line, what)] if what else []


def _subscript(node: ast.Subscript, names: Names) -> list[Hit]:
    """``globals()["__builtins__"]``: interpreter internals fetched by name."""
    value, key = node.value, node.slice
    namespace = isinstance(value, ast.Call) and names.resolve(value.func) in (
        "builtins.globals",
        "builtins.locals",
        "builtins.vars",
    )
    dunder = (
        isinstance(key, ast.Constant)
        and isinstance(key.value, str)
        and key.value.startswith("__")
        and key.value.endswith("__")
    )
    if not (namespace and dunder):
        return []
    shown = f"`{written(value)}[{key.value!r}]`"  # type: ignore[attr-defined]
    return [Hit(NAMESPACE, node.lineno, f"{shown} reaches interpreter internals by name")]


def _rot13(node: ast.Call) -> bool:
    encoding = node.args[1] if len(node.args) > 1 else None
    encoding = next((k.value for k in node.keywords if k.arg == "encoding"), encoding)
    if isinstance(encoding, ast.Constant) and isinstance(encoding.value, str):
        return encoding.value.lower().replace("-", "_") in _ROT13
    return encoding is not None  # a computed codec name: could be anything


def _fileio(node: ast.Call) -> list[Hit]:
    mode = next((k.value for k in node.keywords if k.arg == "mode"), None)
    mode = mode or (node.args[1] if len(node.args) > 1 else None)
    if mode is None:
        return []
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        if not set(mode.value) & _WRITE_MODE:
            return []
        what = f"mode {mode.value!r}"
    else:
        what = "a computed mode"
    return [Hit(LOW_LEVEL_FILE, node.lineno, f"`io.FileIO(...)` with {what} may write files")]


def _os_open(node: ast.Call) -> list[Hit]:
    flags = node.args[1]
    if isinstance(flags, ast.Constant) and isinstance(flags.value, int):
        if not flags.value & _WRITE_FLAG_BITS:
            return []
        message = f"`os.open(..., {flags.value})`: numeric flags that open the file for writing"
        return [Hit(LOW_LEVEL_FILE, node.lineno, message)]
    parts = list(ast.walk(flags))
    named = all(
        isinstance(p, ast.BinOp | ast.BitOr | ast.Attribute | ast.Load)
        or (isinstance(p, ast.Name) and p.id.startswith("O_"))
        or (isinstance(p, ast.Name) and p.id == "os")
        for p in parts
    )
    if named:
        return []  # os.O_RDONLY | ...: the write flags, if any, are judged by name elsewhere
    return [Hit(LOW_LEVEL_FILE, node.lineno, "`os.open(...)` with computed flags may write files")]


def _assignment(node: ast.stmt, names: Names) -> list[Hit]:
    targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]  # type: ignore[attr-defined]
    hits: list[Hit] = []
    pending = list(targets)
    while pending:
        target = pending.pop()
        if isinstance(target, ast.Tuple | ast.List):
            pending += target.elts
        elif isinstance(target, ast.Attribute) and is_module(target.value, names):
            hits += _module_patch(target.value, target.lineno, names, shown=written(target))
    return hits


def _module_patch(module: ast.expr, line: int, names: Names, *, shown: str) -> list[Hit]:
    base = names.resolve(module) or ""
    if base.split(".")[0] in ("torch", "builtins", "__builtin__"):
        return []  # ESR412 and ESR411 have their own rules
    return [Hit(MODULE_PATCH, line, f"`{shown}` changes the imported module {base}")]
