"""Rulesets are data: every packaged file loads, matches the published constants, and a
malformed file fails with an error naming the file and the field."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from esr_validator.baselines import BASELINES
from esr_validator.cli import main
from esr_validator.errors import EXIT_OK, RulesetError
from esr_validator.ruleset import DEFAULT_RULESET, list_rulesets, load_ruleset, parse_ruleset

PACKAGED = ["ntire2022_esr", "ntire2023_rtsr", "ntire2024_esr", "ntire2025_esr", "ntire2026_esr"]
GOOD = (
    Path(__file__).resolve().parents[2] / "esr_validator/rulesets/ntire2024_esr.toml"
).read_text()


def test_every_packaged_ruleset_loads() -> None:
    assert list_rulesets() == PACKAGED
    for name in PACKAGED:
        ruleset = load_ruleset(name)
        assert ruleset.name == name
        assert ruleset.baseline.name in BASELINES
    assert load_ruleset().name == DEFAULT_RULESET == "ntire2024_esr"


@pytest.mark.parametrize(
    ("name", "gpu", "baseline", "runtime", "flops", "params", "weights"),
    [
        ("ntire2024_esr", "RTX 3090", "rlfn", 13.54, 19.67, 0.317, (0.7, 0.15, 0.15)),
        ("ntire2025_esr", "RTX A6000", "efdn", 16.69, 16.70, 0.276, (0.7, 0.15, 0.15)),
        ("ntire2026_esr", "RTX A6000", "span", 5.59, 9.83, 0.151, (0.8, 0.1, 0.1)),
    ],
)
def test_esr_constants_match_protocol(
    name: str,
    gpu: str,
    baseline: str,
    runtime: float,
    flops: float,
    params: float,
    weights: tuple[float, float, float],
) -> None:
    r = load_ruleset(name)
    assert (r.reference_gpu, r.baseline.name, r.formula.kind) == (gpu, baseline, "exp_weighted")
    assert (r.baseline.runtime_ms, r.baseline.flops_g, r.baseline.params_m) == (
        runtime,
        flops,
        params,
    )
    assert tuple(r.formula.weights[m] for m in ("runtime", "flops", "params")) == weights
    assert [(g.split, g.min_psnr) for g in r.gates] == [("valid", 26.90), ("test", 26.99)]
    assert r.flops_counter == "fvcore" and r.timing.warmup == 0 and not r.timing.cudnn_benchmark


def test_legacy_rulesets() -> None:
    esr22 = load_ruleset("ntire2022_esr")
    assert (esr22.reference_gpu, esr22.flops_counter, esr22.formula.kind) == (
        "Titan Xp",
        "legacy",
        "rank_sum",
    )
    assert [t.name for t in esr22.tracks] == ["runtime", "complexity", "overall"]
    assert {g.phase for g in esr22.gates if g.min_psnr == 29.00} == {"development"}
    rtsr = load_ruleset("ntire2023_rtsr")
    assert rtsr.scales == [2, 3] and rtsr.formula.bicubic_psnr == 31.697655
    t = rtsr.timing
    assert (t.warmup, t.timed_passes, t.cudnn_benchmark, t.precision) == (50, 244, True, "fp16")
    assert [(tr.scale, tr.baseline_runtime_ms) for tr in rtsr.tracks] == [(2, 29.93), (3, 13.28)]


def _bad(tmp_path: Path, old: str, new: str) -> Path:
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("runtime = 0.7,", "runtime = 0.6,", r"bad\.toml: formula: .*weights must sum to 1"),
        ('reference_gpu = "RTX 3090"', 'refernce_gpu = "RTX 3090"', r"bad\.toml: .*reference_gpu"),
        ('reference_gpu = "RTX 3090"', 'refernce_gpu = "RTX 3090"', r"refernce_gpu: Extra inputs"),
        ("min_psnr = 26.90", 'min_psnr = "high"', r"bad\.toml: gates\.0\.min_psnr"),
        ('split = "test"', 'split = "tset"', r"bad\.toml: .*gate on unknown split 'tset'"),
        ('name = "rlfn"', 'name = "rlfnn"', r"bad\.toml: baseline\.name: unknown baseline"),
        ("runtime_ms = 13.54", "runtime_ms = 15.0", r"bad\.toml: baseline: .*not \(valid"),
        ("[formula]", "[formula", r"bad\.toml: not valid TOML"),
    ],
)
def test_malformed_ruleset_names_file_and_field(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    with pytest.raises(RulesetError, match=expected) as err:
        load_ruleset(str(_bad(tmp_path, old, new)))
    assert "invalid ruleset" in err.value.describe()


def test_packaged_name_must_match_file() -> None:
    with pytest.raises(RulesetError, match=r"other\.toml: name: 'ntire2024_esr' differs"):
        parse_ruleset(GOOD, origin="other.toml", expected_name="other")


def test_unknown_ruleset_suggests_a_name() -> None:
    with pytest.raises(RulesetError, match="unknown ruleset") as err:
        load_ruleset("ntire2024_ers")
    assert err.value.hint is not None and "ntire2024_esr" in err.value.hint


def test_unreadable_ruleset_file(tmp_path: Path) -> None:
    with pytest.raises(RulesetError, match=r"missing\.toml: cannot read"):
        load_ruleset(str(tmp_path / "missing.toml"))


def test_ruleset_file_by_path_loads(tmp_path: Path) -> None:
    path = _bad(tmp_path, 'title = "NTIRE 2024', 'title = "Local copy of NTIRE 2024')
    assert load_ruleset(str(path)).title.startswith("Local copy")


def test_rulesets_command_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rulesets", "--format", "json"]) == EXIT_OK
    doc = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in doc["rulesets"]]
    assert names == PACKAGED
    assert [r["name"] for r in doc["rulesets"] if r["default"]] == [DEFAULT_RULESET]
    esr24 = doc["rulesets"][names.index("ntire2024_esr")]
    assert "0.7·exp(2·rt/13.54)" in esr24["measures"]
    assert math.isclose(sum(esr24["formula"]["weights"].values()), 1.0)


def test_rulesets_command_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rulesets"]) == EXIT_OK
    out = capsys.readouterr().out
    for name in PACKAGED:
        assert name in out
