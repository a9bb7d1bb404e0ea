"""The committed JSON Schema files are exactly what the pydantic models export."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent


def test_schema_files_are_in_sync() -> None:
    stale = [
        name
        for name, text in load_script("export_schemas").rendered().items()
        if not (ROOT / "esr_validator" / "schemas" / name).is_file() or (ROOT / "esr_validator" / "schemas" / name).read_text() != text
    ]
    assert not stale, f"run `make schemas`: stale {stale}"
