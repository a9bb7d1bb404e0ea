"""Rulesets are data: every packaged file loads, matches the published constants, and a
malformed file fails with an error naming the file and the field."""

from __future__ import annotations

import json
import math
import os
import subprocess
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


R22 = ("ofsoundof/NTIRE2022_ESR", "e95ba4a4916bb13d6348f7ee172827e2452e8a31")
R23 = ("eduardzamfir/NTIRE23-RTSR", "2bc37ba38a192ea06c0c5ff5604b04661c7c3f5d")
R24 = ("Amazingren/NTIRE2024_ESR", "6404fa48dde4a4adbf241a51debdc661aef20449")
R25 = ("Amazingren/NTIRE2025_ESR", "b69fb668c0362deb696eecbfdebfaa5c2fcdfcb4")
R26 = ("Amazingren/NTIRE2026_ESR", "4592ce6db68b395699f13e7e2a4e3baf317ef1c6")
REPOS = {"ntire2022_esr": R22, "ntire2023_rtsr": R23, "ntire2024_esr": R24}
REPOS |= {"ntire2025_esr": R25, "ntire2026_esr": R26}

# Every constant a ruleset holds, with the file and line of the organizers' repository (at
# the commit above) it was read from and the text that line shows. The ruleset must hold the
# value and cite the file and line; with ESR_ORGANIZER_MIRRORS set (a folder of fetched bare
# repositories, owner+name/repo), the line itself is read back and must show the text.
PINS: list[tuple[str, str, object, str, int, str]] = [
    # 2026: the final README and results.txt (7.74 ms replaces the launch placeholder 5.59).
    ("ntire2026_esr", "baseline.runtime_ms", 7.74, "README.md", 214, "Runtime = 7.74 ms"),
    ("ntire2026_esr", "baseline.runtime_valid_ms", 8.00, "README.md", 136, "| 8.00 | 7.47 |"),
    ("ntire2026_esr", "baseline.runtime_test_ms", 7.47, "README.md", 136, "| 7.47 | 7.74 |"),
    ("ntire2026_esr", "baseline.flops_g", 9.83, "README.md", 138, "| 9.83 |"),
    ("ntire2026_esr", "baseline.params_m", 0.151, "README.md", 137, "| 0.151 |"),
    ("ntire2026_esr", "baseline.psnr.valid", 26.94, "README.md", 135, "| 26.94 | 27.01 |"),
    ("ntire2026_esr", "baseline.psnr.test", 27.01, "README.md", 135, "| 27.01 |"),
    ("ntire2026_esr", "baseline.activations_m", 41.68, "results.txt", 2, "41.68"),
    ("ntire2026_esr", "baseline.memory_mb", 705.24, "results.txt", 2, "705.24"),
    ("ntire2026_esr", "baseline.conv_count", 22, "results.txt", 2, "  22"),
    ("ntire2026_esr", "gates.0.min_psnr", 26.90, "README.md", 63, "**26.90 dB** on DIV2K"),
    ("ntire2026_esr", "gates.1.min_psnr", 26.99, "README.md", 63, "**26.99 dB** on DIV2K"),
    ("ntire2026_esr", "formula.weights.runtime", 0.8, "README.md", 211, "0.8 × Score_Runtime"),
    ("ntire2026_esr", "formula.weights.flops", 0.1, "README.md", 211, "0.1 × Score_FLOPs"),
    ("ntire2026_esr", "formula.weights.params", 0.1, "README.md", 211, "0.1 × Score_Params"),
    ("ntire2026_esr", "timing.runs", 5, "README.md", 131, "averaged over **5 runs**"),
    ("ntire2026_esr", "reference_gpu", "RTX A6000", "README.md", 131, "NVIDIA RTX A6000"),
    ("ntire2026_esr", "tracks.1.rank_by", "sub_score", "README.md", 216, "corresponding sub-score"),
    # 2025
    ("ntire2025_esr", "baseline.runtime_ms", 16.69, "README.md", 91, "Runtime: 16.69 ms"),
    ("ntire2025_esr", "baseline.runtime_valid_ms", 18.77, "README.md", 91, "18.77 ms"),
    ("ntire2025_esr", "baseline.runtime_test_ms", 14.61, "README.md", 91, "14.61 ms"),
    ("ntire2025_esr", "baseline.flops_g", 16.70, "README.md", 92, "16.70 G"),
    ("ntire2025_esr", "baseline.params_m", 0.276, "README.md", 90, "0.276 M"),
    ("ntire2025_esr", "baseline.psnr.valid", 26.93, "README.md", 88, "26.93 dB"),
    ("ntire2025_esr", "baseline.psnr.test", 27.01, "README.md", 89, "27.01 dB"),
    (
        "ntire2025_esr",
        "baseline.activations_m",
        111.1167,
        "NTIRE2025-EfficientSR.log",
        408,
        "111.1167",
    ),
    ("ntire2025_esr", "baseline.memory_mb", 662.886, "NTIRE2025-EfficientSR.log", 202, "662.886"),
    ("ntire2025_esr", "baseline.conv_count", 65, "NTIRE2025-EfficientSR.log", 409, ": 65"),
    ("ntire2025_esr", "gates.0.min_psnr", 26.90, "README.md", 31, "26.90 dB on DIV2K_LSDIR_valid"),
    ("ntire2025_esr", "gates.1.min_psnr", 26.99, "README.md", 31, "26.99 dB on DIV2K_LSDIR_test"),
    ("ntire2025_esr", "formula.weights.runtime", 0.7, "README.md", 164, "0.7*Score_Runtime"),
    ("ntire2025_esr", "formula.weights.flops", 0.15, "README.md", 164, "0.15*Score_FLOPs"),
    ("ntire2025_esr", "formula.weights.params", 0.15, "README.md", 164, "0.15*Score_Params"),
    ("ntire2025_esr", "timing.runs", 5, "README.md", 94, "average of 5 runs"),
    ("ntire2025_esr", "reference_gpu", "RTX A6000", "README.md", 94, "NVIDIA RTX A6000"),
    ("ntire2025_esr", "tracks.1.rank_by", "sub_score", "README.md", 173, "Score_Runtime"),
    # 2024
    ("ntire2024_esr", "baseline.runtime_ms", 13.54, "README.md", 89, "Runtime: 13.54 ms"),
    ("ntire2024_esr", "baseline.runtime_valid_ms", 16.18, "README.md", 89, "16.18 ms"),
    ("ntire2024_esr", "baseline.runtime_test_ms", 10.89, "README.md", 89, "10.89 ms"),
    ("ntire2024_esr", "baseline.flops_g", 19.67, "README.md", 90, "19.67 G"),
    ("ntire2024_esr", "baseline.params_m", 0.317, "README.md", 88, "0.317 M"),
    ("ntire2024_esr", "baseline.psnr.valid", 26.96, "README.md", 86, "26.96 dB"),
    ("ntire2024_esr", "baseline.psnr.test", 27.07, "README.md", 87, "27.07 dB"),
    ("ntire2024_esr", "baseline.activations_m", 80.05, "results.txt", 2, "80.05"),
    ("ntire2024_esr", "baseline.memory_mb", 467.70, "results.txt", 2, "467.70"),
    ("ntire2024_esr", "baseline.conv_count", 39, "results.txt", 2, "  39"),
    ("ntire2024_esr", "gates.0.min_psnr", 26.90, "README.md", 33, "26.90 dB on DIV2K_LSDIR_valid"),
    ("ntire2024_esr", "gates.1.min_psnr", 26.99, "README.md", 33, "26.99 dB on DIV2K_LSDIR_test"),
    ("ntire2024_esr", "formula.weights.runtime", 0.7, "README.md", 162, "0.7*Score_Runtime"),
    ("ntire2024_esr", "formula.weights.flops", 0.15, "README.md", 162, "0.15*Score_FLOPs"),
    ("ntire2024_esr", "formula.weights.params", 0.15, "README.md", 162, "0.15*Score_Params"),
    ("ntire2024_esr", "timing.runs", 5, "README.md", 92, "average of 5 runs"),
    ("ntire2024_esr", "reference_gpu", "RTX 3090", "README.md", 92, "RTX 3090"),
    ("ntire2024_esr", "tracks.1.rank_by", "sub_score", "README.md", 171, "Score_Runtime"),
    # 2023 real-time: the timed input is crop_size[0] // s rows, crop_size[1] // s columns.
    (
        "ntire2023_rtsr",
        "timing.output_size",
        (3840, 2160),
        "demo/runtime_demo.py",
        137,
        "default=[3840, 2160]",
    ),
    (
        "ntire2023_rtsr",
        "timing.output_size",
        (3840, 2160),
        "demo/runtime_demo.py",
        81,
        "crop_size[0]//args.scale, args.crop_size[1]//args.scale",
    ),
    (
        "ntire2023_rtsr",
        "complexity_input.kind",
        "timed",
        "demo/runtime_demo.py",
        112,
        "int(args.crop_size[0]/args.scale)",
    ),
    ("ntire2023_rtsr", "timing.warmup", 50, "demo/runtime_demo.py", 92, "range(50)"),
    ("ntire2023_rtsr", "timing.timed_passes", 244, "demo/runtime_demo.py", 135, "default=244"),
    (
        "ntire2023_rtsr",
        "timing.cudnn_benchmark",
        True,
        "demo/runtime_demo.py",
        45,
        "benchmark = True",
    ),
    ("ntire2023_rtsr", "timing.no_grad", True, "demo/runtime_demo.py", 98, "torch.no_grad()"),
    (
        "ntire2023_rtsr",
        "timing.precision",
        "fp16",
        "README.md",
        95,
        "FP16 performance **without** TensorRT",
    ),
    ("ntire2023_rtsr", "tracks.0.baseline_runtime_ms", 29.93, "README.md", 92, "**29.93**"),
    ("ntire2023_rtsr", "tracks.1.baseline_runtime_ms", 13.28, "README.md", 93, "**13.28**"),
    (
        "ntire2023_rtsr",
        "formula.bicubic_psnr",
        31.697655,
        "demo/calc_scoring.ipynb",
        21,
        "psnr_interp=31.697655",
    ),
    (
        "ntire2023_rtsr",
        "formula.factor",
        20.0,
        "demo/calc_scoring.ipynb",
        39,
        "((2**diff*2)) / (cte*",
    ),
    (
        "ntire2023_rtsr",
        "psnr.border",
        0,
        "demo/calc_metrics.py",
        62,
        "crop_border=0, test_y_channel=True",
    ),
    (
        "ntire2023_rtsr",
        "psnr.y_channel",
        "bt601_swapped_rb",
        "demo/utils/util_metrics.py",
        315,
        "[24.966, 128.553, 65.481]",
    ),
    # 2022: the README's text (the baseline's figures are in figs/results.png, an image).
    ("ntire2022_esr", "reference_gpu", "Titan Xp", "README.md", 6, "Titan Xp"),
    (
        "ntire2022_esr",
        "memory_split",
        "valid",
        "README.md",
        20,
        "during the inference on DIV2K validation set",
    ),
    ("ntire2022_esr", "complexity_input.size", (256, 256), "README.md", 22, "256x256"),
    (
        "ntire2022_esr",
        "tracks.2.metrics",
        ["runtime", "params", "flops", "activations", "memory"],
        "README.md",
        10,
        "Runtime, Parameters, FLOPs, Activation, Memory",
    ),
]


