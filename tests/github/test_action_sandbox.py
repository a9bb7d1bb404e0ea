"""The action runs pull requests in the Docker sandbox, and builds the CPU image cached.

The steps' shell scripts are run here for real (bash, sha256sum, find), with the variables
the runner would set, so what is checked is what the runner would execute, not a reading
of the YAML alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.github.test_workflows import ACTION, EXAMPLE, ROOT, _load, _step


def _run_step(
    name_part: str, env: dict[str, str], tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run one step's script as the runner would: its env, a GITHUB_OUTPUT file, bash."""
    _, step = _step(_load(ACTION), name_part)
    output = tmp_path / "github_output"
    output.write_text("")
    full = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(tmp_path),
        **env,
    }
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )
    values = dict(
        line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
    )
    return done, values


def _inputs(tmp_path: Path, **values: str) -> tuple[subprocess.CompletedProcess[str], str]:
    env = {"ESR_RUNNER_KIND": "docker", "VALIDATOR": "", "DEVICE": "cpu", "BUILD_IMAGE": "true"}
    env.update(values)
    done, outputs = _run_step("Check the inputs", env, tmp_path)
    return done, outputs.get("build-image", "")


# -- the runner --------------------------------------------------------------------------
def test_the_default_runner_is_docker() -> None:
    action = _load(ACTION)
    assert action["inputs"]["runner"]["default"] == "docker"
    _, check = _step(action, "Check the pull request")
    assert check["env"]["ESR_RUNNER_KIND"] == "${{ inputs.runner }}"
    assert '--runner "$ESR_RUNNER_KIND"' in check["run"]


def test_the_example_runs_both_jobs_in_the_sandbox() -> None:
    jobs = _load(EXAMPLE)["jobs"]
    for name in ("check", "gpu-timing"):
        validate = jobs[name]["steps"][1]
        assert validate["uses"].startswith("ntire-esr/esr-validator@")
        assert validate["with"]["runner"] == "docker", name


def test_no_workflow_of_the_project_runs_a_model_unsandboxed() -> None:
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        workflow = _load(path)
        for job in workflow["jobs"].values():
            for step in job.get("steps", []):
                if step.get("uses") == "./":
                    assert step.get("with", {}).get("runner", "docker") == "docker", path


def test_docker_is_accepted_and_builds_the_cpu_image(tmp_path: Path) -> None:
    done, build = _inputs(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert build == "true"
    assert "::" not in done.stdout  # no warning, no error


def test_local_runs_only_when_asked_and_says_so(tmp_path: Path) -> None:
    done, build = _inputs(tmp_path, ESR_RUNNER_KIND="local")
    assert done.returncode == 0, done.stderr
    assert build == "false"  # no image for an unsandboxed run
    assert done.stdout.startswith("::warning title=esr-validator::runner local")


@pytest.mark.parametrize("value", ["", "auto", "Local", "LOCAL", "dockerd", "local ", "none"])
def test_anything_else_is_refused_never_read_as_local(tmp_path: Path, value: str) -> None:
    done, build = _inputs(tmp_path, ESR_RUNNER_KIND=value)
    assert done.returncode == 2
    assert build == ""
    assert "::error title=esr-validator::runner must be docker or local" in done.stdout


def test_a_foreign_validator_needs_the_local_runner(tmp_path: Path) -> None:
    # The image is built from the action's source: another validator would not match it.
    done, _ = _inputs(tmp_path, VALIDATOR="esr-validator==0.1.0")
    assert done.returncode == 2
    assert "needs runner local" in done.stdout
    done, _ = _inputs(tmp_path, VALIDATOR="esr-validator==0.1.0", ESR_RUNNER_KIND="local")
    assert done.returncode == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"DEVICE": "cuda"}, "false"), ({"BUILD_IMAGE": "false"}, "false"), ({}, "true")],
)
def test_the_cpu_image_is_built_only_for_docker_on_cpu(
    tmp_path: Path, values: dict[str, str], expected: str
) -> None:
    done, build = _inputs(tmp_path, **values)
    assert done.returncode == 0, done.stdout
    assert build == expected


def test_build_image_takes_only_true_or_false(tmp_path: Path) -> None:
    done, _ = _inputs(tmp_path, BUILD_IMAGE="yes")
    assert done.returncode == 2


def test_the_docker_install_is_the_actions_own_source_with_the_sdk() -> None:
    _, install = _step(_load(ACTION), "Install esr-validator")
    assert '--editable "$GITHUB_ACTION_PATH[docker]"' in install["run"]
    assert "-I -m pip" in install["run"]


# -- the image and its cache -------------------------------------------------------------
IMAGE_STEPS = (
    "Key the cached image",
    "Restore the cached image",
    "Load the cached image",
    "Build the CPU evaluation image",
    "Save the image to the cache",
    "Check the image",
    "Check the pull request",
)


