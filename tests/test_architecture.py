"""The layering drawn in docs/architecture.md, read from the code's imports (AST, no import).

Each rule names a package (or module) and the packages of ``esr_validator`` it may import.
Third-party and standard-library imports are not limited here, except for the sandbox, whose
whole import list is checked by tests/sandbox/test_boundary.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.scripts import ROOT

PACKAGE = ROOT / "esr_validator"

# package → the esr_validator packages its modules may import (besides themselves)
RULES: dict[str, tuple[str, ...]] = {
    "schemas": (),
    "errors": (),
    "codes": ("schemas",),
    "metrics": (),
    "signing": ("errors", "schemas"),
    "owner": (),  # a leaf: every layer may label what it creates
    "intake": ("codes", "digests", "errors", "owner", "schemas"),
    "scoring": ("codes", "errors", "schemas"),
    "text": (),
    "reporters": ("codes", "errors", "schemas", "text", "github.annotations", "github.summary"),
    "noise": (),  # the clock-resolution statistic: arithmetic only
    "figures": ("noise", "schemas"),
    "checks": ("codes", "figures", "schemas", "runners.base"),
    "verdict": ("codes", "figures", "schemas", "scoring"),
}
# Only the command line reaches the commands; the library never calls back up into them.
ONLY_FROM_CLI = ("commands",)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every esr_validator module ``path`` imports, at any depth of the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from a.b import c``: c is a module of a.b or a name in it; the checks below
            # accept it when either a.b.c or a.b is allowed.
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if m.split(".")[0] == "esr_validator"}


def _inside(module: str, package: str) -> bool:
    full = f"esr_validator.{package}"
    return module == full or module.startswith(full + ".")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _rule(module: str) -> str | None:
    return next((p for p in RULES if _inside(module, p)), None)


def _violations() -> list[str]:
    bad = []
    for path in _modules():
        module = _module_name(path)
        package = _rule(module)
        for imported in imports_of(path):
            if any(_inside(imported, p) for p in ONLY_FROM_CLI) and not (
                _inside(module, "cli") or _inside(module, "commands")
            ):
                bad.append(f"{module} imports {imported}: only the cli reaches commands")
            parent = imported.rsplit(".", 1)[0]
            if package is None or (parent == "esr_validator" and imported.endswith("__version__")):
                continue
            allowed = (package, *RULES[package])
            if not any(_inside(imported, p) or _inside(parent, p) for p in allowed):
                bad.append(f"{module} ({package}) imports {imported}")
    return sorted(set(bad))


def test_the_layering_holds() -> None:
    assert _violations() == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from esr_validator.pipeline import validate_zip\n")
    assert imports_of(bad) == {"esr_validator.pipeline.validate_zip"}  # inside a function too
    assert _rule("esr_validator.schemas.report") == "schemas"
    assert not any(_inside(m, p) for m in imports_of(bad) for p in ("schemas", *RULES["schemas"]))


@pytest.mark.parametrize("package", sorted(RULES))
def test_every_rule_names_real_code(package: str) -> None:
    base = PACKAGE.joinpath(*package.split("."))
    assert base.is_dir() or base.with_suffix(".py").is_file(), package
