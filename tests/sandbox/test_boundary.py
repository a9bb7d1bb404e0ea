"""The trust boundary in the imports: read every module's imports (AST) and check both sides.

- The sandbox (``esr_validator/sandbox/**``) runs next to the entry: it may import only its
  own modules, the schemas, torch and numerics (numpy, cv2, fvcore) and the standard library.
- The trusted side never imports the sandbox's internals; it launches it by module name.
- The one trusted module the sandbox may import, :mod:`esr_validator.proctree` (the process
  tree helpers the reaper and the fork server share), stays a standard-library leaf.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import esr_validator

PKG = Path(esr_validator.__file__).resolve().parent
SANDBOX = PKG / "sandbox"
NUMERICS = {"torch", "numpy", "cv2", "fvcore"}
SHARED_LEAF = "esr_validator.proctree"
ALLOWED_IN_SANDBOX = ("esr_validator.sandbox", "esr_validator.schemas", SHARED_LEAF)


def _imports(path: Path) -> list[tuple[int, str]]:
    """Absolute module names imported by ``path``, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.append((node.lineno, base))
            # ``from esr_validator import sandbox`` names the package through an attribute.
            found += [
                (node.lineno, f"{base}.{a.name}") for a in node.names if base == "esr_validator"
            ]
    return found


def _sandbox_may(name: str) -> bool:
    top = name.split(".")[0]
    if top in NUMERICS or top == "__future__" or top in sys.stdlib_module_names:
        return True
    return any(name == a or name.startswith(a + ".") for a in ALLOWED_IN_SANDBOX)


def _violations() -> list[str]:
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        inside = SANDBOX in path.parents
        for line, name in _imports(path):
            where = f"{path.relative_to(PKG.parent)}:{line} imports {name}"
            if inside and not _sandbox_may(name):
                bad.append(where)
            if not inside and (
                name == "esr_validator.sandbox" or name.startswith("esr_validator.sandbox.")
            ):
                bad.append(where)
    return bad


def test_no_import_crosses_the_boundary() -> None:
    assert _violations() == []


def test_the_shared_leaf_imports_only_the_standard_library() -> None:
    path = PKG / "proctree.py"
    names = [name.split(".")[0] for _, name in _imports(path)]
    assert names and all(n == "__future__" or n in sys.stdlib_module_names for n in names)


def test_the_checker_sees_both_directions(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The checker itself must catch a crossing either way, or the test above proves nothing.
    fake = tmp_path / "esr_validator"
    (fake / "sandbox").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "sandbox" / "leak.py").write_text("from esr_validator.intake import checkpoint\n")
    (fake / "trusted.py").write_text("from esr_validator.sandbox.timing import Clock\n")
    (fake / "fine.py").write_text("from esr_validator.schemas import worker\nimport torch\n")
    monkeypatch.setattr(sys.modules[__name__], "PKG", fake)
    monkeypatch.setattr(sys.modules[__name__], "SANDBOX", fake / "sandbox")
    found = _violations()
    assert len(found) == 2
    assert any("leak.py" in f and "esr_validator.intake" in f for f in found)
    assert any("trusted.py" in f and "esr_validator.sandbox.timing" in f for f in found)