def _get(obj: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj[part]
        elif isinstance(obj, list | tuple):
            obj = obj[int(part)]
        else:
            obj = getattr(obj, part)
    return obj


def _cited_lines(text: str) -> set[int]:
    lines: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        lines.update(range(int(first), int(last or first) + 1))
    return lines


@pytest.mark.parametrize(("name", "path", "value", "file", "line", "text"), PINS)
def test_constant_is_pinned_to_its_cited_source(
    name: str, path: str, value: object, file: str, line: int, text: str
) -> None:
    ruleset = load_ruleset(name)
    held = _get(ruleset, path)
    assert held == value, f"{name} {path} is {held!r}, the source says {value!r}"
    repo, commit = REPOS[name]
    cited = [c for c in ruleset.citations if (c.repository, c.file) == (repo, file)]
    assert cited, f"{name} does not cite {repo} {file}"
    assert all(c.commit == commit for c in cited)
    assert any(line in _cited_lines(c.lines) for c in cited), f"{file}:{line} not cited"
    mirrors = os.environ.get("ESR_ORGANIZER_MIRRORS")
    if mirrors:
        git_dir = Path(mirrors) / repo.replace("/", "+") / "repo"
        shown = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{commit}:{file}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert text in shown[line - 1], f"{repo}@{commit[:7]} {file}:{line}: {shown[line - 1]!r}"


def test_every_ruleset_cites_full_commits_of_its_own_repository() -> None:
    for name, (repo, commit) in REPOS.items():
        ruleset = load_ruleset(name)
        assert ruleset.url == f"https://github.com/{repo}"
        assert {c.repository for c in ruleset.citations} == {repo}
        assert {c.commit for c in ruleset.citations} == {commit}


@pytest.mark.parametrize("name", ["ntire2024_esr", "ntire2025_esr", "ntire2026_esr"])
def test_esr_rulesets_share_the_published_form(name: str) -> None:
    r = load_ruleset(name)
    assert r.formula.kind == "exp_weighted" and r.flops_counter == "fvcore"
    assert r.timing.warmup == 0 and not r.timing.cudnn_benchmark and not r.timing.no_grad
    assert [(t.name, t.rank_by, t.metrics, t.constraints) for t in r.tracks] == [
        ("main", "score", [], []),
        ("runtime", "sub_score", ["runtime"], []),
        ("flops", "sub_score", ["flops"], []),
        ("params", "sub_score", ["params"], []),
    ]
    assert r.complexity_input_hw(4) == (256, 256) and r.memory_split == "valid"
    assert all(g.printed_decimals == 2 for g in r.gates)


def test_legacy_rulesets() -> None:
    esr22 = load_ruleset("ntire2022_esr")
    assert (esr22.reference_gpu, esr22.flops_counter, esr22.formula.kind) == (
        "Titan Xp",
        "legacy",
        "rank_sum",
    )
    assert [(t.name, t.constraints) for t in esr22.tracks] == [
        ("runtime", ["params"]),
        ("complexity", []),  # the published table ranks entries slower than IMDN
        ("overall", []),
    ]
    assert {g.phase for g in esr22.gates if g.min_psnr == 29.00} == {"development"}
    b = esr22.baseline
    assert (b.runtime_ms, b.params_m, b.flops_g, b.activations_m, b.memory_mb, b.conv_count) == (
        50.86,
        0.894,
        58.53,
        154.14,
        471.76,
        43,
    )
    rtsr = load_ruleset("ntire2023_rtsr")
    assert rtsr.scales == [2, 3] and rtsr.memory_split is None
    # 1920 rows x 1080 columns at x2, 1280 x 720 at x3, for timing and for FLOPs alike.
    assert [rtsr.timed_input_hw(s) for s in (2, 3)] == [(1920, 1080), (1280, 720)]
    assert [rtsr.complexity_input_hw(s) for s in (2, 3)] == [(1920, 1080), (1280, 720)]


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
        (R24[1], "6404fa4", r"bad\.toml: citations\.0\.commit"),
        ('kind = "fixed"', 'kind = "timed"', r"bad\.toml: complexity_input"),
        ('memory_split = "valid"', 'memory_split = "vaild"', r"memory_split names unknown split"),
        ('metrics = ["flops"]', 'metrics = ["activations"]', r"sub_score needs an exp_weighted"),
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
