"""The trust boundary's two files.

``WorkerConfig`` is written by the trusted side and read by the inference worker.
``WorkerResult`` is written by the worker, which runs untrusted model code in its process,
so the trusted side parses it as hostile input: no extra keys, bounded sizes and values.
Ground truth appears in neither: the worker only ever sees LR images.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.manifest import Manifest

MAX_IMAGES = 2000
MAX_RUNS = 50
MAX_PASSES = 10000
_MS = Field(ge=0.0, le=3.6e6)  # one forward in ms: at most an hour
PassMs = Annotated[float, Field(ge=0.0, le=3.6e6, allow_inf_nan=False)]
InputSide = Annotated[int, Field(ge=16, le=4096)]
SyntheticPrecision = Literal["fp32", "fp16", "bf16"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticSpec(_Strict):
    """The fixed-input runtime protocol (RTSR 2023): ``warmup`` untimed passes, then
    ``passes`` timed ones on one random 1x3xHxW input. The LR images still run once each,
    untimed, for the SR outputs."""

    height: int = Field(ge=1, le=8192, description="Of the model's input.")
    width: int = Field(ge=1, le=8192)
    warmup: int = Field(ge=0, le=MAX_PASSES)
    passes: int = Field(ge=1, le=MAX_PASSES)
    precision: SyntheticPrecision = Field(description="Requested; the CPU runs fp32.")
    cudnn_benchmark: bool
    no_grad: bool = True


REFERENCE_WIDTH = 32  # channels of the reference model (reference mode)
REFERENCE_SHARE = 4  # it does a quarter of the entry's work: docs/metrics.md


def reference_layers(flops: int, pixels: int, scale: int) -> int:
    """The reference model's depth at which it does about a quarter of the work, per input
    pixel, of a model counted at ``flops`` on ``pixels`` input pixels (clamped to 1-64):
    3x3 convolutions 3 -> C, (depth - 1) x C -> C, C -> 3 scale^2."""
    c = REFERENCE_WIDTH
    head_tail = 9 * 3 * c + 9 * c * 3 * scale * scale
    per_pixel = flops / REFERENCE_SHARE / max(pixels, 1)
    middle = round((per_pixel - head_tail) / (9 * c * c))
    return int(min(max(middle + 1, 1), 64))


class WorkerConfig(_Strict):
    """What one sandbox process is asked to do; it arrives as the channel's first frame.

    ``run``: load, answer images one at a time (one official run), exit. ``complexity``:
    answer images with a null model first (the channel's overhead, measured before any entry
    code is imported), then load, run one forward, count complexity, exit. ``null``: the
    null-model answers only, no model loaded. ``reference``: answers from a fixed-work
    reference model (``reference_layers`` deep), no entry code loaded: the machine's own
    run-to-run spread (:mod:`esr_validator.noise`).
    """

    mode: Literal["run", "complexity", "null", "reference"] = "run"
    manifest: Manifest
    submission_dir: str | None = None
    model_file: str | None = Field(default=None, description="Relative to submission_dir.")
    model_package: str | None = Field(
        default=None,
        description="The model package's folder (models/teamNN_X), relative to submission_dir; "
        "None for a one-file model.",
    )
    checkpoint_file: str | None = Field(default=None, description="Relative to submission_dir.")
    baseline: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,30}$",
        description="Build this registry baseline (random weights) instead of the submission.",
    )
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?)$")
    cudnn_benchmark: bool = False
    complexity_input: tuple[InputSide, InputSide] = Field(
        default=(256, 256), description="(H, W) of the input complexity is counted on."
    )
    legacy_flops: bool = False
    threads: int | None = Field(default=None, ge=1, le=256)
    synthetic: SyntheticSpec | None = Field(
        default=None, description="After the images, time by the synthetic protocol."
    )
    reference_layers: int = Field(
        default=1, ge=1, le=64, description="Depth of the reference model (reference mode)."
    )


class ImageTiming(_Strict):
    split: str = Field(max_length=64)
    stem: str = Field(max_length=128)
    lr_height: int = Field(ge=1, le=20000)
    lr_width: int = Field(ge=1, le=20000)
    sr_file: str | None = Field(default=None, max_length=300)
    official_ms: list[float] = Field(max_length=MAX_RUNS, description="One per official run.")
    stable_ms: list[float] = Field(max_length=MAX_RUNS, description="One per stable run.")
    raw_min: float | None = Field(default=None, description="Before clamping, first run.")
    raw_max: float | None = None
    nonfinite: int = Field(default=0, ge=0)
    out_height: int = Field(ge=0, le=100000)
    out_width: int = Field(ge=0, le=100000)
    out_channels: int = Field(ge=0, le=64)
    outer_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="Round trip timed by the trusted side, one per run, overhead included.",
    )
    event_ms: list[float] = Field(
        default_factory=list, max_length=MAX_RUNS, description="In-worker CUDA events, per run."
    )
    overhead_ms: float | None = Field(
        default=None, ge=0.0, le=3.6e6, description="The channel's round trip with a null model."
    )
    null_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="The null model's round trip in each calibration pass.",
    )
    null_event_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="The null model's in-worker CUDA-event figure in each pass (GPU only).",
    )
    reference_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="The reference model's time, one per reference run, by the stable "
        "figure's clock (after the official runs, when their spread exceeds the clock's).",
    )
    confirm_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="The entry's stable-figure time in each confirmation run (a fresh process "
        "timed just before the reference run of the same index); never part of a runtime.",
    )
    confirm_reference_ms: list[float] = Field(
        default_factory=list,
        max_length=MAX_RUNS,
        description="The reference model's time in the run after each confirmation run.",
    )
    sr_sha256: list[str] = Field(
        default_factory=list, max_length=MAX_RUNS, description="The SR output of each run."
    )


class SplitMemory(_Strict):
    split: str = Field(max_length=64)
    official_mb: list[float] = Field(max_length=MAX_RUNS, description="Running max, never reset.")
    stable_mb: list[float] = Field(max_length=MAX_RUNS, description="Peak with reset per split.")


class SyntheticTiming(_Strict):
    """What the synthetic protocol measured; ``precision`` is what actually ran."""

    height: int = Field(ge=1, le=8192)
    width: int = Field(ge=1, le=8192)
    warmup: int = Field(ge=0, le=MAX_PASSES)
    precision: SyntheticPrecision
    requested_precision: SyntheticPrecision
    cudnn_benchmark: bool
    passes_ms: list[PassMs] = Field(min_length=1, max_length=MAX_PASSES)
    memory_mb: float | None = Field(default=None, ge=0.0, le=1e7, allow_inf_nan=False)
    note: str | None = Field(default=None, max_length=500)


class ComplexityChecks(_Strict):
    """Cross-checks of the official figures, counted in the same process on the same input."""

    float_tensor_elements: int = Field(
        ge=0,
        le=10**11,
        description="Every floating-point tensor the model holds: parameters, "
        "buffers and plain tensor attributes (BatchNorm running statistics excluded).",
    )
    flops_dispatch: int | None = Field(
        default=None,
        ge=0,
        le=10**16,
        description="Eager forward counted at operator dispatch, "
        "one multiply-add = one flop, as fvcore counts.",
    )
    activations_dispatch: int | None = Field(default=None, ge=0, le=10**13)
    conv_count_dispatch: int | None = Field(default=None, ge=0, le=10**6)
    traced_matches: bool | None = Field(
        default=None, description="The traced graph's output equals the eager output."
    )
    traced_max_diff: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    tampered: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Measuring code that changed between the entry's import and the count.",
    )


class Complexity(_Strict):
    params: int = Field(ge=0, le=10**11)
    params_before_inference: int = Field(ge=0, le=10**11)
    flops: int = Field(ge=0, le=10**16, description="fvcore total, one FMA = one flop.")
    flops_legacy: int | None = Field(default=None, ge=0, le=10**16)
    unsupported_ops: dict[str, int] = Field(default_factory=dict, max_length=200)
    activations: int = Field(ge=0, le=10**13)
    conv_count: int = Field(ge=0, le=10**6)
    input_dependent: bool = Field(description="FLOPs/activations differ between inputs.")
    flops_by_input: list[Annotated[int, Field(ge=0, le=10**16)]] = Field(
        default_factory=list,
        max_length=8,
        description="fvcore FLOPs on each input counted (the official one first); empty "
        "unless input_dependent.",
    )
    activations_by_input: list[Annotated[int, Field(ge=0, le=10**13)]] = Field(
        default_factory=list, max_length=8
    )
    input_height: int = Field(ge=1, le=8192, description="Of the input the counts used.")
    input_width: int = Field(ge=1, le=8192)
    checks: ComplexityChecks | None = None


class Environment(_Strict):
    python: str = Field(max_length=64)
    torch: str = Field(max_length=64)
    cuda: str | None = Field(default=None, max_length=64)
    cudnn: str | None = Field(default=None, max_length=64)
    device: str = Field(max_length=64)
    gpu_name: str | None = Field(default=None, max_length=200)
    driver: str | None = Field(default=None, max_length=64)
    cpu: str = Field(max_length=200)
    threads: int = Field(ge=1, le=1024)
    platform: str = Field(max_length=200)


FailureCategory = Literal["load_failed", "crashed", "out_of_memory", "bad_output"]


class WorkerFailure(_Strict):
    category: FailureCategory
    message: str = Field(max_length=4000)
    where: str | None = Field(default=None, max_length=200, description="Stage that failed.")


class RunInfo(_Strict):
    """One official run: one fresh sandbox process."""

    index: int = Field(ge=0, le=MAX_RUNS)
    wall_s: float = Field(ge=0.0, le=1e6)
    clock: Literal["outer", "cuda-events"] = Field(
        description="Which figure official_ms holds for this run."
    )


class WorkerResult(_Strict):
    schema_version: Literal[1] = 1
    status: Literal["ok", "failed"]
    failure: WorkerFailure | None = None
    environment: Environment | None = None
    cudnn_benchmark: bool = False
    images: list[ImageTiming] = Field(default_factory=list, max_length=MAX_IMAGES)
    memory: list[SplitMemory] = Field(default_factory=list, max_length=8)
    synthetic: SyntheticTiming | None = None
    complexity: Complexity | None = None
    wall_s: float = Field(default=0.0, ge=0.0, le=1e6)
    hardcoded_cuda: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list,
        max_length=20,
        description="CUDA calls of the entry run on the CPU instead (call and file:line).",
    )
    runs: list[RunInfo] = Field(default_factory=list, max_length=MAX_RUNS)