def test_the_image_is_cached_and_checked_before_any_submission_code_runs() -> None:
    action = _load(ACTION)
    found = [_step(action, name) for name in IMAGE_STEPS]
    order = [i for i, _ in found]
    assert order == sorted(order), dict(zip(IMAGE_STEPS, order, strict=True))
    steps: dict[str, dict[str, Any]] = {n: s for n, (_, s) in zip(IMAGE_STEPS, found, strict=True)}
    restore, save = steps["Restore the cached image"], steps["Save the image to the cache"]
    assert restore["uses"].startswith("actions/cache/restore@")
    assert save["uses"].startswith("actions/cache/save@")
    assert restore["with"] == save["with"]
    assert restore["with"]["key"] == "${{ steps.image-key.outputs.key }}"
    hit = "steps.image-cache.outputs.cache-hit"
    assert f"{hit} == 'true'" in steps["Load the cached image"]["if"]
    for miss in ("Build the CPU evaluation image", "Save the image to the cache"):
        assert f"{hit} != 'true'" in steps[miss]["if"]
    for name in IMAGE_STEPS[:-1]:
        assert "steps.options.outputs.build-image == 'true'" in steps[name]["if"], name
    # Built by the same script as the project's CI, saved with its base (the tag is checked
    # against the base's id), and checked without building.
    build = steps["Build the CPU evaluation image"]["run"]
    assert "scripts/ci_docker_setup.sh" in build
    assert 'docker save --output "$RUNNER_TEMP/esr-image/image.tar" "$tag" "$base"' in build
    assert "esr_validator.runners.image check --variant cpu" in steps["Check the image"]["run"]


def _action_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "action"
    for name in ("docker", "scripts", "esr_validator"):
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in ("action.yml", "README.md", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    return copy


def _image_key(copy: Path, tmp_path: Path) -> str:
    done, outputs = _run_step("Key the cached image", {"GITHUB_ACTION_PATH": str(copy)}, tmp_path)
    assert done.returncode == 0, done.stderr
    key = outputs["key"]
    assert key.startswith("esr-image-cpu-Linux-")
    return key


@pytest.mark.parametrize(
    "changed",
    [
        "docker/requirements-cpu.lock",
        "docker/Dockerfile",
        "docker/pins.toml",
        "scripts/make_base_image.sh",
        "scripts/make_wheelhouse.sh",
        "esr_validator/sandbox/__init__.py",
        "esr_validator/runners/image.py",
    ],
)
def test_the_image_key_changes_with_what_goes_into_the_image(
    tmp_path: Path, changed: str
) -> None:
    copy = _action_copy(tmp_path)
    before = _image_key(copy, tmp_path)
    assert _image_key(copy, tmp_path) == before  # deterministic
    with (copy / changed).open("a") as handle:
        handle.write("\n# changed\n")
    assert _image_key(copy, tmp_path) != before


def test_the_image_key_ignores_what_is_not_in_the_image(tmp_path: Path) -> None:
    copy = _action_copy(tmp_path)
    before = _image_key(copy, tmp_path)
    (copy / "README.md").write_text("changed\n")
    (copy / "esr_validator" / "__pycache__").mkdir(exist_ok=True)
    (copy / "esr_validator" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    assert _image_key(copy, tmp_path) == before


def test_the_image_key_covers_every_file_the_image_tag_hashes(tmp_path: Path) -> None:
    """A new image tag must mean a new cache key: the key hashes a superset of the tag's
    inputs (image.content_hash), so a cached image is never one of older sources."""
    from esr_validator.runners import image

    copy = _action_copy(tmp_path)
    pins = image.load_pins("cpu", copy)
    tagged = {
        p.relative_to(copy).as_posix()
        for p in [copy / "docker" / "Dockerfile", copy / pins.lock, *image._harness_files(copy)]
    }
    # sha256sum, wrapped to log the files it is given, then the real one.
    shim, log = tmp_path / "bin", tmp_path / "hashed.txt"
    shim.mkdir()
    real = shutil.which("sha256sum")
    (shim / "sha256sum").write_text(
        f'#!/bin/bash\nprintf "%s\\n" "$@" >> {log}\nexec {real} "$@"\n'
    )
    (shim / "sha256sum").chmod(0o755)
    done, _ = _run_step(
        "Key the cached image",
        {"GITHUB_ACTION_PATH": str(copy), "PATH": f"{shim}:{os.environ['PATH']}"},
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    hashed = set(log.read_text().split())
    assert tagged and tagged <= hashed, sorted(tagged - hashed)[:5]
    assert "docker/pins.toml" in hashed
