"""Checks: the findings drawn from measurements and from how a sandboxed process ended."""

from __future__ import annotations

from esr_validator.codes import finding
from esr_validator.figures import Measurements
from esr_validator.runners.base import ProcessOutcome
from esr_validator.schemas.fidelity import ImageScore
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.ops import significant_unsupported
from esr_validator.schemas.report import FigureSet, SplitFigures
from esr_validator.schemas.worker import Complexity, ImageTiming, WorkerResult

# A model whose raw output leaves [-50 %, 150 %] of data_range is almost surely mis-scaled.
RANGE_SLACK = 0.5


def _examples(names: list[str]) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def output_findings(
    images: list[ImageTiming], scores: list[ImageScore], *, data_range: float, scale: int
) -> list[Finding]:
    out: list[Finding] = []
    bad_shape = [
        f"{im.split}/{im.stem} gave {im.out_channels}x{im.out_height}x{im.out_width}, "
        f"expected 3x{im.lr_height * scale}x{im.lr_width * scale}"
        for im in images
        if (im.out_channels, im.out_height, im.out_width)
        != (3, im.lr_height * scale, im.lr_width * scale)
    ]
    if bad_shape:
        out.append(finding("output-shape", f"wrong output shape: {_examples(bad_shape)}"))
    nonfinite = [f"{im.split}/{im.stem} ({im.nonfinite} values)" for im in images if im.nonfinite]
    if nonfinite:
        out.append(
            finding("output-nonfinite", f"NaN or Inf in the output of {_examples(nonfinite)}")
        )
    lo, hi = -RANGE_SLACK * data_range, (1 + RANGE_SLACK) * data_range
    far = [
        f"{im.split}/{im.stem} [{im.raw_min:.3g}, {im.raw_max:.3g}]"
        for im in images
        if im.raw_min is not None
        and im.raw_max is not None
        and (im.raw_min < lo or im.raw_max > hi)
    ]
    if far:
        out.append(
            finding(
                "output-out-of-range",
                f"raw outputs far outside [0, {data_range:g}] before clamping: {_examples(far)}",
            )
        )
    constant = [f"{s.split}/{s.stem}" for s in scores if s.constant]
    if constant:
        out.append(finding("output-constant", f"constant output for {_examples(constant)}"))
    problems = [f"{s.split}/{s.stem}: {s.problem}" for s in scores if s.problem and not bad_shape]
    if problems:
        out.append(finding("output-shape", f"unscorable outputs: {_examples(problems)}"))
    return out


def psnr_findings(splits: list[SplitFigures], *, data_range: float) -> list[Finding]:
    out: list[Finding] = []
    for s in splits:
        if s.psnr is not None and s.bicubic_psnr is not None and s.psnr < s.bicubic_psnr:
            other = 255.0 if data_range == 1.0 else 1.0
            out.append(
                finding(
                    "psnr-below-bicubic",
                    f"{s.split}: PSNR {s.psnr:.2f} dB is below bicubic's {s.bicubic_psnr:.2f} dB",
                    hint=f"The manifest declares data_range = {data_range:g}; if the model was "
                    f"trained on inputs in [0, {other:g}], set data_range = {other:g}.",
                )
            )
    return out


def _spread_message(c: Complexity) -> str:
    if not c.flops_by_input:
        return "FLOPs/activations differ between inputs"
    flops, acts = c.flops_by_input, c.activations_by_input or [c.activations]
    return (
        f"FLOPs/activations differ between the {len(flops)} inputs counted: FLOPs "
        f"{min(flops) / 1e9:.4g}-{max(flops) / 1e9:.4g} G, activations "
        f"{min(acts) / 1e6:.4g}-{max(acts) / 1e6:.4g} M; the official figures "
        f"({c.flops / 1e9:.4g} G, {c.activations / 1e6:.4g} M) are on the official input"
    )


def complexity_findings(c: Complexity) -> list[Finding]:
    out: list[Finding] = []
    significant = significant_unsupported(c.unsupported_ops)
    if significant:
        ops = ", ".join(f"{k} x{v}" for k, v in sorted(significant.items()))
        out.append(finding("flops-unsupported-ops", f"fvcore counted 0 for: {ops}"))
    if c.input_dependent:
        out.append(finding("complexity-input-dependent", _spread_message(c)))
    if c.params != c.params_before_inference:
        out.append(
            finding(
                "complexity-changed-after-inference",
                f"params went from {c.params_before_inference} to {c.params} during inference",
            )
        )
    return out


