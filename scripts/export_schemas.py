"""Write the JSON Schema of every boundary model next to its module in ``esr_validator/schemas/``.

The documents are built by ``esr_validator.schemas.export``; ``tests/schemas/test_export.py``
fails when a committed file differs from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from esr_validator.schemas.export import rendered

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "esr_validator" / "schemas"


def main() -> int:
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote esr_validator/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
