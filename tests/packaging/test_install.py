"""Installable: the sdist and wheel build, and the wheel works from a fresh venv.

``python -m build`` builds both from a clean copy of the tracked files (so nothing of this
checkout's state leaks in); the wheel must hold the rulesets, the smoke set and the schemas,
and no stray top-level package (``validator``, ``schemas``) from before the rename. The wheel
is then installed into a new venv with torch installed first, as the README's documented
extra step does (``pip install torch==2.13.0``, the CPU build this machine carries), and
``check`` and ``validate --runner local`` run on the sample from outside the source tree.

Slow (minutes: a venv, torch and the dependencies from the package index or pip's cache);
this test is CI's packaging step (``.ci/run`` → ``make test``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_submission" / "team01_TinyESR.zip"
TORCH = "torch==2.13.0"

pytestmark = pytest.mark.slow


def _run(cmd: list[str], *, cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode in (0, 1), f"{cmd}: {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _clean_copy(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = _clean_copy(tmp_path_factory.mktemp("src"))
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the dev extra's setuptools builds it, with no index needed.
    done = _run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--no-isolation", "-o", str(out)],
        cwd=src,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_the_wheel_holds_the_package_data_and_nothing_else(dist: Path) -> None:
    (wheel,) = dist.glob("esr_validator-*.whl")
    (sdist,) = dist.glob("esr_validator-*.tar.gz")
    assert sdist.stat().st_size > 0
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"esr_validator"}
    assert not {"validator", "schemas"} & tops
    assert any(n.startswith("esr_validator/rulesets/") and n.endswith(".toml") for n in names)
    assert any(n.startswith("esr_validator/data/smoke/") for n in names)
    schemas = {n for n in names if n.endswith(".schema.json")}
    assert "esr_validator/schemas/manifest.schema.json" in schemas and len(schemas) >= 9


def test_the_wheel_installed_in_a_fresh_venv_checks_and_validates(
    dist: Path, tmp_path: Path
) -> None:
    (wheel,) = dist.glob("esr_validator-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    py = str(venv / "bin" / "python")
    _run([py, "-m", "pip", "install", "-q", TORCH], cwd=tmp_path)  # the documented extra step
    done = _run([py, "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where = _run([py, "-c", "import esr_validator; print(esr_validator.__file__)"], cwd=tmp_path)
    assert where.stdout.strip().startswith(str(venv)), where.stdout
    for stray in ("validator", "schemas"):
        probe = _run([py, "-c", f"import importlib.util as u; print(u.find_spec('{stray}'))"],
                     cwd=tmp_path)  # fmt: skip
        assert probe.stdout.strip() == "None", (stray, probe.stdout)
    cli = str(venv / "bin" / "esr-validator")
    check = _run([cli, "check", str(SAMPLE)], cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    report = tmp_path / "report.json"
    validate = _run(
        [cli, "validate", str(SAMPLE), "--runner", "local", "--runs", "1", "--stable-runs", "1",
         "--warmup", "1", "--device", "cpu", "--no-progress", "--out", str(report)],
        cwd=tmp_path,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert report.is_file() and "evaluated" in validate.stdout
