"""``.pre-commit-hooks.yaml`` is a valid hook manifest (checked by pre-commit's own loader),
its file patterns select a challenge repository's submission files, and its entry commands,
run directly as pre-commit would run them (no network, no hook install), pass an honest team
and fail a broken one with the right findings."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_submission"
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict[str, object]]:
    clientlib = pytest.importorskip("pre_commit.clientlib")
    loaded = clientlib.load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    return {h["id"]: h for h in loaded}


def _repo(tmp_path: Path) -> Path:
    """A challenge repository: team 01 is the sample, team 02 is broken."""
    repo = tmp_path / "challenge"
    for d in ("models", "model_zoo", "submissions"):
        (repo / d).mkdir(parents=True)
    shutil.copy(SAMPLE / "submission.toml", repo / "submissions" / "team01.toml")
    shutil.copy(SAMPLE / "models" / "team01_TinyESR.py", repo / "models")
    shutil.copy(SAMPLE / "model_zoo" / "team01_TinyESR.pth", repo / "model_zoo")
    (repo / "submissions" / "team02.toml").write_text(
        'team_id = 3\nteam_name = "x"\nmodel_name = "Bad"\nclass_name = "Bad"\ndata_range = 2.0\n'
    )
    (repo / "models" / "team02_Bad.py").write_text("import os\nos.system('id')\n")
    return repo


def _run(entry: str, repo: Path, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / entry), *files], cwd=repo, capture_output=True, text=True, timeout=300
    )


def test_hook_manifest_is_valid_and_entries_are_installed_scripts(
    hooks: dict[str, dict[str, object]],
) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(hooks) == {"esr-manifest", "esr-check-teams"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["entry"] in scripts, "an entry must be a console script of this package"
        assert (BIN / str(hook["entry"])).is_file()


@pytest.mark.parametrize(
    ("hook", "path", "selected"),
    [
        ("esr-manifest", "submissions/team16.toml", True),
        ("esr-manifest", "submissions/notes.toml", False),
        ("esr-manifest", "pyproject.toml", False),
        ("esr-check-teams", "models/team16_X.py", True),
        ("esr-check-teams", "model_zoo/team16_X.pth", True),
        ("esr-check-teams", "submissions/team16.toml", True),
        ("esr-check-teams", "README.md", False),
    ],
)
def test_file_patterns(
    hooks: dict[str, dict[str, object]], hook: str, path: str, selected: bool
) -> None:
    assert bool(re.search(str(hooks[hook]["files"]), path)) is selected


def test_manifest_hook(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    good = _run("esr-validator-manifest", repo, "submissions/team01.toml")
    assert good.returncode == 0, good.stdout
    bad = _run("esr-validator-manifest", repo, "submissions/team01.toml", "submissions/team02.toml")
    assert bad.returncode == 1
    assert "submissions/team02.toml:5: ESR" in bad.stdout and "data_range" in bad.stdout
    assert "team01" not in bad.stdout
    (repo / "submissions" / "team02.toml").write_text(
        (SAMPLE / "submission.toml").read_text()  # team_id 1 in team02.toml
    )
    mismatch = _run("esr-validator-manifest", repo, "submissions/team02.toml")
    assert mismatch.returncode == 1 and "team_id is 1" in mismatch.stdout


def test_check_teams_hook(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    good = _run("esr-validator-check-teams", repo, "models/team01_TinyESR.py")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "PASS team01" in good.stdout
    both = _run(
        "esr-validator-check-teams", repo, "models/team01_TinyESR.py", "models/team02_Bad.py"
    )
    assert both.returncode == 1
    assert "PASS team01" in both.stdout and "FAIL team02" in both.stdout
    # The broken team's problems name repository paths: its manifest and its model file.
    assert "submissions/team02.toml" in both.stdout
    assert "models/team02_Bad.py" in both.stdout
