"""The published JSON Schemas: one per boundary model, each with ``$schema`` and a stable ``$id``.

``scripts/export_schemas.py`` writes them beside the models; ``tests/schemas/test_export.py``
fails when a committed file differs. The files ship in the wheel, so that
``importlib.resources`` finds them in an installed copy (see :func:`schema_path`).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from esr_validator.schemas.check import CheckOutput
from esr_validator.schemas.fidelity import ScoreOutput, ScoreRequest
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.pr import PrCheck
from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.worker import WorkerConfig, WorkerResult

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Versioned by the documents' schema_version, not by the tool's release: a $id only changes
# when a document written to it would stop validating.
ID_BASE = "https://esr-validator.dev/schemas/v1/"

MODELS: dict[str, type[BaseModel]] = {
    "manifest": Manifest,
    "ruleset": Ruleset,
    "report": Report,
    "check_output": CheckOutput,
    "pr": PrCheck,
    "worker_config": WorkerConfig,
    "worker_result": WorkerResult,
    "score_request": ScoreRequest,
    "score_output": ScoreOutput,
}


def file_name(name: str) -> str:
    return f"{name}.schema.json"


def schema_id(name: str) -> str:
    return ID_BASE + file_name(name)


def schema_document(name: str) -> dict[str, Any]:
    body = MODELS[name].model_json_schema()
    return {"$schema": DIALECT, "$id": schema_id(name), **body}


def rendered() -> dict[str, str]:
    """Every schema file's exact text, keyed by file name."""
    return {
        file_name(name): json.dumps(schema_document(name), indent=2, sort_keys=True) + "\n"
        for name in MODELS
    }


def load_schema(name: str) -> dict[str, Any]:
    """A published schema as shipped with the package (not regenerated)."""
    text = resources.files("esr_validator.schemas").joinpath(file_name(name)).read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def schema_path(name: str) -> Path:
    return Path(str(resources.files("esr_validator.schemas").joinpath(file_name(name))))
