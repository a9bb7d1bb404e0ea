"""The committed JSON Schema files are exactly what the pydantic models export."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _exporter():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("export_schemas", ROOT / "scripts" / "export_schemas.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_schema_files_are_in_sync() -> None:
    stale = [
        name
        for name, text in _exporter().rendered().items()
        if not (ROOT / "schemas" / name).is_file() or (ROOT / "schemas" / name).read_text() != text
    ]
    assert not stale, f"run `make schemas`: stale {stale}"
