"""Write the JSON Schema of every boundary model next to its module in ``schemas/``.

``tests/test_schemas_export.py`` fails when a committed file differs from what this writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from esr_validator.schemas.fidelity import ScoreOutput, ScoreRequest
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report
from esr_validator.schemas.worker import WorkerConfig, WorkerResult

MODELS: dict[str, type[BaseModel]] = {
    "manifest": Manifest,
    "report": Report,
    "worker_config": WorkerConfig,
    "worker_result": WorkerResult,
    "score_request": ScoreRequest,
    "score_output": ScoreOutput,
    "pr": PrCheck,
}
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "esr_validator" / "schemas"


def rendered() -> dict[str, str]:
    return {
        f"{name}.schema.json": json.dumps(model.model_json_schema(), indent=2, sort_keys=True)
        + "\n"
        for name, model in MODELS.items()
    }


def main() -> int:
    for name, text in rendered().items():
        (SCHEMA_DIR / name).write_text(text)
        print(f"wrote esr_validator/schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
