"""From what the sandbox processes answered to one ``WorkerResult``, with integrity findings.

- **Runtime.** On the CPU, the round trip timed outside the worker less the channel's
  overhead (the null model's round trip for that image). On a GPU, the in-worker CUDA-event
  figure is the official clock; it is kept only when the outer bound agrees: it may not
  exceed the round trip, nor fall below half of the round trip less the overhead (less 1 ms
  of slack). Otherwise ESR512 and the outer figure.
- **Stable figure.** Derived from the official runs, without more forwards: the first image
  of every run is cold (a fresh process), so its stable figure is the warm repeat sent at the
  end of that run; every other image is already warm, and its stable figure is its official
  one. Memory: the first split's reading is already per-split; later splits are read after a
  reset (the official figure is the running maximum of both).
- **Reference.** The fixed-work reference model's runs (no entry code in those processes)
  get the same clock; they are kept per image only when there is one per official run.
- **Agreement.** Each run's SR output of each image is hashed; an output that differs from
  run 0's by more than one uint8 level anywhere (floating-point non-determinism moves a
  rounding by at most that; :data:`esr_validator.official.OUTPUT_TOLERANCE`) gets ESR513.
- **Complexity.** The cross-checks counted beside the official figures become findings.
"""

from __future__ import annotations

from esr_validator.codes import finding
from esr_validator.official import Confirmation, LRImage, NullPasses, RunRecord
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.worker import (
    Complexity,
    ImageTiming,
    RunInfo,
    SplitMemory,
    WorkerResult,
)

FLOPS_GAP = 1.05  # eager/traced ratio beyond which the traced count hides compute
HIDDEN_TENSORS = 0.01  # of params, and at least 1000 elements


def _consistent(event: float, outer: float, overhead: float) -> bool:
    inner_bound = outer - overhead
    return event <= outer and event >= 0.5 * inner_bound - 1.0


def _run_times(
    record: RunRecord, overhead: list[float], *, cuda: bool
) -> tuple[list[float], str, list[str]]:
    """Per-image official figures of one run, the clock used, and problems found."""
    times, problems, clock = [], [], "cuda-events" if cuda else "outer"
    for k, (out, outer) in enumerate(zip(record.outputs, record.outer_ms, strict=True)):
        outer_less = max(outer - overhead[k], 0.0)
        if not cuda:
            times.append(outer_less)
        elif out.event_ms is not None and _consistent(out.event_ms, outer, overhead[k]):
            times.append(out.event_ms)
        else:
            problems.append(
                f"{out.split}/{out.index}: event {out.event_ms} ms, outer {outer:.3f} ms"
            )
            times.append(outer_less)
    if problems:
        clock = "outer"
        times = [max(o - overhead[k], 0.0) for k, o in enumerate(record.outer_ms)]
    return times, clock, problems


def _events(null: NullPasses, k: int, count: int) -> list[float]:
    """Image ``k``'s null event figures, all of them or none."""
    events = [p[k] for p in null.event_ms if len(p) == count]
    return [e for e in events if e is not None] if None not in events else []


def _stable_times(record: RunRecord, overhead: list[float], *, cuda: bool) -> list[float]:
    """One run's per-image stable figures: the first image's warm repeat, when the run made
    one, stands for its cold forward (outer clock)."""
    times = _run_times(record, overhead, cuda=cuda)[0]
    if times and record.repeat_ms is not None:
        times[0] = max(record.repeat_ms - overhead[0], 0.0)
    return times


