"""``pr`` on a repository laid out like the organizers': no manifest, a select_model() branch."""

from __future__ import annotations

from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.schemas.pr import PrCheck
from tests import pr_support as ps

DEMO = """\
import os.path
import torch


def select_model(args, device):
    model_id = args.model_id
    if model_id == 1:
        from models.team01_Base import BicubicPlus
        name, data_range = f"{model_id:02}_Base", 1.0
        model_path = os.path.join('model_zoo', 'team01_Base.pth')
        model = BicubicPlus()
        model.load_state_dict(torch.load(model_path), strict=True)
BRANCHES
    else:
        raise NotImplementedError(f"Model {model_id} is not implemented.")
    model.eval()
    tile = None
    return model, name, data_range, tile
"""

TEAM16 = """\
    elif model_id == 16:
        from models.team16_Good import BicubicPlus
        name, data_range = f"{model_id:02}_Good", 1.0
        model_path = os.path.join('model_zoo', 'team16_Good.pth')
        model = BicubicPlus(8)
        model.load_state_dict(torch.load(model_path), strict=True)
"""

TEAM17 = """\
    elif model_id == 17:
        import subprocess
        from models.team17_Odd import BicubicPlus
        model = BicubicPlus()
"""


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "challenge"
    path.mkdir()
    ps.git(path, "init", "-q")
    files = ps.team_files(1, "Base", with_manifest=False)
    ps.write(path, {**files, "test_demo.py": DEMO.replace("BRANCHES\n", "").encode()})
    base = ps.commit(path, "base: team01")
    ps.git(path, "checkout", "-q", "-b", "pr")
    return path, base


def _check(repo: Path, base: str, out: Path, capsys: pytest.CaptureFixture[str]) -> PrCheck:
    argv = ["pr", "--repo", str(repo), "--base", base, "--out", str(out), "--format", "json"]
    argv += ["--runner", "local"]  # pr means Docker unless told otherwise
    main([*argv, "--runs", "1", "--stable-runs", "0"])
    return PrCheck.model_validate_json(capsys.readouterr().out)


@pytest.mark.slow
def test_a_team_without_manifest_is_checked_from_its_branch(
    repo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, base = repo
    demo = DEMO.replace("BRANCHES\n", TEAM16)
    ps.write(
        path, {**ps.team_files(16, "Good", with_manifest=False), "test_demo.py": demo.encode()}
    )
    ps.commit(path, "team16 as the organizers would add it")

    check = _check(path, base, tmp_path / "out", capsys)

    (team,) = check.teams
    codes = {f.code for f in team.findings}
    assert "ESR201" not in codes and "ESR906" in codes
    assert (team.team, team.status, team.ok) == ("team16", "evaluated", True)
    assert (tmp_path / "out" / "team16.zip").is_file()


def test_an_inexpressible_branch_is_a_finding_on_its_line(
    repo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, base = repo
    demo = DEMO.replace("BRANCHES\n", TEAM17)
    ps.write(path, {**ps.team_files(17, "Odd", with_manifest=False), "test_demo.py": demo.encode()})
    ps.commit(path, "team17")

    check = _check(path, base, tmp_path / "out", capsys)

    (team,) = check.teams
    (found,) = [f for f in team.findings if f.code == "ESR901"]
    assert found.path == "test_demo.py"
    assert found.line == demo.splitlines().index("        import subprocess") + 1
    assert not team.ok and "ESR201" not in {f.code for f in team.findings}


TEAM18 = """\
    elif model_id == 18:
        from models.team18_pkg.net import BicubicPlus
        name, data_range = f"{model_id:02}_pkg", 1.0
        model_path = os.path.join('model_zoo', 'team18_pkg.pth')
        model = BicubicPlus()
        model.load_state_dict(torch.load(model_path), strict=True)
"""


@pytest.mark.slow
def test_a_package_from_its_branch_carries_what_it_imports(
    repo: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 2022-style pull request: the model is a package, read from its branch; the zip
    carries the files the model imports, not the folder's unused helper (which reaches a
    file of the repository the submission does not hold)."""
    path, base = repo
    files = ps.team_files(18, "pkg", with_manifest=False)
    del files["models/team18_pkg.py"]
    files["models/team18_pkg/__init__.py"] = b""
    net = ps.GOOD_MODEL.replace(
        "import torch.nn as nn\n", "import torch.nn as nn\n\nfrom . import ops\n"
    )
    files["models/team18_pkg/net.py"] = net.replace("F.relu(", "ops.act(").encode()
    files["models/team18_pkg/ops.py"] = b"import torch.nn.functional as F\n\nact = F.relu\n"
    files["models/team18_pkg/unused.py"] = b"import models.basicblock as B\n"
    demo = DEMO.replace("BRANCHES\n", TEAM18)
    ps.write(path, {**files, "test_demo.py": demo.encode()})
    ps.commit(path, "team18 as a package")

    check = _check(path, base, tmp_path / "out", capsys)

    (team,) = check.teams
    assert (team.team, team.status, team.ok) == ("team18", "evaluated", True), team.findings
    import zipfile

    with zipfile.ZipFile(tmp_path / "out" / "team18.zip") as zf:
        models = sorted(n for n in zf.namelist() if n.startswith("models/"))
    assert models == [f"models/team18_pkg/{f}" for f in ("__init__.py", "net.py", "ops.py")]
