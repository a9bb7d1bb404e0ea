"""The validation report: the one document a run produces, signed by the signing stage.

Every float is finite: a non-finite value cannot be canonicalised (RFC 8785) and would make
the report unsignable, so an infinite PSNR (identical images) is stored as ``None`` with
``identical = True``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.scoring import ScoringResult
from esr_validator.schemas.worker import Environment

FailureCategory = Literal[
    "invalid_package", "crashed", "timeout", "out_of_memory", "bad_output", "below_gate"
]
Sha256 = Field(pattern=r"^[0-9a-f]{64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SubmissionInfo(_Strict):
    zip_name: str
    zip_sha256: str = Sha256
    model_file: str | None = None
    model_sha256: str | None = None
    model_package: str | None = Field(
        default=None, description="The model package's folder (models/teamNN_X), if it is one."
    )
    package_sha256: dict[str, Annotated[str, Sha256]] = Field(
        default_factory=dict,
        description="sha256 of every .py file of the model package, the model file's too.",
    )
    checkpoint_file: str | None = None
    checkpoint_sha256: str | None = None
    manifest: Manifest | None = None


class SplitData(_Strict):
    name: str
    count: int = Field(ge=0)
    lr_sha256: str = Sha256
    hr_sha256: str = Sha256


class DatasetInfo(_Strict):
    name: str
    smoke: bool = Field(description="The embedded smoke set: PSNR not comparable to gates.")
    layout: str
    splits: list[SplitData]


class RunnerInfo(_Strict):
    kind: Literal["local", "docker"]
    sandboxed: bool
    image: str | None = None
    image_id: str | None = None
    base_image: str | None = None
    base_digest: str | None = None
    lock_sha256: str | None = None


class RunOptions(_Strict):
    runs: int
    stable_runs: int
    warmup: int
    device: str
    cudnn_benchmark: bool
    ruleset: str | None = None
    timeout_s: float
    timing: Literal["dataset", "synthetic"] = Field(
        default="dataset", description="Per LR image, or the ruleset's fixed-input protocol."
    )
    psnr_border: int = Field(default=4, description="Pixels cropped from every side.")
    psnr_y: str = Field(default="off", description="Y PSNR convention, 'off' if not computed.")
    unsandboxed_signing: bool = Field(
        default=False,
        description="Signed although the model ran outside the sandbox, where it could reach "
        "the signing key (--allow-unsandboxed-signing).",
    )
    fail_on: Literal["error", "warning", "never"] = Field(
        default="error", description="Which unwaived findings fail the run (--fail-on)."
    )
    waivers_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="The organizers' waivers file applied (--waivers), if any.",
    )
    complexity_input: Literal["ruleset", "command line"] = Field(
        default="ruleset",
        description="Where the complexity input came from; complexity.input_height/width "
        "say what it was.",
    )


class ImageResult(_Strict):
    split: str
    stem: str
    psnr: float | None
    identical: bool = False
    psnr_y: float | None = None
    ssim: float | None = None
    bicubic_psnr: float | None = None
    official_ms: list[float]
    stable_ms: list[float]
    # The audit trail of official_ms, one entry per run: what the trusted side timed and
    # subtracted, what the worker's own clock said (GPU only), and run 0's output digest
    # (later runs agree with it within one uint8 level, else ESR513).
    outer_ms: list[float] = Field(
        default_factory=list, description="Round trip timed outside the worker, per run."
    )
    overhead_ms: float | None = Field(
        default=None, description="The channel's own round trip (null model), subtracted."
    )
    event_ms: list[float] = Field(
        default_factory=list, description="In-worker CUDA events, per run (GPU only)."
    )
    null_ms: list[float] = Field(
        default_factory=list,
        description="The null model's round trips, one per calibration pass: the clock's "
        "own spread (overhead_ms is their minimum).",
    )
    reference_ms: list[float] = Field(
        default_factory=list,
        description="A fixed-work reference model's time on this image, one per reference "
        "run: timed like the stable figure, after the official runs and only when their "
        "spread exceeds the clock's, each run a process with no entry code: the machine's "
        "own run-to-run spread.",
    )
    confirm_ms: list[float] = Field(
        default_factory=list,
        description="The entry's warm time on this image in each run of the confirmation "
        "round (only when the runs spread beyond machine_factor times the machine): a fresh "
        "process like an official run. It decides noisy and never enters a runtime.",
    )
    confirm_reference_ms: list[float] = Field(
        default_factory=list,
        description="The reference model's time on this image in the run that followed each "
        "confirmation run at once: the machine beside the round.",
    )
    sr_sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class RunSummary(_Strict):
    """One official run: one fresh sandbox process."""

    index: int
    wall_s: float
    clock: Literal["outer", "cuda-events"] = Field(description="What official_ms holds.")


class SplitFigures(_Strict):
    split: str
    images: int
    psnr: float | None
    psnr_y: float | None = None
    ssim: float | None = None
    bicubic_psnr: float | None = None
    official_runtime_ms: float | None = Field(description="Mean over images, then over runs.")
    official_runtime_ms_per_run: list[float]
    official_memory_mb: float | None = Field(description="Running max, as officially read.")
    stable_runtime_ms: float | None = Field(
        description="Per run, the mean over warm images; then the mean over runs."
    )
    stable_iqr_ms: float | None = Field(default=None, description="No longer computed.")
    stable_memory_mb: float | None = Field(
        default=None, description="This split's own peak (reset before it), mean over runs."
    )
    official_memory_mb_per_run: list[float] = Field(
        default_factory=list, description="The official reading of each run (MB)."
    )
    stable_memory_mb_per_run: list[float] = Field(
        default_factory=list, description="This split's own peak in each run (MB)."
    )


class FigureSet(_Strict):
    """One protocol's headline numbers; ``runtime_ms`` is (valid + test) / 2 as ranked."""

    protocol: Literal["official", "stable"]
    runtime_ms: float | None
    memory_mb: float | None
    run_cv: float | None = Field(default=None, description="Run-to-run coefficient of variation.")
    noisy: bool = False
    resolution_ms: float | None = Field(
        default=None,
        description="The run-to-run SD the clock alone gives runtime_ms (the null model's "
        "passes, same arithmetic); noisy needs a spread above twice it.",
    )
    below_resolution: bool = Field(
        default=False,
        description="Twice resolution_ms exceeds the relative threshold's share of runtime_ms: "
        "the clock cannot resolve that spread of so short a runtime.",
    )
    machine_cv: float | None = Field(
        default=None,
        description="Run-to-run CV of the reference model's figure (images[].reference_ms, "
        "same arithmetic): the machine's own spread; noisy needs a CV machine_factor times it, "
        "and then the confirmation round's verdict.",
    )
    machine_factor: float | None = Field(
        default=None,
        description="sqrt of the 99th percentile of F(runs-1, runs-1): a model spreading as "
        "the machine does exceeds machine_factor x machine_cv 1 % of the time (4 at 5 runs).",
    )
    confirm_cv: float | None = Field(
        default=None,
        description="Run-to-run CV of the confirmation round's figure (images[].confirm_ms, "
        "same arithmetic), its slowest run left out from 4 runs on; noisy needs it beyond 3 % "
        "and the clock, and confirm_factor times confirm_machine_cv.",
    )
    confirm_machine_cv: float | None = Field(
        default=None,
        description="Run-to-run CV of the reference runs beside the round "
        "(images[].confirm_reference_ms), their slowest left out from 4 runs on.",
    )
    confirm_factor: float | None = Field(
        default=None,
        description="machine_factor for the runs the round kept (5.43 for 4 kept of 5).",
    )
    machine_noisy: bool = Field(
        default=False,
        description="machine_cv, or confirm_machine_cv, exceeds the relative threshold: this "
        "machine spreads a fixed workload by more than 3 % from run to run, whatever the model.",
    )
    description: str


