"""``esr-validator pr`` on real git repositories: detection, grouping, mapping, exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.github.gitdiff import Change, parse_name_status
from esr_validator.github.pr import group_changes
from esr_validator.schemas.pr import PrCheck
from tests import pr_support as ps

ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def _props(line: str) -> dict[str, str]:
    m = ANNOTATION.match(line)
    assert m, line
    return dict(p.split("=", 1) for p in m.group("props").split(","))


def _run(repo: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> int:
    return main(
        [
            "pr",
            "--repo",
            str(repo),
            "--base",
            "main",
            "--out",
            str(out),
            "--runner",
            "local",
            *extra,
        ]
    )


def _annotations(capsys: pytest.CaptureFixture[str]) -> list[dict[str, str]]:
    lines = capsys.readouterr().out.splitlines()
    return [
        {**_props(line), "level": line[2 : line.index(" ")]}
        for line in lines
        if ANNOTATION.match(line)
    ]


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "challenge"
    ps.challenge_repo(path)
    ps.git(path, "checkout", "-q", "-b", "pr")
    return path


def test_bad_teams_are_annotated_on_their_files(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_range = ps.manifest(18, "Range", data_range=2.0)
    ps.write(repo, ps.team_files(17, "Bad", model=ps.BAD_MODEL))
    ps.write(repo, ps.team_files(18, "Range", manifest_bytes=bad_range))
    ps.write(repo, ps.team_files(19, "NoManifest", with_manifest=False))
    ps.write(repo, {"models/helper.py": b"x = 1\n", "README.md": b"# changed\n"})
    ps.commit(repo, "three teams, all broken")
    summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    assert _run(repo, tmp_path / "out", capsys, "--format", "github") == 1

    found = {(a["title"].split(" ")[0], a.get("file"), a.get("line")) for a in _annotations(capsys)}
    assert ("ESR407", "models/team17_Bad.py", str(_line_of(ps.BAD_MODEL, "os.system"))) in found
    line = _line_of(bad_range.decode(), "data_range")
    assert ("ESR205", "submissions/team18.toml", str(line)) in found
    assert ("ESR201", "models/team19_NoManifest.py", None) in found
    assert ("ESR211", "models/helper.py", None) in found
    assert ("ESR217", "README.md", None) in found
    check = PrCheck.model_validate_json((tmp_path / "out" / "pr.json").read_text())
    assert [t.team for t in check.teams] == ["team17", "team18", "team19"]  # team01: untouched
    assert not check.ok and not any(t.ok for t in check.teams)
    text = summary.read_text()
    assert "| team17 | ❌ fail (invalid) |" in text
    assert "<code>submissions/team18.toml:" in text


@pytest.mark.slow
def test_a_good_model_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ps.write(repo, ps.team_files(16, "Good"))
    ps.commit(repo, "team16")

    assert _run(repo, tmp_path / "out", capsys, "--format", "json") == 0

    check = PrCheck.model_validate_json(capsys.readouterr().out)
    (team,) = check.teams
    assert (team.team, team.status, team.ok) == ("team16", "evaluated", True)
    assert team.complexity is not None and team.complexity.conv_count == 2
    assert team.psnr and all(v is not None and v > 20 for v in team.psnr.values())
    assert (tmp_path / "out" / "team16.zip").is_file()
    report = json.loads((tmp_path / "out" / "team16.report.json").read_text())
    assert report["submission"]["model_file"] == "models/team16_Good.py"


@pytest.mark.slow
def test_good_and_bad_together_fail_and_keep_each_verdict(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ps.write(repo, ps.team_files(16, "Good"))
    ps.commit(repo, "team16")
    ps.write(repo, ps.team_files(17, "Bad", model=ps.BAD_MODEL))
    ps.commit(repo, "team17")

    assert _run(repo, tmp_path / "out", capsys, "--format", "github") == 1

    annotations = _annotations(capsys)
    assert {a["file"] for a in annotations if a["level"] == "error"} == {"models/team17_Bad.py"}
    # Notes about how the check ran are in the summary, not on every team.
    assert not any("ESR801" in a["title"] or "ESR702" in a["title"] for a in annotations)
    check = PrCheck.model_validate_json((tmp_path / "out" / "pr.json").read_text())
    assert {t.team: t.ok for t in check.teams} == {"team16": True, "team17": False}


def test_a_changed_manifest_checks_the_team_at_head(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = ps.manifest(1, "Base", data_range=100.0)
    ps.write(repo, {"submissions/team01.toml": manifest})
    ps.commit(repo, "change team01's manifest only")

    assert _run(repo, tmp_path / "out", capsys, "--format", "json") == 1

    check = PrCheck.model_validate_json(capsys.readouterr().out)
    (team,) = check.teams
    assert team.changed == ["submissions/team01.toml"]
    assert (team.model_file, team.checkpoint_file) == (
        "models/team01_Base.py",
        "model_zoo/team01_Base.pth",
    )
    line = _line_of(manifest.decode(), "data_range")
    assert [(f.code, f.path, f.line) for f in team.findings] == [
        ("ESR205", "submissions/team01.toml", line)
    ]


def test_wrong_team_id_and_symlink(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = ps.manifest(21, "Link")
    files = ps.team_files(20, "Link", manifest_bytes=manifest)
    del files["models/team20_Link.py"]
    ps.write(repo, files)
    (repo / "models" / "team20_Link.py").symlink_to("/etc/hostname")
    ps.commit(repo, "team20")

    assert _run(repo, tmp_path / "out", capsys, "--format", "json") == 1

    (team,) = PrCheck.model_validate_json(capsys.readouterr().out).teams
    codes = {(f.code, f.path, f.line) for f in team.findings}
    assert ("ESR208", "submissions/team20.toml", _line_of(manifest.decode(), "team_id")) in codes
    assert ("ESR103", "models/team20_Link.py", None) in codes
    assert team.status == "not_built"


def test_removed_team_is_a_note(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ps.git(repo, "rm", "-q", "-r", "models/team01_Base.py", "model_zoo", "submissions")
    ps.commit(repo, "remove team01")

    assert _run(repo, tmp_path / "out", capsys, "--format", "json") == 0

    (team,) = PrCheck.model_validate_json(capsys.readouterr().out).teams
    assert team.status == "removed" and team.ok


def test_nothing_to_check(repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(repo, tmp_path / "out", capsys) == 0
    assert "no files under models/" in capsys.readouterr().out


def test_unknown_base_is_a_usage_error(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["pr", "--repo", str(repo), "--base", "no-such-ref", "--out", str(tmp_path)])
    assert code == 2
    assert "git rev-parse failed" in capsys.readouterr().err


def test_parse_name_status() -> None:
    raw = "A\0models/team16_X.py\0M\0a b\0D\0old\0R100\0from\0to\0"
    assert parse_name_status(raw) == [
        Change("A", "models/team16_X.py"),
        Change("M", "a b"),
        Change("D", "old"),
        Change("A", "to"),
    ]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("models/team5_X.py", "ESR207"),
        ("models/helpers/blocks.py", "ESR211"),  # a folder of no team
        ("models/team16_X/blocks.pyc", "ESR219"),  # a package holds .py files only
        ("models/team16_X.txt", "ESR217"),
        ("model_zoo/team16_X.bin", "ESR214"),
        ("submissions/team16_X.toml", "ESR217"),
        ("submissions/notes.toml", "ESR217"),
        ("models/__init__.py", "ESR211"),
    ],
)
def test_layout_findings(path: str, code: str) -> None:
    grouping = group_changes([Change("A", path)])
    found = grouping.findings + [f for t in grouping.teams.values() for f in t.findings]
    assert [(f.code, f.path) for f in found] == [(code, path)]


TOML = """\
# team 16
team_id = 16
"data_range" = 2.0
kwargs = { num_feat = 8 }

