"""`make venv`: the rulesets' environment beside the CPU torch 2.13.0, which nothing may move.

The developers' venv keeps torch 2.13.0 (the CPU build this kind of machine carries). It adds
the rulesets' packages that import without torchvision (requirements/venv-*.txt), every
install after torch under requirements/venv-constraints.txt. What is left out (torchvision,
timm, basicsr: each imports torchvision) a local run reports as ESR804.

The constraint file is tested against pip itself, on wheels these tests write (a newer torch,
a torchvision, packages that want them), with no index and no pip configuration.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from esr_validator.ruleset import list_rulesets, load_ruleset
from esr_validator.ruleset_env import environment_findings, missing_packages

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
CONSTRAINTS = REQ / "venv-constraints.txt"
# Left out of the venv: each imports torchvision at import time (timm.layers,
# basicsr.utils.img_util), and no torchvision runs beside the CPU torch.
LEFT_OUT = {"torchvision", "timm", "basicsr"}
# The validator's own dependencies (pyproject.toml) carry these.
OWN = {"torch", "numpy", "pillow", "opencv-python"}
# Distribution name in the venv lists for a ruleset's name where they differ.
PROVIDED_AS = {"mmcv": "mmcv-lite"}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _listed(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, spec = re.match(r"([A-Za-z0-9_.-]+)(.*)", line.strip()).groups()  # type: ignore[union-attr]
            pins[_canon(name)] = spec
    return pins


def _wheel(where: Path, name: str, version: str, *requires: str) -> None:
    """A minimal wheel: enough metadata for pip's resolver (a dry run never installs it)."""
    info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(where / f"{name}-{version}-py3-none-any.whl", "w") as whl:
        whl.writestr(f"{info}/METADATA", meta)
        tags = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        whl.writestr(f"{info}/WHEEL", tags)
        whl.writestr(f"{info}/RECORD", "")


def _resolve(links: Path, *args: str, tmp: Path) -> tuple[int, dict[str, str], str]:
    """pip's dry run from ``links`` alone: (exit status, {name: version}, stderr)."""
    report = tmp / "report.json"
    report.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "-q"]
    cmd += ["--ignore-installed", "--no-index", "--find-links", str(links)]
    done = subprocess.run(
        [*cmd, "--report", str(report), *args], capture_output=True, text=True, timeout=120
    )
    found = {}
    if done.returncode == 0:
        for item in json.loads(report.read_text())["install"]:
            found[_canon(item["metadata"]["name"])] = item["metadata"]["version"]
    return done.returncode, found, done.stderr


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    links = tmp_path_factory.mktemp("links")
    _wheel(links, "torch", "2.13.0")
    _wheel(links, "torch", "2.14.1")
    _wheel(links, "torchvision", "0.29.1", "torch==2.14.1")
    _wheel(links, "torchvision", "0.28.0", "torch==2.13.0")
    _wheel(links, "wants_new_torch", "1.0", "torch>=2.14")
    _wheel(links, "wants_vision", "1.0", "torchvision")
    _wheel(links, "wants_torch", "1.0", "torch")
    return links


def test_without_constraints_pip_would_take_the_newer_torch(index: Path, tmp_path: Path) -> None:
    """The control: these fixtures do move torch when nothing holds it."""
    status, found, _ = _resolve(index, "wants_torch", "wants_vision", tmp=tmp_path)
    assert status == 0 and found["torch"] == "2.14.1" and "torchvision" in found


def test_the_constraints_hold_torch_at_the_cpu_release(index: Path, tmp_path: Path) -> None:
    status, found, _ = _resolve(index, "-c", str(CONSTRAINTS), "wants_torch", tmp=tmp_path)
    assert status == 0 and found["torch"] == "2.13.0"
    for asks in ("wants_new_torch", "torch==2.14.1", "wants_vision", "torchvision"):
        status, found, err = _resolve(index, "-c", str(CONSTRAINTS), asks, tmp=tmp_path)
        assert status != 0 and found == {}, asks
        assert "ResolutionImpossible" in err or "conflict" in err.lower(), (asks, err[-500:])


def test_every_venv_install_after_torch_runs_under_the_constraints() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    installs = [line for line in recipe.replace("\\\n", " ").splitlines() if "pip install" in line]
    torch_line = next(i for i, line in enumerate(installs) if "torch==" in line)
    assert re.search(r"torch==([\w.+]+)", installs[torch_line]).group(1) == "2.13.0"  # type: ignore[union-attr]
    assert _listed(CONSTRAINTS)["torch"] == "==2.13.0"
    after = installs[torch_line + 1 :]
    assert len(after) >= 3  # the validator, the ruleset packages, the --no-deps ones
    assert all("-c $(VREQ)/venv-constraints.txt" in line for line in after), after
    assert any("venv-ruleset.txt" in line for line in after)
    assert any("--no-deps" in line and "venv-nodeps.txt" in line for line in after)


def test_the_venv_lists_cover_every_ruleset_package_but_the_torchvision_ones() -> None:
    listed = _listed(REQ / "venv-ruleset.txt") | _listed(REQ / "venv-nodeps.txt")
    assert not LEFT_OUT & set(listed) and "torch" not in listed
    for name in list_rulesets():
        for package in load_ruleset(name).environment.packages:
            wanted = _canon(PROVIDED_AS.get(package.name, package.name))
            assert wanted in listed or wanted in OWN | LEFT_OUT, (name, package.name)
    cpu_lock = (ROOT / "docker" / "requirements-cpu.lock").read_text()
    for dist, spec in listed.items():  # the image's versions, where the venv pins one
        if spec.startswith("=="):
            assert re.search(rf"^{dist}{re.escape(spec)} ", cpu_lock, re.M), dist


def test_what_the_venv_offers_imports_without_torchvision() -> None:
    """thop, mmcv-lite's bricks and the rest import here, and none of them loads torchvision."""
    modules = ["einops", "tqdm", "thop", "huggingface_hub", "matplotlib", "scipy", "skimage"]
    code = (
        "import importlib, sys, torch\n"
        f"for m in {[*modules, 'mmcv', 'mmcv.cnn', 'mmengine']!r}: importlib.import_module(m)\n"
        "from mmcv.cnn import ConvModule\n"
        "y = ConvModule(3, 4, 3, padding=1)(torch.zeros(1, 3, 8, 8))\n"
        "print(torch.__version__, y.shape[1], 'torchvision' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    version, channels, loaded = done.stdout.split()
    assert version.split("+")[0] == "2.13.0" and channels == "4" and loaded == "False"


def test_a_local_run_names_what_the_venv_leaves_out() -> None:
    """ESR804 for the 2024 ruleset in this venv: exactly torchvision, timm and basicsr."""
    ruleset = load_ruleset("ntire2024_esr")
    missing = {p.name for p in missing_packages(ruleset.environment.packages)}
    assert missing == LEFT_OUT
    [said] = environment_findings(ruleset, runner="local")
    assert said.code == "ESR804"
    for name in LEFT_OUT:
        assert f"{name} (`{name}`)" in said.message
    assert "mmcv" not in said.message and "thop" not in said.message
