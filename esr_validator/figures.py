"""Turn raw per-image timings into the two figure sets the report carries.

``official`` reproduces the organizers' arithmetic: mean over images per split and run, then
the mean over runs, then (valid + test) / 2. ``stable`` is the same arithmetic on the warm
images (the cold first forward of each run replaced by its warm repeat): per run, the mean
over a split's warm images; the split figure is the mean of those per-run means; the set's
runtime is (valid + test) / 2 and its ``run_cv`` the coefficient of variation of the per-run
(valid + test) / 2. It is ``noisy`` on run-to-run variation only (CV > :data:`NOISY_CV`,
and a spread beyond the clock's own: :mod:`esr_validator.noise`): images of different sizes
take different times, which is no noise. Its memory is each
split's own peak (reset before the split; the valid split's reset is the process start).
A synthetic run (RTSR 2023) has no per-image times: its official runtime is the mean of the
timed passes, its stable one their median.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import numpy as np

from esr_validator.noise import NOISY_CV as NOISY_CV  # re-exported: callers read it here
from esr_validator.noise import clock_sd, cv, judge
from esr_validator.schemas.fidelity import ImageScore
from esr_validator.schemas.report import (
    ComplexityFigures,
    FigureSet,
    ImageResult,
    RunSummary,
    SplitFigures,
    SyntheticFigures,
)
from esr_validator.schemas.worker import (
    Complexity,
    Environment,
    ImageTiming,
    SplitMemory,
    SyntheticTiming,
    WorkerResult,
)

NOISY_IQR = 0.10  # synthetic protocol: pass-to-pass spread of one input


def _mean(values: list[float]) -> float | None:
    return float(statistics.fmean(values)) if values else None


def _avg_splits(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present) / len(present)) if present and len(present) == len(values) else None


def _per_run_means(images: list[ImageTiming], attr: str) -> list[float]:
    runs = min((len(getattr(im, attr)) for im in images), default=0)
    return [float(np.mean([getattr(im, attr)[r] for im in images])) for r in range(runs)]


def split_figures(
    split: str, images: list[ImageTiming], scores: list[ImageScore], memory: SplitMemory | None
) -> SplitFigures:
    per_run = _per_run_means(images, "official_ms")
    warm = _per_run_means(images, "stable_ms")
    psnrs = [s.psnr for s in scores if s.psnr is not None]
    scorable = all(s.psnr is not None or s.identical for s in scores) and bool(scores)

    def _opt_mean(attr: str) -> float | None:
        vals = [getattr(s, attr) for s in scores]
        return _mean(vals) if vals and all(v is not None for v in vals) else None

    return SplitFigures(
        split=split,
        images=len(images),
        psnr=_mean(psnrs) if scorable and len(psnrs) == len(scores) else None,
        psnr_y=_opt_mean("psnr_y"),
        ssim=_opt_mean("ssim"),
        bicubic_psnr=_opt_mean("bicubic_psnr"),
        official_runtime_ms=_mean(per_run),
        official_runtime_ms_per_run=per_run,
        official_memory_mb=_mean(memory.official_mb) if memory and memory.official_mb else None,
        stable_runtime_ms=_mean(warm),
        stable_memory_mb=_mean(memory.stable_mb) if memory and memory.stable_mb else None,
        official_memory_mb_per_run=list(memory.official_mb) if memory else [],
        stable_memory_mb_per_run=list(memory.stable_mb) if memory else [],
    )


def official_set(splits: list[SplitFigures]) -> FigureSet:
    return FigureSet(
        protocol="official",
        runtime_ms=_avg_splits([s.official_runtime_ms for s in splits]),
        memory_mb=splits[0].official_memory_mb if splits else None,
        run_cv=cv(_run_totals(splits)),
        description="Organizers' loop: no warm-up, per-split mean, (valid+test)/2, mean of runs; "
        "memory is the never-reset peak after the first split.",
    )


def _run_totals(splits: list[SplitFigures]) -> list[float]:
    runs = min((len(s.official_runtime_ms_per_run) for s in splits), default=0)
    return [float(np.mean([s.official_runtime_ms_per_run[r] for s in splits])) for r in range(runs)]


def _resolution(images: list[ImageTiming], *, events: bool) -> float | None:
    """The clock's own run-to-run SD on the stable figure, from the null passes."""
    columns = [im.null_event_ms if events else im.null_ms for im in images]
    passes = min((len(c) for c in columns), default=0)
    return clock_sd([[c[p] for c in columns] for p in range(passes)], [im.split for im in images])


