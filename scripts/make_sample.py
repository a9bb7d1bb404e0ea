"""Rebuild ``sample_submission/team01_TinyESR.zip`` from its sources (``make sample``).

The archive is reproducible, so ``tests/test_sample.py`` can check the committed zip is
exactly what its sources give.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from esr_validator.pack import write_submission
from esr_validator.schemas.manifest import Manifest

SAMPLE = Path(__file__).resolve().parent.parent / "sample_submission"


def build(out: Path) -> Path:
    manifest = Manifest.model_validate(tomllib.loads((SAMPLE / "submission.toml").read_text()))
    model = SAMPLE / "models" / f"{manifest.stem}.py"
    (checkpoint,) = sorted((SAMPLE / "model_zoo").glob(f"{manifest.stem}.*"))
    write_submission(out, manifest=manifest, model=model, checkpoint=checkpoint)
    return out


def main() -> int:
    manifest = Manifest.model_validate(tomllib.loads((SAMPLE / "submission.toml").read_text()))
    out = build(SAMPLE / f"{manifest.stem}.zip")
    print(f"wrote {out.relative_to(SAMPLE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