def assemble(
    images: list[LRImage],
    records: list[RunRecord],
    overhead: list[float],
    *,
    cuda: bool,
    synthetic: bool,
    tolerance: int,
    null: NullPasses | None = None,
    references: list[RunRecord] | None = None,
    confirmation: Confirmation | None = None,
) -> tuple[WorkerResult, list[Finding]]:
    """``null``: every null-model pass, kept per image for the clock's own spread;
    ``references``: the reference model's runs after the official runs, one per run (the
    machine's); ``confirmation``: the confirmation round, kept only whole and beside them."""
    findings: list[Finding] = []
    null = null or NullPasses()
    reference_times = [_run_times(rec, overhead, cuda=cuda)[0] for rec in references or []]
    if len(reference_times) != len(records) or synthetic:
        reference_times = []
    confirmations: list[RunRecord] = []
    confirm_times: list[list[float]] = []
    beside: list[list[float]] = []
    c = confirmation
    if c and reference_times and len(c.runs) == len(c.references) == len(records):
        confirmations = c.runs
        confirm_times = [_stable_times(rec, overhead, cuda=cuda) for rec in c.runs]
        beside = [_run_times(rec, overhead, cuda=cuda)[0] for rec in c.references]
    per_run, infos = [], []
    for r, record in enumerate(records):
        times, clock, problems = _run_times(record, overhead, cuda=cuda)
        if problems:
            findings.append(
                finding(
                    "timing-integrity",
                    f"run {r}: the in-worker clock disagrees with the outer bound for "
                    f"{len(problems)} image(s), e.g. {problems[0]}",
                )
            )
        per_run.append(times)
        assert record.result is not None
        infos.append(RunInfo(index=r, wall_s=record.result.wall_s, clock=clock))
    # A confirmation run's outputs are compared with run 0's like an official run's.
    everyone = [*records, *confirmations]
    differing = [(r, name) for r, rec in enumerate(everyone) for name in rec.differs]
    if differing:
        findings.append(
            finding(
                "outputs-differ-between-runs",
                f"{len(differing)} output(s) differ from run 0's by more than {tolerance} "
                f"uint8 level(s), e.g. {differing[0][1]} in run {differing[0][0]}",
            )
        )
    first = records[0]
    timings = []
    for k, image in enumerate(images):
        out = first.outputs[k]
        official = [] if synthetic else [times[k] for times in per_run]
        stable = list(official)
        if k == 0 and not synthetic:
            repeats = [rec.repeat_ms for rec in records]
            if all(ms is not None for ms in repeats):
                stable = [max(ms - overhead[0], 0.0) for ms in repeats if ms is not None]
        has_sr = bool(first.sha256[k])
        timings.append(
            ImageTiming(
                split=image.split,
                stem=image.stem,
                lr_height=image.height,
                lr_width=image.width,
                sr_file=f"sr/{image.split}/{image.stem}.npy" if has_sr else None,
                official_ms=official,
                stable_ms=stable if any(r.repeat_ms is not None for r in records) else [],
                raw_min=out.raw_min,
                raw_max=out.raw_max,
                nonfinite=out.nonfinite,
                out_channels=out.out_channels,
                out_height=out.out_height,
                out_width=out.out_width,
                outer_ms=[rec.outer_ms[k] for rec in records],
                event_ms=[rec.outputs[k].event_ms or 0.0 for rec in records] if cuda else [],
                overhead_ms=overhead[k],
                null_ms=[p[k] for p in null.outer_ms if len(p) == len(images)],
                null_event_ms=_events(null, k, len(images)) if cuda else [],
                reference_ms=[times[k] for times in reference_times],
                confirm_ms=[times[k] for times in confirm_times],
                confirm_reference_ms=[times[k] for times in beside],
                sr_sha256=[rec.sha256[k] for rec in records],
            )
        )
    splits = list(dict.fromkeys(i.split for i in images))
    memory = [
        SplitMemory(
            split=s,
            official_mb=[m for rec in records if (m := rec.memory[s][0]) is not None],
            stable_mb=[m for rec in records if (m := rec.memory[s][1]) is not None],
        )
        for s in splits
    ]
    base = first.result
    assert base is not None
    result = WorkerResult(
        status="ok",
        environment=base.environment,
        cudnn_benchmark=base.cudnn_benchmark,
        images=timings,
        memory=memory,
        synthetic=base.synthetic,
        runs=infos,
        hardcoded_cuda=base.hardcoded_cuda,
    )
    return result, findings


def complexity_findings(c: Complexity, *, asked: tuple[int, int] | None = None) -> list[Finding]:
    """``asked``: the (H, W) the trusted side asked the counts to use; another one is tampering."""
    found = []
    if asked is not None and (c.input_height, c.input_width) != tuple(asked):
        found.append(
            finding(
                "measuring-code-tampered",
                f"complexity counted on {c.input_height}x{c.input_width}, "
                f"asked for {asked[0]}x{asked[1]}",
            )
        )
    checks = c.checks
    if checks is None:
        return found
    if checks.tampered:
        found.append(
            finding("measuring-code-tampered", f"changed: {', '.join(checks.tampered[:5])}")
        )
    hidden = checks.float_tensor_elements - c.params
    if hidden > max(1000, HIDDEN_TENSORS * c.params):
        found.append(
            finding(
                "params-hidden",
                f"parameters() counts {c.params:,} elements, but the model holds "
                f"{checks.float_tensor_elements:,} in floating-point tensors",
            )
        )
    eager = checks.flops_dispatch
    if eager is not None and eager > FLOPS_GAP * c.flops + 1e6:
        found.append(
            finding(
                "flops-hidden-under-tracing",
                f"fvcore counts {c.flops / 1e9:.4f} G on the traced graph, but the eager forward "
                f"runs {eager / 1e9:.4f} G (multiply-adds at operator dispatch)",
            )
        )
    if checks.traced_matches is False:
        diff = (
            "a different shape, or NaN/Inf in other places"
            if checks.traced_max_diff is None
            else (f"max difference {checks.traced_max_diff:.4g}")
        )
        found.append(
            finding(
                "traced-output-differs", f"the traced graph's output differs from eager: {diff}"
            )
        )
    convs = checks.conv_count_dispatch
    if convs is not None and convs > c.conv_count:
        found.append(
            finding(
                "functional-convolutions",
                f"{convs} convolutions at dispatch ({checks.activations_dispatch:,} output "
                f"elements) against the official {c.conv_count} ({c.activations:,})",
            )
        )
    return found