[checkpoint]
key = "params"

[inference]
tile = 64
"""


@pytest.mark.parametrize(
    ("key", "line"),
    [
        ("team_id", 2),
        ("data_range", 3),
        ("kwargs.num_feat", 4),  # inline table: the line that opens it
        ("checkpoint.key", 7),
        ("checkpoint.strict", 6),  # not written: its table's header
        ("inference.tile", 10),
        ("model_name", None),
    ],
)
def test_manifest_key_lines(key: str, line: int | None) -> None:
    from esr_validator.github.tomlines import key_line

    assert key_line(TOML, key) == line


def test_a_package_file_is_a_team_file() -> None:
    grouping = group_changes([Change("A", "models/team16_X/ops/blocks.py")])
    assert not grouping.findings and not grouping.teams[16].findings
    assert grouping.teams[16].changed == ["models/team16_X/ops/blocks.py"]


# BicubicPlus as a package: the class in net.py, its helper relatively imported.
PKG_NET = ps.GOOD_MODEL.replace(
    "import torch.nn.functional as F\n", "import torch.nn.functional as F\n\nfrom . import ops\n"
).replace("F.relu(self.head(x))", "ops.act(self.head(x))")
PKG_OPS = "import torch.nn.functional as F\n\n\ndef act(x):\n    return F.relu(x)\n"


def _package_team(repo: Path, ops: str = PKG_OPS) -> None:
    files = ps.team_files(16, "Pkg", manifest_bytes=ps.manifest(16, "Pkg", module="net"))
    del files["models/team16_Pkg.py"]
    files["models/team16_Pkg/net.py"] = PKG_NET.encode()
    files["models/team16_Pkg/ops.py"] = ops.encode()
    ps.write(repo, files)
    ps.commit(repo, "team16 as a package")


def test_a_package_helper_is_annotated_on_its_own_file(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _package_team(repo, ops=PKG_OPS + "\nSHAPE = eval('(1, 2)')\n")
    assert _run(repo, tmp_path / "out", capsys, "--format", "github") == 1
    found = {(a["title"].split(" ")[0], a.get("file"), a.get("line")) for a in _annotations(capsys)}
    assert any(f == "models/team16_Pkg/ops.py" and line == "7" for _, f, line in found), found
    import zipfile

    with zipfile.ZipFile(tmp_path / "out" / "team16.zip") as zf:
        assert sorted(n for n in zf.namelist() if n.startswith("models/")) == [
            "models/team16_Pkg/net.py",
            "models/team16_Pkg/ops.py",
        ]


def test_a_package_without_module_says_so(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = ps.team_files(16, "Pkg")
    del files["models/team16_Pkg.py"]
    files["models/team16_Pkg/net.py"] = PKG_NET.encode()
    files["models/team16_Pkg/ops.py"] = PKG_OPS.encode()
    ps.write(repo, files)
    ps.commit(repo, "team16 as a package, no module")
    assert _run(repo, tmp_path / "out", capsys, "--format", "github") == 1
    found = {(a["title"].split(" ")[0], a.get("file")) for a in _annotations(capsys)}
    assert ("ESR220", "submissions/team16.toml") in found


@pytest.mark.slow
def test_a_good_package_passes(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _package_team(repo)
    assert _run(repo, tmp_path / "out", capsys, "--format", "json") == 0
    check = PrCheck.model_validate_json(capsys.readouterr().out)
    (team,) = check.teams
    assert (team.team, team.status, team.ok) == ("team16", "evaluated", True)
    report = json.loads((tmp_path / "out" / "team16.report.json").read_text())
    assert report["submission"]["model_file"] == "models/team16_Pkg/net.py"
    assert report["submission"]["model_package"] == "models/team16_Pkg"
