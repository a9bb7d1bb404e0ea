"""Settings resolve in one order: defaults, command profile, ruleset, environment, command line."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError

import pytest

from esr_validator.cli import build_parser
from esr_validator.errors import UsageError
from esr_validator.settings import resolve


def _cli(*argv: str, command: str = "validate") -> dict[str, object]:
    head = {"validate": ["validate", "z.zip"], "pr": ["pr", "--repo", ".", "--base", "HEAD"]}
    return vars(build_parser().parse_args([*head[command], *argv]))


def test_the_command_line_leaves_unset_what_it_was_not_given() -> None:
    given = {k: v for k, v in _cli().items() if v is not None and k not in ("zip", "command")}
    assert given == {"traceback": False, "calibrate": False, "format": "text", "no_progress": False}


def test_each_layer_overrides_the_one_before() -> None:
    env: dict[str, str] = {}
    assert resolve(_cli(), env=env, gpu=None).runs == 5  # the 2024 ruleset's runs
    assert resolve(_cli("--ruleset", "ntire2022_esr"), env=env, gpu=None).runs == 1  # its own
    assert resolve(_cli("--ruleset", "ntire2022_esr", "--runs", "3"), env=env, gpu=None).runs == 3
    pr = resolve(_cli(command="pr"), command="pr", env=env, gpu=None)
    assert (pr.runs, pr.warmup, pr.timeout_s) == (1, 1, 900.0)  # the profile
    assert pr.runner == "auto" and pr.require_docker  # pr and batch: Docker, or a refusal
    assert resolve(_cli(), env={"RUNNER": "docker"}, gpu=None).runner == "docker"  # env
    cli_wins = resolve(_cli("--runner", "local"), env={"RUNNER": "docker"}, gpu=None)
    assert cli_wins.runner == "local"
    assert not resolve(_cli(), env={}, gpu=None).require_docker  # validate may fall back
    assert resolve(_cli(command="pr"), command="pr", env={"RUNNER": "docker"}, gpu=None).runner == (
        "docker"
    )


def test_ruleset_values_are_read_not_copied() -> None:
    rtsr = resolve(_cli("--ruleset", "ntire2023_rtsr"), env={}, gpu=None)
    assert (rtsr.border, rtsr.psnr_y) == (0, "bt601_swapped_rb")
    assert rtsr.synthetic and (rtsr.synthetic.warmup, rtsr.synthetic.passes) == (50, 244)
    assert rtsr.run_options().timing == "synthetic" and rtsr.eval_options().border == 0


def test_environment_switches() -> None:
    assert resolve(_cli(), env={"ESR_REQUIRE": "browser,docker"}, gpu=None).require_docker
    assert resolve(_cli(), env={"ESR_REQUIRE": "all"}, gpu=None).require_docker
    assert not resolve(_cli(), env={"ESR_REQUIRE": "browser"}, gpu=None).require_docker
    assert resolve(_cli(), env={"OMP_NUM_THREADS": "3"}, gpu=None).omp_threads == "3"


def test_bad_values_are_usage_errors() -> None:
    for argv in (("--runs", "0"), ("--stable-runs", "99"), ("--device", "tpu")):
        with pytest.raises(UsageError):
            resolve(_cli(*argv), env={})
    with pytest.raises(UsageError):
        resolve(_cli(), env={"RUNNER": "podman"}, gpu=None)


def test_settings_are_frozen_and_travel() -> None:
    settings = resolve(_cli("--runs", "2"), env={}, gpu=None)
    with pytest.raises(FrozenInstanceError):
        settings.runs = 3  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(settings)) == settings  # what a Ray node receives
    on_gpu = settings.on(1)
    assert on_gpu.device == "cuda:1" and on_gpu.identity() == settings.on(0).identity()
    assert on_gpu.identity() != settings.identity()  # CPU and GPU runs are different runs
