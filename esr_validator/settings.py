"""Every option of a run, resolved once into one frozen :class:`Settings`.

The order is fixed: built-in defaults, then the command's profile (``pr`` is a quick check),
then the ruleset (its runs, its synthetic protocol, its PSNR convention, its FLOPs counter),
then the environment, then the command line. Nothing downstream re-reads an argument or an
environment variable: the worker config, the report's run options and a batch's resume
identity are all derived from the one object (:meth:`Settings.eval_options`,
:meth:`Settings.run_options`, :meth:`Settings.identity`).

Every command and the Ray node call :func:`resolve` the same way; the node receives the
driver's ``Settings`` itself.

Signing keys are deliberately not settings: ``Settings`` travel to Ray nodes and describe the
run in its report, and a key path must reach neither. ``esr_validator.signing.keys`` reads
``--key`` / ``ESR_VALIDATOR_KEY`` (and the passphrase) on the driver, where it signs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from esr_validator.errors import UsageError
from esr_validator.schemas.report import RunOptions
from esr_validator.schemas.ruleset import Ruleset, Timing
from esr_validator.schemas.worker import MAX_PASSES, SyntheticPrecision, SyntheticSpec
from esr_validator.waivers import Waivers, load_waivers

RunnerChoice = Literal["auto", "docker", "local"]
FailOn = Literal["error", "warning", "never"]
FAIL_ON: tuple[FailOn, ...] = ("error", "warning", "never")

# The environment variables the validator reads, all of them, here and nowhere else.
ENV_RUNNER = "RUNNER"  # the Makefile's knob: auto, docker or local
ENV_REQUIRE = "ESR_REQUIRE"  # comma list; "docker" turns auto's fallback into an error
ENV_REQUIRE_DOCKER = "ESR_REQUIRE_DOCKER"  # older spelling of ESR_REQUIRE=docker
ENV_TRACEBACK = "ESR_TRACEBACK"
ENV_OMP = "OMP_NUM_THREADS"  # handed to the timed worker; Ray nodes receive the driver's
ENV_RAY_ADDRESS = "RAY_ADDRESS"  # the Ray cluster a batch joins when --ray-address is not given
ENV_GITHUB_ACTIONS = "GITHUB_ACTIONS"  # "true" inside a GitHub Actions job
ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"  # the job summary file GitHub renders
ENV_FAIL_ON = "ESR_FAIL_ON"  # error, warning or never (--fail-on)
ENV_WAIVERS = "ESR_WAIVERS"  # the organizers' waivers file (--waivers)

DEFAULTS: dict[str, Any] = {
    "ruleset": "ntire2024_esr",
    "runs": 5,
    "stable_runs": None,  # None: as many as ``runs``
    "warmup": 3,
    "device": "auto",
    "cudnn_benchmark": False,
    "timeout": 1800.0,
    "ssim": False,
    "data_dir": None,
    "runner": "auto",
    "synthetic_warmup": None,
    "synthetic_passes": None,
    "fail_on": "error",
    "waivers": None,
}
# A command's own defaults, applied after the built-in ones and before the ruleset's:
# the ruleset's runs do not override a profile that asks for a quick check.
PROFILES: dict[str, dict[str, Any]] = {
    "pr": {"runs": 1, "warmup": 1, "timeout": 900.0, "device": "cpu"},
    # A batch of many entries succeeds when every entry got its report, whatever they found.
    "batch": {"fail_on": "never"},
}
_PROFILE_LOCKED = {"pr": {"runs"}}
# Commands that run many entries, or entries from strangers: there ``auto`` means Docker or a
# refusal that says how to start it; only an explicit ``--runner local`` runs them unsandboxed.
SANDBOX_BY_DEFAULT = frozenset({"batch", "pr"})


@dataclass(frozen=True)
class SyntheticOptions:
    """The ruleset's synthetic runtime protocol, with ``warmup`` and ``passes`` as run here."""

    output_size: tuple[int, int]
    warmup: int
    passes: int
    precision: SyntheticPrecision
    cudnn_benchmark: bool
    no_grad: bool = True

    def spec(self, scale: int) -> SyntheticSpec:
        height, width = (side // scale for side in self.output_size)
        return SyntheticSpec(
            height=height,
            width=width,
            warmup=self.warmup,
            passes=self.passes,
            precision=self.precision,
            cudnn_benchmark=self.cudnn_benchmark,
            no_grad=self.no_grad,
        )


@dataclass(frozen=True)
class ComplexityInputOption:
    """The (H, W) complexity is counted on: ``fixed`` at every scale, else the synthetic
    timed input ``timed_output // scale`` (the 2023 real-time track counts on it). The
    ruleset's ``[complexity_input]`` unless ``--complexity-input HxW`` overrides it."""

    fixed: tuple[int, int] | None = (256, 256)
    timed_output: tuple[int, int] | None = None
    source: Literal["ruleset", "command line"] = "ruleset"

    @classmethod
    def of(cls, ruleset: Ruleset) -> ComplexityInputOption:
        if ruleset.complexity_input.kind == "timed":
            return cls(fixed=None, timed_output=ruleset.timing.output_size)
        return cls(fixed=ruleset.complexity_input.size)

    def hw(self, scale: int) -> tuple[int, int]:
        if self.fixed is not None:
            return self.fixed
        assert self.timed_output is not None  # Ruleset._consistent
        return (self.timed_output[0] // scale, self.timed_output[1] // scale)


@dataclass(frozen=True)
class Settings:
    """One run's options. ``gpu`` is the CUDA index timed on, None for the CPU."""

    ruleset: Ruleset
    runs: int
    stable_runs: int
    warmup: int
    gpu: int | None
    cudnn_benchmark: bool
    timeout_s: float
    ssim: bool
    synthetic: SyntheticOptions | None
    data_dir: Path | None
    runner: RunnerChoice
    require_docker: bool
    omp_threads: str | None = None
    threads: int | None = None
    allow_unsandboxed_signing: bool = False
    fail_on: FailOn = "error"
    waivers: Waivers | None = None
    complexity_input: ComplexityInputOption = field(default_factory=ComplexityInputOption)

    # Read from the ruleset, never copied.
    @property
    def border(self) -> int:
        return self.ruleset.psnr.border

    @property
    def psnr_y(self) -> str:
        return self.ruleset.psnr.y_channel

    @property
    def legacy_flops(self) -> bool:
        return self.ruleset.flops_counter == "legacy"

    @property
    def device(self) -> str:
        return "cpu" if self.gpu is None else f"cuda:{self.gpu}"

    def on(self, gpu: int | None) -> Settings:
        """The same settings timed on another device (a batch slot, a Ray task's GPU)."""
        return replace(self, gpu=gpu)

    def eval_options(self) -> EvalOptions:
        from esr_validator.evaluate import EvalOptions

        return EvalOptions(
            runs=self.runs,
            stable_runs=self.stable_runs,
            warmup=self.warmup,
            gpu=self.gpu,
            cudnn_benchmark=self.cudnn_benchmark,
            timeout_s=self.timeout_s,
            ssim=self.ssim,
            legacy_flops=self.legacy_flops,
            threads=self.threads,
            synthetic=self.synthetic,
            border=self.border,
            psnr_y=self.ruleset.psnr.y_channel,
            complexity_input=self.complexity_input,
        )

    def run_options(self) -> RunOptions:
        """What the report records of these settings."""
        psnr_y = self.ruleset.psnr.y_channel
        return RunOptions(
            runs=self.runs,
            stable_runs=self.stable_runs,
            warmup=self.warmup,
            device=self.device,
            cudnn_benchmark=self.cudnn_benchmark,
            timeout_s=self.timeout_s,
            ruleset=self.ruleset.name,
            timing="synthetic" if self.synthetic else "dataset",
            psnr_border=self.border,
            psnr_y="bt601" if psnr_y == "off" and self.ssim else psnr_y,
            unsandboxed_signing=self.allow_unsandboxed_signing,
            fail_on=self.fail_on,
            waivers_sha256=self.waivers.sha256 if self.waivers else None,
            complexity_input=self.complexity_input.source,
        )

    def identity(self) -> dict[str, Any]:
        """The options part of a batch's resume key: everything that can change a report.

        Which GPU ran a job is left out (any free one may take it); whether it was a GPU is in.
        """
        options = asdict(self.eval_options())
        options.pop("gpu")
        options.pop("device", None)
        options["device"] = "cpu" if self.gpu is None else "cuda"
        options["unsandboxed_signing"] = self.allow_unsandboxed_signing
        options["waivers"] = self.waivers.sha256 if self.waivers else None
        return options


if False:  # pragma: no cover - typing only, without importing the evaluation at start-up
    from esr_validator.evaluate import EvalOptions


def _given(cli: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cli.items() if v is not None}


def _runner(value: str) -> RunnerChoice:
    choice = value.strip().lower()
    if choice not in ("auto", "docker", "local"):
        raise UsageError(
            f"unknown runner {value!r}", hint="choose auto, docker or local (--runner or RUNNER)"
        )
    return choice  # type: ignore[return-value]


def _fail_on(value: str) -> FailOn:
    choice = value.strip().lower()
    if choice not in FAIL_ON:
        raise UsageError(
            f"unknown --fail-on {value!r}", hint="choose error, warning or never (or ESR_FAIL_ON)"
        )
    return choice


def policy(
    cli: Mapping[str, Any], *, command: str, env: Mapping[str, str] | None = None
) -> tuple[FailOn, Waivers | None]:
    """``--fail-on`` and ``--waivers`` alone, for ``check`` (which resolves nothing else).

    Order as everywhere: default, the command's profile, the environment, the command line.
    """
    env = os.environ if env is None else env
    fail_on = PROFILES.get(command, {}).get("fail_on", DEFAULTS["fail_on"])
    fail_on = cli.get("fail_on") or env.get(ENV_FAIL_ON) or fail_on
    path = cli.get("waivers") or env.get(ENV_WAIVERS)
    return _fail_on(str(fail_on)), (load_waivers(path) if path else None)


def parse_device(value: str) -> int | None:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` → the GPU index, None for the CPU."""
    if value == "auto":
        import torch

        return 0 if torch.cuda.is_available() else None
    if value == "cpu":
        return None
    name, _, index = value.partition(":")
    if name != "cuda" or (index and not index.isdigit()):
        raise UsageError(f"--device {value}: expected auto, cpu, cuda or cuda:N")
    return int(index or 0)


def synthetic_options(
    timing: Timing, warmup: int | None = None, passes: int | None = None
) -> SyntheticOptions | None:
    """The ruleset's synthetic protocol; ``--synthetic-warmup/-passes`` shorten it (tests,
    CPU runs), and the report then says it did not run as published."""
    if timing.input != "synthetic":
        return None
    assert timing.output_size is not None and timing.timed_passes is not None  # schema
    if timing.precision == "int8":
        raise UsageError("the synthetic protocol cannot time int8")
    warmup = timing.warmup if warmup is None else warmup
    passes = timing.timed_passes if passes is None else passes
    if not 0 <= warmup <= MAX_PASSES or not 1 <= passes <= MAX_PASSES:
        raise UsageError(
            f"--synthetic-warmup must be 0-{MAX_PASSES}, --synthetic-passes 1-{MAX_PASSES}"
        )
    return SyntheticOptions(
        output_size=timing.output_size,
        warmup=warmup,
        passes=passes,
        precision=timing.precision,
        cudnn_benchmark=timing.cudnn_benchmark,
        no_grad=timing.no_grad,
    )


def parse_hw(value: str) -> tuple[int, int]:
    """``--complexity-input HxW`` (rows x columns) → (H, W)."""
    h, sep, w = value.strip().lower().partition("x")
    sides = (int(h), int(w)) if sep and h.isdigit() and w.isdigit() else (0, 0)
    if not all(16 <= side <= 4096 for side in sides):
        raise UsageError(
            f"--complexity-input {value}: expected HxW, each side 16-4096 (e.g. 256x256)"
        )
    return sides


def _complexity_input(ruleset: Ruleset, given: str | None) -> ComplexityInputOption:
    if given is None:
        return ComplexityInputOption.of(ruleset)
    return ComplexityInputOption(fixed=parse_hw(given), source="command line")


def required(env: Mapping[str, str]) -> set[str]:
    """The components ``ESR_REQUIRE`` names (``all``: every one)."""
    names = {n.strip() for n in env.get(ENV_REQUIRE, "").split(",") if n.strip()}
    if env.get(ENV_REQUIRE_DOCKER) == "1":
        names.add("docker")
    return names


def ray_address(cli: str | None, env: Mapping[str, str] | None = None) -> str | None:
    return cli or (os.environ if env is None else env).get(ENV_RAY_ADDRESS) or None


def in_github_actions(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get(ENV_GITHUB_ACTIONS) == "true"


def step_summary_path(env: Mapping[str, str] | None = None) -> str | None:
    return (os.environ if env is None else env).get(ENV_STEP_SUMMARY) or None


def traceback_wanted(flag: bool, env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return flag or env.get(ENV_TRACEBACK) == "1"


def resolve(
    cli: Mapping[str, Any],
    *,
    command: str = "validate",
    env: Mapping[str, str] | None = None,
    gpu: int | Literal["resolve"] | None = "resolve",
) -> Settings:
    """Resolve ``cli`` (argparse's namespace as a mapping; None means "not given").

    ``gpu`` skips the device resolution when the caller has already chosen the device
    (a batch picks its slots itself).
    """
    from esr_validator.ruleset import load_ruleset

    env = os.environ if env is None else env
    fail_on, waivers = policy(cli, command=command, env=env)
    profile = PROFILES.get(command, {})
    given = _given(cli)
    values = {**DEFAULTS, **profile}
    ruleset = load_ruleset(given.get("ruleset", values["ruleset"]))
    if "runs" not in _PROFILE_LOCKED.get(command, set()):
        values["runs"] = ruleset.timing.runs
    if env.get(ENV_RUNNER):
        values["runner"] = env[ENV_RUNNER]
    values.update(given)
    runs, stable = int(values["runs"]), values["stable_runs"]
    if not 1 <= runs <= 50:
        raise UsageError("--runs must be between 1 and 50")
    if stable is not None and not 0 <= stable <= 50:
        raise UsageError("--stable-runs must be between 0 and 50")
    data_dir = values["data_dir"]
    return Settings(
        ruleset=ruleset,
        runs=runs,
        stable_runs=runs if stable is None else int(stable),
        warmup=int(values["warmup"]),
        gpu=parse_device(str(values["device"])) if gpu == "resolve" else gpu,
        cudnn_benchmark=bool(values["cudnn_benchmark"]),
        timeout_s=float(values["timeout"]),
        ssim=bool(values["ssim"]),
        synthetic=synthetic_options(
            ruleset.timing, values["synthetic_warmup"], values["synthetic_passes"]
        ),
        data_dir=Path(data_dir).resolve() if data_dir else None,
        runner=_runner(str(values["runner"])),
        require_docker=bool({"docker", "all"} & required(env))
        or command in SANDBOX_BY_DEFAULT,
        omp_threads=env.get(ENV_OMP),
        allow_unsandboxed_signing=bool(cli.get("allow_unsandboxed_signing")),
        fail_on=fail_on,
        waivers=waivers,
        complexity_input=_complexity_input(ruleset, given.get("complexity_input")),
    )
