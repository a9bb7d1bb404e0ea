"""The ruleset's environment: named as data, carried by both images, checked before a local run."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from esr_validator.cli import main
from esr_validator.intake.packages import load_packages
from esr_validator.ruleset import list_rulesets, load_ruleset
from esr_validator.ruleset_env import environment_findings, missing_in_image, missing_packages
from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import EnvironmentSpec, EnvPackage

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_submission" / "team01_TinyESR.zip"
FAKE = EnvPackage(name="esr-fake-missing", module="esr_fake_missing_pkg")
ALL = sorted(
    {(p.name, p.module) for n in list_rulesets() for p in load_ruleset(n).environment.packages}
)


def test_every_ruleset_names_its_environment_with_sources() -> None:
    for name in list_rulesets():
        env = load_ruleset(name).environment
        assert {"torch", "torchvision", "numpy"} <= {p.module for p in env.packages}, name
        assert env.sources, name


def test_environment_schema_rejects_repeats_and_uncited_lists() -> None:
    torch = EnvPackage(name="torch", module="torch")
    with pytest.raises(ValidationError, match="repeat"):
        EnvironmentSpec(packages=[torch, torch], sources=["x"])
    with pytest.raises(ValidationError, match="cite"):
        EnvironmentSpec(packages=[torch])
    with pytest.raises(ValidationError):
        EnvPackage(name="evil", module="os; import sys")


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_the_image_check_reads_the_images_package_list(variant: str) -> None:
    numpy = EnvPackage(name="numpy", module="numpy")
    assert load_packages(variant).provides("numpy") is not None
    assert missing_in_image([numpy, FAKE], variant) == [FAKE]
    ruleset = load_ruleset("ntire2024_esr")
    [said] = environment_findings(
        ruleset.model_copy(
            update={"environment": EnvironmentSpec(packages=[numpy, FAKE], sources=["t"])}
        ),
        runner="docker",
        variant=variant,
    )
    assert f"the {variant} evaluation image lacks esr-fake-missing" in said.message


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_both_images_carry_every_rulesets_environment(variant: str) -> None:
    """No ESR804 for the Docker runner: each image's package list offers every ruleset's
    packages (tests/runners/test_docker_lock.py ties the lists to the locks, and
    tests/runners/test_docker_environment.py imports them inside the CPU image)."""
    for name in list_rulesets():
        ruleset = load_ruleset(name)
        assert missing_in_image(ruleset.environment.packages, variant) == [], name
        assert environment_findings(ruleset, runner="docker", variant=variant) == [], name


def test_a_missing_package_is_found_and_present_ones_are_not() -> None:
    assert missing_packages([EnvPackage(name="torch", module="torch"), FAKE]) == [FAKE]
    honest = load_ruleset("ntire2026_esr").model_copy(
        update={
            "environment": EnvironmentSpec(
                packages=[FAKE.model_copy(update={"module": "json"})], sources=["t"]
            )
        }
    )
    assert environment_findings(honest, runner="local") == []


def _ruleset_with_fake_package(tmp_path: Path) -> Path:
    text = (ROOT / "esr_validator" / "rulesets" / "ntire2026_esr.toml").read_text()
    data = tomllib.loads(text)
    assert data["environment"]["packages"]  # the fixture adds one to the real list
    path = tmp_path / "env_fixture.toml"
    extra = '  { name = "esr-fake-missing", module = "esr_fake_missing_pkg" },\n'
    path.write_text(text.replace("packages = [\n", "packages = [\n" + extra, 1))
    return path


def test_local_run_lacking_a_ruleset_package_says_so_up_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ruleset = _ruleset_with_fake_package(tmp_path)
    args = ["validate", str(SAMPLE), "--runner", "local", "--ruleset", str(ruleset)]
    main([*args, "--runs", "1", "--stable-runs", "0", "--format", "json", "--no-progress"])
    report = Report.model_validate(json.loads(capsys.readouterr().out))
    found = [f for f in report.findings if f.code == "ESR804"]
    assert len(found) == 1 and "esr-fake-missing (`esr_fake_missing_pkg`)" in found[0].message
    expected = missing_packages(load_ruleset(str(ruleset)).environment.packages)
    for package in expected:  # exactly what this interpreter lacks, nothing it has
        assert f"{package.name} (`{package.module}`)" in found[0].message
    assert "torch (`torch`)" not in found[0].message
    assert report.complexity is not None  # a warning: the run went on
