"""The committed JSON Schema files are exactly what the pydantic models export."""

from __future__ import annotations

from pathlib import Path

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "esr_validator" / "schemas"


def test_schema_files_are_in_sync() -> None:
    stale = [
        name
        for name, text in load_script("export_schemas").rendered().items()
        if not (SCHEMAS / name).is_file() or (SCHEMAS / name).read_text() != text
    ]
    assert not stale, f"run `make schemas`: stale {stale}"