class SyntheticFigures(_Strict):
    """The synthetic runtime protocol (RTSR 2023) as it ran; the official runtime is the
    mean of the timed passes, the stable one their median."""

    input_height: int
    input_width: int
    warmup: int
    passes: int
    precision: str = Field(description="What ran; a CPU runs fp32 where fp16 is asked for.")
    requested_precision: str
    cudnn_benchmark: bool
    mean_ms: float
    median_ms: float
    iqr_ms: float
    memory_mb: float | None = None
    notes: list[str] = Field(default_factory=list)


class ComplexityFigures(_Strict):
    params: int
    params_m: float
    params_before_inference: int
    flops: int
    flops_g: float
    flops_legacy_g: float | None = None
    unsupported_ops: dict[str, int]
    activations: int
    activations_m: float
    conv_count: int
    input_dependent: bool
    flops_by_input: list[int] = Field(
        default_factory=list,
        description="When input_dependent: fvcore FLOPs on each input counted, the official "
        "input first (its figure is `flops`).",
    )
    activations_by_input: list[int] = Field(default_factory=list)
    input_size: int | None = Field(
        default=None, description="The side of a square input (input_height == input_width)."
    )
    input_height: int | None = Field(default=None, description="Counted on, as the worker ran.")
    input_width: int | None = None


class Failure(_Strict):
    category: FailureCategory
    message: str


class Report(_Strict):
    schema_version: Literal[1] = 1
    validator_version: str
    started_at: datetime
    finished_at: datetime
    status: Literal["evaluated", "invalid", "failed"]
    ok: bool = Field(description="No error findings.")
    failure: Failure | None = None
    findings: list[Finding]
    submission: SubmissionInfo
    dataset: DatasetInfo | None = None
    runner: RunnerInfo | None = None
    options: RunOptions | None = None
    environment: Environment | None = None
    images: list[ImageResult] = Field(default_factory=list)
    runs: list[RunSummary] = Field(default_factory=list)
    splits: list[SplitFigures] = Field(default_factory=list)
    official: FigureSet | None = None
    stable: FigureSet | None = None
    synthetic: SyntheticFigures | None = None
    complexity: ComplexityFigures | None = None
    scoring: ScoringResult | None = None