def _by_run(splits: list[SplitFigures], images: list[ImageTiming], attr: str) -> list[float]:
    """Per run, (mean over each split's images of ``attr``) averaged over the splits."""
    per_split = [_per_run_means([im for im in images if im.split == s.split], attr) for s in splits]
    runs = min((len(p) for p in per_split), default=0)
    return [float(np.mean([p[r] for p in per_split])) for r in range(runs)]


def stable_set(
    splits: list[SplitFigures], images: list[ImageTiming], *, events: bool = False
) -> FigureSet:
    """The warm figures: per run, the mean over each split's warm images, (valid + test) / 2;
    noisy on run-to-run variation only, and only beyond the clock's own (``events``: the
    runs were timed by CUDA events, whose null figures are then the clock)."""
    by_run = _by_run(splits, images, "stable_ms")
    machine = _by_run(splits, images, "reference_ms")
    confirm = _by_run(splits, images, "confirm_ms")
    beside = _by_run(splits, images, "confirm_reference_ms")
    noise = judge(by_run, _resolution(images, events=events), machine, confirm, beside)
    return FigureSet(
        protocol="stable",
        runtime_ms=_avg_splits([s.stable_runtime_ms for s in splits]),
        memory_mb=splits[0].stable_memory_mb if splits else None,
        run_cv=noise.run_cv,
        noisy=noise.noisy,
        resolution_ms=noise.resolution_ms,
        below_resolution=noise.below_resolution,
        machine_cv=noise.machine_cv,
        machine_noisy=noise.machine_noisy,
        machine_factor=noise.machine_factor,
        confirm_cv=noise.confirm_cv,
        confirm_machine_cv=noise.confirm_machine_cv,
        confirm_factor=noise.confirm_factor,
        description="The official runs' warm images (the first image's warm repeat for its "
        "cold forward): per-run mean per split, mean over runs, (valid+test)/2; noisy when "
        f"the run-to-run CV exceeds {NOISY_CV:.0%} and the spread twice the clock's own "
        "(resolution_ms) and the CV machine_factor times the machine's own (machine_cv: "
        "a fixed-work reference model's, timed after the runs when they spread beyond the "
        "clock), and a confirmation round of as many runs, its slowest left out, does it "
        "again beside reference runs timed after each of its runs; memory: the "
        "first split's peak, each split's own peak in splits[].",
    )


def synthetic_figures(t: SyntheticTiming) -> SyntheticFigures:
    passes = np.array(t.passes_ms, dtype=np.float64)
    q1, med, q3 = np.percentile(passes, [25, 50, 75])
    return SyntheticFigures(
        input_height=t.height,
        input_width=t.width,
        warmup=t.warmup,
        passes=len(t.passes_ms),
        precision=t.precision,
        requested_precision=t.requested_precision,
        cudnn_benchmark=t.cudnn_benchmark,
        mean_ms=float(passes.mean()),
        median_ms=float(med),
        iqr_ms=float(q3 - q1),
        memory_mb=t.memory_mb,
        notes=[t.note] if t.note else [],
    )


def synthetic_sets(s: SyntheticFigures) -> tuple[FigureSet, FigureSet]:
    """The official and stable figure sets of a synthetic run: mean and median of the passes."""
    shape = f"1x3x{s.input_height}x{s.input_width} {s.precision}"
    official = FigureSet(
        protocol="official",
        runtime_ms=s.mean_ms,
        memory_mb=s.memory_mb,
        description=f"Synthetic: mean of {s.passes} timed passes on one {shape} input after "
        f"{s.warmup} warm-up passes; the LR images ran once, untimed, for PSNR.",
    )
    stable = FigureSet(
        protocol="stable",
        runtime_ms=s.median_ms,
        memory_mb=s.memory_mb,
        noisy=bool(s.median_ms and s.iqr_ms / s.median_ms > NOISY_IQR),
        description=f"Synthetic: median of the same {s.passes} passes.",
    )
    return official, stable


