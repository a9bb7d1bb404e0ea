"""The published manifest schema and the pydantic model accept exactly the same documents.

An independent validator (jsonschema, ECMA-262 patterns) checks the sample, a list of
invalid manifests, and documents hypothesis derives from the sample; pydantic must agree on
each. The one rule JSON Schema cannot state (tile_overlap < tile compares two values) is the
only allowed difference, and the test checks that it is exactly that.
"""

from __future__ import annotations

import copy
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from esr_validator.schemas.export import load_schema
from esr_validator.schemas.manifest import Manifest
from tests.schemas.jsonschema_support import schema_errors

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = tomllib.loads((ROOT / "sample_submission" / "submission.toml").read_text())
SCHEMA = load_schema("manifest")


def pydantic_ok(doc: Any) -> bool:
    try:
        Manifest.model_validate(doc)
    except ValidationError:
        return False
    return True


def overlap_not_below_tile(doc: Any) -> bool:
    """The documented exception: both are integers and the overlap is not below the tile."""
    inf = doc.get("inference") if isinstance(doc, dict) else None
    if not isinstance(inf, dict):
        return False
    tile, overlap = inf.get("tile"), inf.get("tile_overlap", 0)
    ints = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (tile, overlap))
    return ints and overlap >= tile  # type: ignore[operator]


def assert_agree(doc: Any) -> bool:
    by_schema = not schema_errors(SCHEMA, doc)
    by_model = pydantic_ok(doc)
    if by_schema and not by_model and overlap_not_below_tile(doc):
        return False
    assert by_schema == by_model, f"schema says {by_schema}, pydantic {by_model}: {doc!r}"
    return by_model


def with_(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SAMPLE)
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        if leaf:
            doc.setdefault(section, {})[leaf] = value
        elif value is _DELETE:
            doc.pop(section)
        else:
            doc[section] = value
    return doc


_DELETE = object()

VALID = [
    SAMPLE,
    with_(data_range=255),  # TOML integer for a float field
    with_(team_id=5.0),  # JSON Schema's integer includes 5.0
    with_(scale=2, team_id=0),
    with_(inference__tile=64, inference__tile_overlap=8, inference__precision="fp16"),
    with_(checkpoint__key="params_ema", checkpoint__strict=False, checkpoint__post_load="fuse"),
    with_(model_name="A-b_9", args=[40, 40], kwargs={"any": {"nested": [1.5, "x"]}}),
]

INVALID = {
    "data_range 2.0": with_(data_range=2.0),
    "data_range as text": with_(data_range="1.0"),
    "data_range true": with_(data_range=True),
    "team_id 100": with_(team_id=100),
    "team_id -1": with_(team_id=-1),
    "team_id as text": with_(team_id="5"),
    "team_id true": with_(team_id=True),
    "team_id 5.5": with_(team_id=5.5),
    "scale 5": with_(scale=5),
    "scale 1": with_(scale=1),
    "schema_version 2": with_(schema_version=2),
    "class_name digit first": with_(class_name="1Net"),
    "class_name trailing newline": with_(class_name="TinyESR\n"),
    "class_name dotted": with_(class_name="os.system"),
    "model_name space": with_(model_name="Tiny ESR"),
    "model_name too long": with_(model_name="M" * 65),
    "team_name empty": with_(team_name=""),
    "team_name missing": with_(team_name=_DELETE),
    "data_range missing": with_(data_range=_DELETE),
    "unknown key": with_(datarange=1.0),
    "unknown checkpoint key": with_(checkpoint__strictly=True),
    "post_load_scope": with_(checkpoint__post_load_scope="everything"),
    "loader_method not identifier": with_(checkpoint__loader_method="load weights"),
    "precision int4": with_(inference__precision="int4"),
    "tile too small": with_(inference__tile=8),
    "pad_multiple 1": with_(inference__pad_multiple=1),
    "overlap without tile": with_(inference__tile_overlap=4),
    "overlap negative": with_(inference__tile=64, inference__tile_overlap=-1),
    "args not a list": with_(args="40"),
    "kwargs not a table": with_(kwargs=[1]),
}


@pytest.mark.parametrize("doc", VALID, ids=[f"valid{i}" for i in range(len(VALID))])
def test_valid_manifests_pass_both(doc: dict[str, Any]) -> None:
    assert assert_agree(doc)


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_manifests_fail_both(case: str) -> None:
    assert not assert_agree(INVALID[case])


def test_sample_zip_manifest_passes_the_schema() -> None:
    with zipfile.ZipFile(ROOT / "sample_submission" / "team01_TinyESR.zip") as zf:
        doc = tomllib.loads(zf.read("submission.toml").decode())
    assert schema_errors(SCHEMA, doc) == []


def test_overlap_at_tile_is_the_documented_exception() -> None:
    doc = with_(inference__tile=64, inference__tile_overlap=64)
    assert schema_errors(SCHEMA, doc) == [] and not pydantic_ok(doc)
    assert "tile_overlap must also be smaller than tile" in str(SCHEMA)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-300, max_value=5000),
    st.sampled_from([0.0, 1.0, 2.0, 4.0, 16.0, 255.0, 255.5, 99.0, 1e9]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["", "x", "TinyESR", "1a", "a b", "a\n", "fp16", "model", "5", "é"]),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "tile"]), st.integers(), max_size=2),
)
_PATHS = [
    "schema_version", "team_id", "team_name", "model_name", "class_name", "kwargs", "args",
    "scale", "data_range", "checkpoint", "inference", "unknown",
    "checkpoint__key", "checkpoint__strict", "checkpoint__loader_method",
    "checkpoint__post_load", "checkpoint__post_load_scope", "checkpoint__other",
    "inference__precision", "inference__pad_multiple", "inference__tile",
    "inference__tile_overlap", "inference__other",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(_PATHS), st.one_of(_SCALARS, st.just(_DELETE)), max_size=4))
def test_schema_and_model_agree_on_derived_documents(changes: dict[str, Any]) -> None:
    doc = copy.deepcopy(SAMPLE)
    for key, value in changes.items():
        section, _, leaf = key.partition("__")
        if not leaf:
            if value is _DELETE:
                doc.pop(section, None)
            else:
                doc[section] = value
        elif isinstance(doc.setdefault(section, {}), dict):
            if value is _DELETE:
                doc[section].pop(leaf, None)
            else:
                doc[section][leaf] = value
    assert_agree(doc)