def cuda_findings(calls: list[str]) -> list[Finding]:
    """The entry hard-codes CUDA; on a CPU-only machine those calls ran on the CPU."""
    if not calls:
        return []
    shown = "; ".join(calls[:5]) + (f" and {len(calls) - 5} more" if len(calls) > 5 else "")
    return [finding("hardcoded-cuda", f"the entry hard-codes CUDA: {shown}")]


def timing_findings(stable: FigureSet) -> list[Finding]:
    out: list[Finding] = []
    res = stable.resolution_ms
    if stable.below_resolution and res is not None and stable.runtime_ms is not None:
        cv = "" if stable.run_cv is None else f", run-to-run CV {stable.run_cv:.1%}"
        out.append(
            finding(
                "timing-below-resolution",
                f"the stable runtime ({stable.runtime_ms:.2f} ms{cv}) is below the clock's "
                f"resolution: its round trips alone spread by {res:.2f} ms run to run",
            )
        )
    if stable.machine_noisy and stable.machine_cv is not None:
        beside = stable.confirm_machine_cv
        out.append(
            finding(
                "machine-noisy",
                f"a fixed-work reference model's runtime spread by {stable.machine_cv:.1%} "
                "from run to run on this machine"
                + ("" if stable.run_cv is None else f" (this model's: {stable.run_cv:.1%})")
                + (
                    ""
                    if beside is None
                    else f", and by {beside:.1%} beside the confirmation "
                    "round (its slowest run out)"
                ),
            )
        )
    if not stable.noisy:
        return out
    if stable.run_cv is None:  # the synthetic protocol: one run, passes of one input
        return [finding("timing-noisy", "the timed passes spread by more than 10 % (IQR/median)")]
    beyond = "" if res is None else f", beyond the clock's own {res:.2f} ms"
    if stable.machine_cv is not None and stable.machine_factor is not None:
        beyond += f" and {stable.machine_factor:g} times the machine's own {stable.machine_cv:.1%}"
    again, beside = stable.confirm_cv, stable.confirm_machine_cv
    if again is not None and beside is not None and stable.confirm_factor is not None:
        beyond += (
            f"; {again:.1%} again in a confirmation round, its slowest run left out, over "
            f"{stable.confirm_factor:g} times the machine's {beside:.1%} beside it"
        )
    return [
        *out,
        finding(
            "timing-noisy", f"stable timings are noisy (run-to-run CV {stable.run_cv:.1%}{beyond})"
        ),
    ]


def process_findings(outcome: ProcessOutcome, *, role: str) -> list[Finding]:
    """Findings for a process that ended without a usable result file."""
    tail = outcome.log_tail.strip()[-1500:]
    if outcome.timed_out:
        return [
            finding(
                "worker-timeout",
                f"the {role} ran past its {outcome.wall_s:.0f} s limit and was killed",
            )
        ]
    if outcome.oom_killed or outcome.signal == 9 or outcome.exit_code == 137:
        return [
            finding(
                "worker-killed", f"the {role} was killed (SIGKILL, likely out of memory). {tail}"
            )
        ]
    if outcome.signal is not None:
        return [finding("worker-killed", f"the {role} died from signal {outcome.signal}. {tail}")]
    return [finding("worker-crashed", f"the {role} exited with code {outcome.exit_code}. {tail}")]


def measurement_findings(
    measured: Measurements, result: WorkerResult, scores: list[ImageScore], manifest: Manifest
) -> list[Finding]:
    """Every check of an evaluated run's measurements, in report order."""
    found = output_findings(
        result.images, scores, data_range=manifest.data_range, scale=manifest.scale
    )
    found += psnr_findings(measured.splits, data_range=manifest.data_range)
    found += timing_findings(measured.stable)
    found += cuda_findings(result.hardcoded_cuda)
    if result.complexity is not None:
        found += complexity_findings(result.complexity)
    return found
