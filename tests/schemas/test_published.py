"""Every published schema is a valid Draft 2020-12 document with a stable ``$id``, and real
documents of each kind pass it: the packaged rulesets, ``check --format json`` on the sample
and on a broken zip, and the manifest ``pack`` writes (whose ``#:schema`` names the schema)."""

from __future__ import annotations

import json
import tomllib
import zipfile
from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.ruleset import list_rulesets
from esr_validator.schemas.check import CheckOutput
from esr_validator.schemas.export import DIALECT, ID_BASE, MODELS, load_schema, schema_id
from tests.schemas.jsonschema_support import schema_errors, validator_for

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ZIP = ROOT / "sample_submission" / "team01_TinyESR.zip"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_is_valid_2020_12_with_stable_id(name: str) -> None:
    schema = load_schema(name)
    validator_for(schema)  # raises on an invalid schema
    assert schema["$schema"] == DIALECT
    assert schema["$id"] == schema_id(name) == f"{ID_BASE}{name}.schema.json"
    # pydantic's non-standard spellings would be silently ignored by every validator.
    assert not {'"ge":', '"le":', '"gt":', '"lt":'} & set(json.dumps(schema).split())


@pytest.mark.parametrize("name", list_rulesets())
def test_packaged_rulesets_pass_the_ruleset_schema(name: str) -> None:
    text = (ROOT / "esr_validator" / "rulesets" / f"{name}.toml").read_text()
    assert schema_errors(load_schema("ruleset"), tomllib.loads(text)) == []


def test_ruleset_schema_rejects_a_bad_track_name() -> None:
    text = (ROOT / "esr_validator" / "rulesets" / "ntire2024_esr.toml").read_text()
    doc = tomllib.loads(text)
    doc["tracks"][0]["name"] = "Main Track"
    assert schema_errors(load_schema("ruleset"), doc)


def _check(zip_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    main(["check", str(zip_path), "--format", "json"])
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_check_json_output_passes_its_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _check(SAMPLE_ZIP, capsys)
    broken = tmp_path / "team02_Broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("submission.toml", "team_id = 200\ndata_range = 2.0\n")
    bad = _check(broken, capsys)
    assert good["ok"] is True and bad["ok"] is False and bad["findings"]
    for doc in (good, bad):
        assert schema_errors(load_schema("check_output"), doc) == []
        CheckOutput.model_validate(doc)


def test_pack_writes_the_schema_directive_first(tmp_path: Path) -> None:
    sample = ROOT / "sample_submission"
    out = tmp_path / "team07_Tiny.zip"
    argv = [
        "pack", "--model", str(sample / "models" / "team01_TinyESR.py"),
        "--checkpoint", str(sample / "model_zoo" / "team01_TinyESR.pth"),
        "--team-id", "7", "--team-name", "Seven", "--class-name", "TinyESR",
        "--model-name", "Tiny", "--data-range", "1.0", "-o", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    text = zipfile.ZipFile(out).read("submission.toml").decode()
    first = text.splitlines()[0]
    assert first == f"#:schema {schema_id('manifest')}"
    assert schema_errors(load_schema("manifest"), tomllib.loads(text)) == []
