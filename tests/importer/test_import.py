"""``esr-validator import`` on a fake challenge repository reproducing every real pattern."""

from __future__ import annotations

import json
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from esr_validator.cli import main
from esr_validator.errors import EXIT_FINDINGS
from esr_validator.importer import import_repo
from esr_validator.sandbox.forward import make_forward
from esr_validator.sandbox.loader import load_model, place_model
from esr_validator.schemas.manifest import Manifest
from tests.importer import fake_challenge as fc


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fc.build(tmp_path_factory.mktemp("challenge"))


@pytest.fixture(scope="module")
def imported(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    out = tmp_path_factory.mktemp("zips")
    return {row.team_id: row for row in import_repo(repo, out)}


@pytest.mark.parametrize("team", sorted(fc.EXPECTED))
def test_each_pattern_becomes_manifest_data(imported: dict[int, Any], team: int) -> None:
    row = imported[team]
    assert row.findings == []
    expected = {"data_range": 1.0, **fc.EXPECTED[team]}
    got = {
        k: v for k, v in row.manifest.items() if k not in ("schema_version", "team_id", "team_name")
    }
    assert got == expected
    assert row.zip is not None and Path(row.zip).name == f"team{team:02d}.zip"


@pytest.mark.parametrize("team", sorted(fc.FAILING))
def test_inexpressible_branches_get_a_finding_naming_the_line(
    imported: dict[int, Any], team: int
) -> None:
    code, line = fc.FAILING[team]
    row = imported[team]
    assert row.zip is None
    assert [f.code for f in row.findings] == [code]
    if line is not None:
        assert row.findings[0].line == line and f"line {line}" in row.findings[0].message


@pytest.fixture
def demo(repo: Path) -> Iterator[types.ModuleType]:
    """The fixture's own test_demo.py, imported: the reference the manifests must match."""
    sys.path.insert(0, str(repo))
    finders = list(sys.meta_path)
    try:
        module = types.ModuleType("fake_demo")
        exec(compile(fc.DEMO, str(repo / "test_demo.py"), "exec"), module.__dict__)
        yield module
    finally:
        sys.path.remove(str(repo))
        sys.meta_path[:] = finders  # the loader's package finder, for packaged teams
        for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
            del sys.modules[name]


@pytest.mark.parametrize("team", sorted(fc.EXPECTED))
def test_imported_zip_behaves_like_the_branch(
    repo: Path, imported: dict[int, Any], demo: types.ModuleType, tmp_path: Path, team: int
) -> None:
    lr = torch.rand(1, 3, 20, 28, generator=torch.Generator().manual_seed(team))
    cwd = Path.cwd()
    try:
        import os

        os.chdir(repo)  # the branches open model_zoo/... relative to the checkout
        args = types.SimpleNamespace(model_id=team)
        ref_model, _, _, tile = demo.select_model(args, torch.device("cpu"))
        with torch.no_grad():
            expected = demo.run(ref_model, args, lr, tile)
    finally:
        os.chdir(cwd)
    with zipfile.ZipFile(imported[team].zip) as zf:
        zf.extractall(tmp_path)
        manifest = Manifest.model_validate(
            __import__("tomllib").loads(zf.read("submission.toml").decode())
        )
    ckpt = next((tmp_path / "model_zoo").iterdir())
    if manifest.module is None:
        model = load_model(tmp_path / "models" / f"{manifest.stem}.py", ckpt, manifest)
    else:
        folder = tmp_path / "models" / manifest.stem
        module = folder / (manifest.module.replace(".", "/") + ".py")
        model = load_model(module, ckpt, manifest, package=folder)
    model = place_model(model, torch.device("cpu"), manifest)
    with torch.no_grad():
        got = make_forward(model, manifest.inference, scale=4)(lr)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_cli_prints_one_line_per_team_and_json(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", str(repo), "--out", str(tmp_path / "z")]) == EXIT_FINDINGS
    text = capsys.readouterr().out
    branches = len(fc.EXPECTED) + len(fc.FAILING)
    assert f"{branches} branches, {len(fc.EXPECTED)} zips written" in text
    assert sum(1 for line in text.splitlines() if "zip written" in line) == len(fc.EXPECTED)
    assert main(["import", str(repo), "--format", "json"]) == EXIT_FINDINGS
    rows = json.loads(capsys.readouterr().out)
    assert [r["team_id"] for r in rows] == [0, 1, *range(2, 11), *range(12, 23)]
    assert not (tmp_path / "none").exists()


def test_not_a_challenge_repository_is_a_clean_error(tmp_path: Path) -> None:
    assert main(["import", str(tmp_path)]) != 0


def test_a_torch_checkpoint_named_pkl_is_packed_as_pth(imported: dict[int, Any]) -> None:
    """torch.save under another extension loads the same: packed under .pth, it passes
    intake; the organizers' branch loaded it with torch.load as it was."""
    with zipfile.ZipFile(imported[16].zip) as zf:
        assert "model_zoo/team16_Pkl.pth" in zf.namelist()
    from esr_validator.intake.check import run_intake

    with run_intake(Path(imported[16].zip)) as intake:
        assert not [f.code for f in intake.findings if f.severity == "error"]


def test_only_what_torch_wrote_changes_extension(tmp_path: Path) -> None:
    import pickle

    from esr_validator.pack import checkpoint_suffix

    zipped, legacy, plain = tmp_path / "a.pkl", tmp_path / "b.PKL", tmp_path / "c.pkl"
    torch.save({"w": torch.zeros(2)}, zipped)
    torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
    plain.write_bytes(pickle.dumps({"w": [0.0, 0.0]}))
    assert [checkpoint_suffix(p) for p in (zipped, legacy, plain)] == [".pth", ".pth", ".pkl"]
    kept = tmp_path / "d.PT"
    kept.write_bytes(b"anything")
    assert checkpoint_suffix(kept) == ".pt"


@pytest.mark.parametrize("team", sorted(t for t in fc.PACKAGES if t in fc.EXPECTED))
def test_a_package_carries_the_files_its_module_imports(
    imported: dict[int, Any], team: int
) -> None:
    """The files importing the entry module runs, renamed to the zip's teamNN_<Name>; a
    helper nothing imports stays behind."""
    with zipfile.ZipFile(imported[team].zip) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("models/"))
    stem = f"team{team:02d}_{fc.EXPECTED[team]['model_name']}"
    assert names == [f"models/{stem}/{f}" for f in fc.PACKAGES[team][1]]


def test_a_package_importing_itself_by_its_old_name(imported: dict[int, Any]) -> None:
    (found,) = imported[20].findings
    assert "imports its package by its folder name models.rfdn_like" in found.message
    assert found.path == "models/rfdn_like/net.py" and found.line == 4


def test_a_branch_building_an_extension_says_so(imported: dict[int, Any]) -> None:
    """2026 team 22 built a CUDA extension with ``setup.py build_ext`` inside its branch."""
    (found,) = imported[22].findings
    assert "builds a native (CUDA/C++) extension at run time" in found.message
    assert "`setup.py build_ext`" in found.message
    (plain,) = imported[10].findings  # a subprocess import alone is not an extension build
    assert "extension" not in plain.message
