"""Finding codes are data: the catalogue holds every fact about a code, no module a literal."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from esr_validator import codes
from esr_validator.schemas.report import FailureCategory
from tests.scripts import ROOT

CODE = re.compile(r"ESR\d{3}")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            ids.add(id(first.value))
    return ids


def code_literals(path: Path) -> list[tuple[int, str]]:
    """String constants naming a code, docstrings aside (they may cite one for a reader)."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and CODE.search(node.value)
    ]


def test_no_code_literal_outside_the_catalogue() -> None:
    found = {
        str(path.relative_to(ROOT)): hits
        for path in sorted((ROOT / "esr_validator").rglob("*.py"))
        if path.name != "codes.py" and (hits := code_literals(path))
    }
    assert found == {}


def test_the_literal_check_sees_one(tmp_path: Path) -> None:
    src = tmp_path / "m.py"
    src.write_text('"""Cites ESR101 for a reader."""\nBLOCKING = {"ESR101"}\n')
    assert code_literals(src) == [(2, "ESR101")]


@pytest.mark.parametrize("entry", codes.CATALOG.values(), ids=lambda c: c.code)
def test_every_code_is_complete(entry: codes.Code) -> None:
    assert CODE.fullmatch(entry.code) and entry.name and entry.hint.strip()
    assert codes.BY_NAME[entry.name] is entry
    assert entry.failure is None or entry.failure in get_args(FailureCategory)
    if entry.failure is not None:  # a failure is decided by an error, never by a warning
        assert entry.severity is codes.Severity.ERROR
    if entry.blocks_extraction:  # only the central directory's findings stop extraction
        assert entry.code.startswith("ESR1")


def test_facts_are_read_from_the_catalogue() -> None:
    found = codes.finding("worker-timeout", "ran too long")
    assert codes.code_of(found).failure == "timeout"
    assert codes.is_code(found, "worker-timeout") and not codes.is_code(found, "worker-crashed")
