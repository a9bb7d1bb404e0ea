"""The Codabench bundle, run the way Codabench's compute worker runs it.

Each step gets the folders the worker mounts (``compute_worker.py``: prediction:
/app/program = ingestion program, /app/ingested_program = the unzipped submission,
/app/input_data, /app/output; scoring: /app/program = scoring program, /app/input/ref,
/app/input/res = the prediction output, /app/output), the command from the program's
metadata.yaml split on single spaces with no shell, and /app/program as working directory.
Here /app is a temporary folder (the real worker uses docker mounts): the command's
``/app/`` prefix is the only thing rewritten.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import cv2
import pytest
import yaml

from esr_validator.cli import main
from esr_validator.codabench.results import columns
from esr_validator.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_ZIP = ROOT / "sample_submission" / "team01_TinyESR.zip"
RULESET = "ntire2024_esr"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "b"
    argv = ["codabench", "bundle", "--ruleset", RULESET, "-o", str(out), "--image", "img:tag"]
    assert main(argv) == 0
    return out


def _command(program: Path, app: Path) -> list[str]:
    meta = yaml.safe_load((program / "metadata.yaml").read_text())
    parts: list[str] = meta["command"].split(" ")
    assert parts[0] == "python"
    return [sys.executable, *(p.replace("/app/", f"{app}/") for p in parts[1:])]


def _predict(bundle: Path, app: Path, submission: Path) -> subprocess.CompletedProcess[str]:
    shutil.copytree(bundle / "ingestion_program", app / "program")
    with zipfile.ZipFile(submission) as zf:
        zf.extractall(app / "ingested_program")
    shutil.copytree(bundle / "input_data", app / "input_data")
    (app / "output").mkdir()
    cmd = _command(app / "program", app)
    return subprocess.run(
        cmd, cwd=app / "program", capture_output=True, text=True, timeout=900, check=False
    )


def _score(bundle: Path, app: Path, prediction: Path) -> subprocess.CompletedProcess[str]:
    shutil.copytree(bundle / "scoring_program", app / "program")
    shutil.copytree(bundle / "reference_data", app / "input" / "ref")
    shutil.copytree(prediction, app / "input" / "res")
    (app / "output").mkdir()
    cmd = _command(app / "program", app)
    return subprocess.run(
        cmd, cwd=app / "program", capture_output=True, text=True, timeout=900, check=False
    )


def test_competition_yaml_follows_codabench_v2(bundle: Path) -> None:
    doc = yaml.safe_load((bundle / "competition.yaml").read_text())
    assert doc["version"] == 2 and doc["docker_image"] == "img:tag"
    for key in ("image", "terms"):
        assert (bundle / doc[key]).is_file()
    (task,) = doc["tasks"]
    for key in ("input_data", "reference_data", "ingestion_program", "scoring_program"):
        assert (bundle / task[key]).is_dir()
    keys = [c["key"] for c in doc["leaderboards"][0]["columns"]]
    assert keys == [c.key for c in columns(load_ruleset(RULESET))]


def test_input_data_holds_no_ground_truth(bundle: Path) -> None:
    """The ingestion side (where the submission's code runs) gets LR only."""
    hr = {
        hashlib.sha256(p.read_bytes()).hexdigest(): p for p in bundle.glob("reference_data/*_HR/*")
    }
    assert hr
    for lr in (bundle / "input_data").rglob("*.png"):
        assert hashlib.sha256(lr.read_bytes()).hexdigest() not in hr
        image = cv2.imread(str(lr))
        hr_image = cv2.imread(
            str(bundle / "reference_data" / f"DIV2K_LSDIR_{lr.parent.name}_HR" / lr.name)
        )
        assert image.shape[0] == hr_image.shape[0] // 4  # LR size: HR mod-cropped, /4
    meta = yaml.safe_load((bundle / "ingestion_program" / "metadata.yaml").read_text())
    assert "/app/input/ref" not in meta["command"] and "/app/input " not in meta["command"]


def test_sample_submission_end_to_end(bundle: Path, tmp_path: Path) -> None:
    predicted = _predict(bundle, tmp_path / "p" / "app", SAMPLE_ZIP)
    assert predicted.returncode == 0, predicted.stderr
    out = tmp_path / "p" / "app" / "output"
    assert (out / "worker" / "result.json").is_file()
    assert not list(out.rglob("*_HR*"))
    scored = _score(bundle, tmp_path / "s" / "app", out)
    assert scored.returncode == 0, scored.stderr
    final = tmp_path / "s" / "app" / "output"
    scores = json.loads((final / "scores.json").read_text())
    report = json.loads((final / "report.json").read_text())
    assert report["status"] == "evaluated", report["findings"]
    psnr = {s["split"]: s["psnr"] for s in report["splits"]}
    assert scores["psnr_valid"] == pytest.approx(psnr["valid"]) and 20 < psnr["valid"] < 60
    assert scores["params_m"] == pytest.approx(report["complexity"]["params_m"])
    assert set(scores) <= {c.key for c in columns(load_ruleset(RULESET))}
    assert "team01_TinyESR" in (final / "detailed_results.html").read_text()


def test_failing_submission_reports_findings_without_scores(bundle: Path, tmp_path: Path) -> None:
    bad = tmp_path / "team02_Bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("submission.toml", "team_id = 2\ndata_range = 2.0\n")
        zf.writestr("models/team02_Bad.py", "import os\nos.system('id')\n")
    predicted = _predict(bundle, tmp_path / "p" / "app", bad)
    assert predicted.returncode == 0, predicted.stderr
    out = tmp_path / "p" / "app" / "output"
    assert not (out / "worker").exists()  # nothing ran
    scored = _score(bundle, tmp_path / "s" / "app", out)
    final = tmp_path / "s" / "app" / "output"
    assert scored.returncode == 1 and not (final / "scores.json").exists()
    html = (final / "detailed_results.html").read_text()
    assert "data_range" in html and "ESR212" in html  # the invalid manifest, no checkpoint


def test_forged_prediction_output_is_checked_again(bundle: Path, tmp_path: Path) -> None:
    """The prediction output is hostile: a forged intake verdict and a swapped-in broken zip
    do not pass; the scorer runs the static checks itself."""
    predicted = _predict(bundle, tmp_path / "p" / "app", SAMPLE_ZIP)
    assert predicted.returncode == 0, predicted.stderr
    out = tmp_path / "p" / "app" / "output"
    (out / "intake.json").write_text('{"runnable": true, "findings": 0}')
    with zipfile.ZipFile(out / "submission.zip", "w") as zf:
        zf.writestr("submission.toml", "data_range = 2.0\n")
    scored = _score(bundle, tmp_path / "s" / "app", out)
    assert scored.returncode == 1
    report = json.loads((tmp_path / "s" / "app" / "output" / "report.json").read_text())
    assert report["status"] == "invalid"