def complexity_figures(c: Complexity) -> ComplexityFigures:
    """The worker's counts, on the input it reports having counted on (checked against the
    one asked for: :func:`esr_validator.integrity.complexity_findings`)."""
    square = c.input_height == c.input_width
    return ComplexityFigures(
        params=c.params,
        params_m=c.params / 1e6,
        params_before_inference=c.params_before_inference,
        flops=c.flops,
        flops_g=c.flops / 1e9,
        flops_legacy_g=c.flops_legacy / 1e9 if c.flops_legacy is not None else None,
        unsupported_ops=c.unsupported_ops,
        activations=c.activations,
        activations_m=c.activations / 1e6,
        conv_count=c.conv_count,
        input_dependent=c.input_dependent,
        flops_by_input=list(c.flops_by_input),
        activations_by_input=list(c.activations_by_input),
        input_size=c.input_height if square else None,
        input_height=c.input_height,
        input_width=c.input_width,
    )


@dataclass(frozen=True)
class Measurements:
    """Every figure of an evaluated run, before any finding or score is drawn from it."""

    environment: Environment | None
    images: list[ImageResult]
    splits: list[SplitFigures]
    official: FigureSet
    stable: FigureSet
    synthetic: SyntheticFigures | None
    complexity: ComplexityFigures | None
    runs: tuple[RunSummary, ...] = ()


def _image_results(result: WorkerResult, scores: list[ImageScore]) -> list[ImageResult]:
    by_key = {(s.split, s.stem): s for s in scores}
    out = []
    for im in result.images:
        s = by_key.get((im.split, im.stem))
        out.append(
            ImageResult(
                split=im.split,
                stem=im.stem,
                psnr=s.psnr if s else None,
                identical=bool(s and s.identical),
                psnr_y=s.psnr_y if s else None,
                ssim=s.ssim if s else None,
                bicubic_psnr=s.bicubic_psnr if s else None,
                official_ms=im.official_ms,
                stable_ms=im.stable_ms,
                outer_ms=im.outer_ms,
                overhead_ms=im.overhead_ms,
                event_ms=im.event_ms,
                null_ms=im.null_ms,
                reference_ms=im.reference_ms,
                confirm_ms=im.confirm_ms,
                confirm_reference_ms=im.confirm_reference_ms,
                sr_sha256=im.sr_sha256[0] if im.sr_sha256 and im.sr_sha256[0] else None,
            )
        )
    return out


def measure(result: WorkerResult, scores: list[ImageScore]) -> Measurements:
    """The figures of a worker result and the trusted scorer's per-image scores."""
    memory = {m.split: m for m in result.memory}
    names = list(dict.fromkeys(im.split for im in result.images))
    splits = [
        split_figures(
            name,
            [im for im in result.images if im.split == name],
            [s for s in scores if s.split == name],
            memory.get(name),
        )
        for name in names
    ]
    synthetic = synthetic_figures(result.synthetic) if result.synthetic else None
    if synthetic is not None:
        official, stable = synthetic_sets(synthetic)
    else:
        events = bool(result.runs) and all(r.clock == "cuda-events" for r in result.runs)
        official = official_set(splits)
        stable = stable_set(splits, result.images, events=events)
    complexity = None
    if result.complexity is not None:
        complexity = complexity_figures(result.complexity)
    return Measurements(
        environment=result.environment,
        images=_image_results(result, scores),
        splits=splits,
        official=official,
        stable=stable,
        synthetic=synthetic,
        complexity=complexity,
        runs=tuple(RunSummary(index=r.index, wall_s=r.wall_s, clock=r.clock) for r in result.runs),
    )
