"""The in-toto Statement v1 that carries a report.

::

    {"_type": "https://in-toto.io/Statement/v1",
     "subject": [{"name": "team16_X.zip", "digest": {"sha256": "..."}}, ...],
     "predicateType": "https://esr-validator.dev/report/v1",
     "predicate": <the Report as JSON>}

The subjects are the files the report is about, taken from its ``submission`` block: the
zip, then the model file and the checkpoint when the report names them with a digest. The
predicate type's trailing ``v1`` is the report's ``schema_version``; a new schema version
gets a new predicate type, so an old verifier refuses a report it cannot read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.report import Report

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
REPORT_PREDICATE_TYPE = "https://esr-validator.dev/report/v1"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


class Digest(_Model):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Subject(_Model):
    name: str = Field(min_length=1)
    digest: Digest


class Statement(_Model):
    statement_type: str = Field(alias="_type")
    subject: list[Subject] = Field(min_length=1)
    predicate_type: str = Field(alias="predicateType")
    predicate: dict[str, Any]


def report_subjects(report: Report) -> list[Subject]:
    """The zip, model file (with the rest of its package) and checkpoint named in the report;
    a file without a digest is left out rather than signed as unknown."""
    info = report.submission
    pairs = [
        (info.zip_name, info.zip_sha256),
        (info.model_file, info.model_sha256),
        *((f, d) for f, d in sorted(info.package_sha256.items()) if f != info.model_file),
        (info.checkpoint_file, info.checkpoint_sha256),
    ]
    return [Subject(name=n, digest=Digest(sha256=d)) for n, d in pairs if n and d]


def statement_json(report: Report, predicate: dict[str, Any]) -> dict[str, Any]:
    """The statement as a JSON value; ``predicate`` is the report already dumped to JSON."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [s.model_dump() for s in report_subjects(report)],
        "predicateType": REPORT_PREDICATE_TYPE,
        "predicate": predicate,
    }
