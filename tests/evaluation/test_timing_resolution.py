"""The stable set's ``noisy`` flag against the clock's resolution, on constructed figures.

The per-run figures and the null passes are built by hand: the statistic is the test. A
run-to-run spread is noise only when it is both above ``NOISY_CV`` of the runtime and above
``CLOCK_FACTOR`` times what the clock alone spreads (the null model's passes, same arithmetic),
and, where a reference model was timed after each run, above ``MACHINE_FACTOR`` times the
machine's own CV (that model's per-run figures, same arithmetic).
"""

from __future__ import annotations

import math
import statistics

import pytest

from esr_validator import figures, noise
from esr_validator.checks import timing_findings
from esr_validator.schemas.report import FigureSet
from esr_validator.schemas.worker import (
    REFERENCE_SHARE,
    ImageTiming,
    RunInfo,
    WorkerResult,
    reference_layers,
)

SPLITS = ["valid", "valid", "test"]


def _image(
    split: str,
    k: int,
    stable: list[float],
    null: list[float],
    events: list[float] | None = None,
    reference: list[float] | None = None,
    confirm: list[float] | None = None,
    beside: list[float] | None = None,
) -> ImageTiming:
    return ImageTiming(
        split=split,
        stem=f"{k:04d}",
        lr_height=48,
        lr_width=48,
        official_ms=stable,
        stable_ms=stable,
        out_height=192,
        out_width=192,
        out_channels=3,
        null_ms=null,
        null_event_ms=events or [],
        reference_ms=reference or [],
        confirm_ms=confirm or [],
        confirm_reference_ms=beside or [],
    )


def _report(
    per_run: list[float],
    nulls: list[list[float]],
    *,
    events: list[list[float]] | None = None,
    reference: list[float] | None = None,
    confirm: list[float] | None = None,
    beside: list[float] | None = None,
) -> FigureSet:
    """Every image takes ``per_run[r]`` in run ``r`` (the reference model ``reference[r]``
    after the runs; the confirmation round ``confirm[r]``, the reference ``beside[r]`` after
    each of its runs); image ``k``'s null passes: ``nulls[k]``."""
    events_of = events or [None] * len(SPLITS)
    images = [
        _image(s, k, list(per_run), nulls[k], events_of[k], reference, confirm, beside)
        for k, s in enumerate(SPLITS)
    ]
    clock = "cuda-events" if events else "outer"
    runs = [RunInfo(index=r, wall_s=1.0, clock=clock) for r in range(len(per_run))]
    return figures.measure(WorkerResult(status="ok", images=images, runs=runs), []).stable


def test_clock_sd_is_the_null_figures_spread() -> None:
    # A whole pass 2 ms slower: the per-pass figures say so; the per-image variances as well.
    passes = [[5.0, 6.0, 7.0], [7.0, 8.0, 9.0]]
    figure = [(statistics.fmean(p[:2]) + p[2]) / 2 for p in passes]
    assert noise.clock_sd(passes, SPLITS) == pytest.approx(statistics.stdev(figure))
    # Images jittering against one another: the per-pass figures barely move, but each image
    # does, and that jitter reaches a figure measured on other passes.
    passes = [[5.0, 9.0, 7.0], [9.0, 5.0, 7.0]]
    weights = [0.25, 0.25, 0.5]
    columns = list(zip(*passes, strict=True))
    per_image = math.sqrt(
        sum(w * w * statistics.variance(c) for w, c in zip(weights, columns, strict=True))
    )
    assert statistics.stdev([(statistics.fmean(p[:2]) + p[2]) / 2 for p in passes]) == 0.0
    assert noise.clock_sd(passes, SPLITS) == pytest.approx(per_image)
    assert noise.clock_sd(passes[:1], SPLITS) is None  # one pass has no spread


def test_a_quiet_long_runtime_is_neither_noisy_nor_below_resolution() -> None:
    stable = _report([200.0, 201.0, 199.5], [[5.0, 5.2], [6.0, 6.1], [5.5, 5.3]])
    assert stable.run_cv is not None and stable.run_cv < noise.NOISY_CV
    assert stable.resolution_ms is not None and stable.resolution_ms > 0
    assert not stable.noisy and not stable.below_resolution
    assert timing_findings(stable) == []


def test_a_short_runtime_within_the_clocks_spread_is_below_resolution_not_noisy() -> None:
    # A 4 ms model measured through a clock whose round trips move by several ms: a CV of
    # about 30 %, all of it within what the null model's passes spread.
    nulls = [[8.0, 14.0], [9.0, 16.0], [10.0, 15.0]]
    stable = _report([3.0, 5.0, 4.2, 2.6, 5.1], nulls)
    assert stable.run_cv is not None and stable.run_cv > 8 * noise.NOISY_CV
    assert stable.resolution_ms is not None
    sd = stable.run_cv * (stable.runtime_ms or 0.0)
    assert sd < noise.CLOCK_FACTOR * stable.resolution_ms
    assert stable.below_resolution and not stable.noisy
    [note] = timing_findings(stable)
    assert note.code == "ESR519" and note.severity == "info"
    assert "below the clock's resolution" in note.message


def test_a_spread_beyond_the_clock_is_noisy_even_below_resolution() -> None:
    # The same clock, but runs that differ by tens of ms: that is the model (or the machine).
    nulls = [[8.0, 14.0], [9.0, 16.0], [10.0, 15.0]]
    stable = _report([3.0, 45.0, 12.0, 38.0, 5.0], nulls)
    assert stable.below_resolution and stable.noisy
    found = {f.code: f for f in timing_findings(stable)}
    assert set(found) == {"ESR519", "ESR509"}
    assert (
        "run-to-run CV" in found["ESR509"].message and "beyond the clock" in found["ESR509"].message
    )


def test_a_long_runtime_spreading_past_the_threshold_is_noisy() -> None:
    stable = _report([200.0, 230.0, 190.0], [[5.0, 5.2], [6.0, 6.1], [5.5, 5.3]])
    assert stable.run_cv is not None and stable.run_cv > noise.NOISY_CV
    assert stable.noisy and not stable.below_resolution
    assert [f.code for f in timing_findings(stable)] == ["ESR509"]


def test_not_noisy_above_the_threshold_means_below_resolution() -> None:
    """The two conditions can only disagree on a runtime the clock cannot resolve."""
    nulls = [[8.0, 14.0], [9.0, 16.0], [10.0, 15.0]]
    for per_run in ([3.0, 5.0, 4.2], [20.0, 22.0, 21.0], [60.0, 64.0, 59.0], [100.0, 104.0]):
        stable = _report(per_run, nulls)
        assert stable.run_cv is not None
        if stable.run_cv > noise.NOISY_CV and not stable.noisy:
            assert stable.below_resolution


def test_cuda_event_runs_take_the_null_event_figures_as_the_clock() -> None:
    # Round trips that jitter by ms, CUDA events by microseconds: on a GPU the events time
    # the forward, so a 0.3 ms forward spreading by 10 % run to run is noisy there.
    outer = [[8.0, 14.0], [9.0, 16.0], [10.0, 15.0]]
    events = [[0.010, 0.011], [0.010, 0.012], [0.011, 0.010]]
    per_run = [0.30, 0.36, 0.27, 0.33]
    on_gpu = _report(per_run, outer, events=events)
    assert on_gpu.resolution_ms is not None and on_gpu.resolution_ms < 0.01
    assert on_gpu.noisy and not on_gpu.below_resolution
    on_cpu = _report(per_run, outer)
    assert on_cpu.below_resolution and not on_cpu.noisy


def test_without_null_passes_the_threshold_decides_alone() -> None:
    stable = _report([200.0, 230.0, 190.0], [[], [], []])
    assert stable.resolution_ms is None and stable.noisy and not stable.below_resolution


NULLS = [[5.0, 5.2], [6.0, 6.1], [5.5, 5.3]]


def test_a_spread_the_machine_shares_is_the_machines_not_the_models() -> None:
    # Runs 15 % apart, and a fixed-work reference that spreads as much: the machine's.
    per_run = [200.0, 260.0, 190.0, 240.0, 205.0]
    stable = _report(per_run, NULLS, reference=[100.0, 128.0, 97.0, 121.0, 104.0])
    assert stable.run_cv is not None and stable.run_cv > noise.NOISY_CV
    assert stable.machine_cv is not None and stable.machine_cv > noise.NOISY_CV
    assert stable.machine_factor == noise.machine_factor(5) == 4.0
    assert stable.run_cv < stable.machine_factor * stable.machine_cv
    assert not stable.noisy and stable.machine_noisy
    [found] = timing_findings(stable)
    assert found.code == "ESR521" and found.severity == "warning"
    assert f"{stable.machine_cv:.1%}" in found.message and f"{stable.run_cv:.1%}" in found.message


def test_a_model_far_noisier_than_a_quiet_machine_is_noisy() -> None:
    per_run = [200.0, 260.0, 190.0, 240.0, 205.0]
    stable = _report(per_run, NULLS, reference=[100.0, 101.0, 99.5, 100.4, 100.2])
    assert stable.machine_cv is not None and stable.machine_cv < noise.NOISY_CV
    assert stable.noisy and not stable.machine_noisy
    [found] = timing_findings(stable)
    assert found.code == "ESR509" and "4 times the machine's own" in found.message


def test_a_model_noisier_than_a_noisy_machine_by_the_factor_is_still_noisy() -> None:
    per_run = [100.0, 200.0, 60.0, 180.0, 90.0]  # CV about 45 %
    stable = _report(per_run, NULLS, reference=[100.0, 108.0, 95.0, 104.0, 99.0])  # about 5 %
    assert stable.noisy and stable.machine_noisy
    assert {f.code for f in timing_findings(stable)} == {"ESR509", "ESR521"}


# Measured on this 2-vCPU VM (docs/metrics.md): the sample's official runs, one whole run
# stalled 3.5 times as long, beside steady references timed after them; then the
# confirmation round and the references timed beside it, steady.
STALLED = [5.44, 5.44, 5.62, 18.74, 5.24]
AFTER = [4.00, 3.85, 3.68, 3.60, 3.65]
CONFIRMED_STEADY = [5.70, 6.35, 5.20, 5.61, 5.43]
BESIDE = [3.49, 3.46, 3.42, 3.96, 3.28]
FAST_NULLS = [[0.10, 0.12], [0.11, 0.10], [0.12, 0.11]]
QUIET = [100.0, 101.0, 99.5, 100.4, 100.2]


def test_a_stall_that_does_not_happen_again_is_not_the_models() -> None:
    # Judged beside the machine alone, the stalled runs would be the model's.
    alone = _report(STALLED, FAST_NULLS, reference=AFTER)
    assert alone.noisy and alone.confirm_cv is None
    stable = _report(STALLED, FAST_NULLS, reference=AFTER, confirm=CONFIRMED_STEADY, beside=BESIDE)
    assert stable.run_cv is not None and stable.run_cv > 0.6  # the figure did move
    assert stable.confirm_cv is not None and stable.confirm_cv < 0.1
    assert not stable.noisy
    assert "ESR509" not in {f.code for f in timing_findings(stable)}


def test_a_spread_that_happens_again_beside_a_quiet_machine_is_the_models() -> None:
    confirm = [230.0, 180.0, 265.0, 195.0, 250.0]
    per_run = [200.0, 260.0, 190.0, 240.0, 205.0]
    stable = _report(per_run, NULLS, reference=QUIET, confirm=confirm, beside=QUIET[::-1])
    assert stable.noisy and stable.confirm_cv == pytest.approx(noise.cv(noise.steady(confirm)))
    assert stable.machine_factor == 4.0 and stable.confirm_factor == 5.43  # 5 runs, 4 kept
    assert stable.confirm_machine_cv == pytest.approx(noise.cv(noise.steady(QUIET)))
    [found] = timing_findings(stable)
    assert found.code == "ESR509" and f"{stable.confirm_cv:.1%} again" in found.message
    assert f"5.43 times the machine's {stable.confirm_machine_cv:.1%} beside it" in found.message


def test_the_slowest_run_of_a_round_is_left_out_from_four_runs() -> None:
    assert noise.steady([5.0, 9.0, 6.0, 5.5]) == [5.0, 6.0, 5.5]
    assert noise.steady([5.0, 9.0, 9.0, 5.5, 6.0]) == [5.0, 9.0, 5.5, 6.0]  # one, not all
    assert noise.steady([5.0, 9.0, 6.0]) == [5.0, 9.0, 6.0]  # too few to spare one


def test_one_stalled_confirmation_run_is_not_the_models() -> None:
    # Measured on this VM: the sample's confirmation round with one run stalled 2.3 times as
    # long, beside steady references. Judged whole, 5.6 times the machine's CV.
    stalled = [9.49, 8.87, 10.15, 10.52, 22.58]
    beside = [6.18, 6.10, 5.54, 5.38, 5.08]
    assert noise.cv(stalled) > noise.machine_factor(5) * noise.cv(beside)
    stable = _report(
        [6.11, 4.84, 5.49, 11.26, 7.95], FAST_NULLS, reference=AFTER, confirm=stalled, beside=beside
    )
    assert not stable.noisy


def test_a_model_slow_in_two_runs_of_each_round_is_noisy() -> None:
    # Two slow runs of five in each round: leaving one out still leaves the spread.
    stable = _report(
        [5.0, 10.0, 5.2, 11.0, 5.1],
        FAST_NULLS,
        reference=AFTER,
        confirm=[10.5, 5.1, 5.0, 9.8, 5.2],
        beside=BESIDE,
    )
    assert stable.noisy


def test_the_confirmation_round_is_judged_beside_the_machine_beside_it() -> None:
    # A quiet machine after the runs, but the references beside the round spread about as
    # much as the round does: the machine's, not the model's.
    per_run = [200.0, 260.0, 190.0, 240.0, 205.0]
    beside = [100.0, 128.0, 97.0, 121.0, 104.0]
    stable = _report(per_run, NULLS, reference=QUIET, confirm=per_run[::-1], beside=beside)
    assert stable.confirm_cv is not None and stable.confirm_cv > noise.NOISY_CV
    assert stable.machine_cv is not None and stable.machine_cv < noise.NOISY_CV
    # The machine is named all the same: beside the round it spread a fixed workload.
    assert not stable.noisy and stable.machine_noisy
    [found] = timing_findings(stable)
    assert found.code == "ESR521" and "beside the confirmation round" in found.message


def test_a_confirmation_round_within_the_clock_clears_the_model() -> None:
    # The confirmation runs spread by 5 %, but the clock alone moves the figure by 10 ms.
    wide = [[5.0, 25.0], [6.0, 26.0], [5.5, 25.5]]
    stable = _report(
        [200.0, 300.0, 190.0, 280.0, 205.0],
        wide,
        reference=QUIET,
        confirm=[200.0, 210.0, 190.0, 205.0, 196.0],
        beside=QUIET,
    )
    assert stable.resolution_ms is not None and stable.confirm_cv is not None
    assert stable.confirm_cv > noise.NOISY_CV and not stable.noisy


def test_a_partial_confirmation_round_is_not_judged() -> None:
    # A round of another length than the runs (never assembled so) decides nothing.
    per_run = [200.0, 260.0, 190.0, 240.0, 205.0]
    stable = _report(per_run, NULLS, reference=QUIET, confirm=[200.0] * 3, beside=[100.0] * 3)
    assert stable.noisy and stable.confirm_cv is None


def test_without_a_reference_the_machine_condition_drops_out() -> None:
    stable = _report([200.0, 230.0, 190.0], NULLS)
    assert stable.machine_cv is None and not stable.machine_noisy and stable.noisy


def test_the_reference_does_a_quarter_of_the_models_work_per_pixel() -> None:
    import torch
    from fvcore.nn import FlopCountAnalysis

    from esr_validator.sandbox.session import reference_model

    x = torch.rand(1, 3, 32, 40)
    pixels = 32 * 40
    for scale, layers in ((4, 1), (4, 7), (2, 30), (3, 64)):
        model = reference_model(scale, layers)
        flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total()
        assert reference_layers(REFERENCE_SHARE * flops, pixels, scale) == layers
        assert model(x).shape == (1, 3, 32 * scale, 40 * scale)
    assert reference_layers(0, pixels, 4) == 1
    assert reference_layers(10**15, pixels, 4) == 64


def test_the_reference_model_is_the_same_in_every_process() -> None:
    import torch

    from esr_validator.sandbox.session import reference_model

    torch.manual_seed(123)
    first = [p.clone() for p in reference_model(4, 3).parameters()]
    torch.manual_seed(456)
    again = list(reference_model(4, 3).parameters())
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    # Building it leaves the process's random state as it was.
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    reference_model(4, 3)
    assert torch.equal(torch.rand(1), expected)


def test_the_machine_factor_is_the_f_tests_at_one_percent() -> None:
    stats = pytest.importorskip("scipy.stats")
    for runs in range(2, 12):
        d = runs - 1
        expected = math.sqrt(stats.f.ppf(0.99, d, d)) if d <= 10 else noise.machine_factor(11)
        assert noise.machine_factor(runs) == pytest.approx(expected, abs=0.01)
    assert noise.machine_factor(50) == noise.machine_factor(11)  # conservative beyond the table
    assert noise.machine_factor(1) == noise.machine_factor(2)  # one run is never judged anyway


def test_runs_that_spread_more_than_the_machine_after_them_are_worth_a_round() -> None:
    # A screen, not a verdict: 1 times the machine, where the F-test without a round needs 4.
    assert noise.worth_confirming(0.20, 0.10) and noise.worth_confirming(0.20, None)
    assert not noise.worth_confirming(0.10, 0.20) and not noise.worth_confirming(None, 0.10)
    # Confirmed, such runs are noisy though the F-test alone would not have said so.
    per_run = [200.0, 230.0, 190.0, 225.0, 205.0]  # CV about 8 %
    after = [100.0, 104.0, 97.0, 103.0, 99.0]  # about 3 %
    alone = _report(per_run, NULLS, reference=after)
    assert alone.run_cv is not None and alone.machine_cv is not None
    assert alone.machine_cv < alone.run_cv < 4 * alone.machine_cv and not alone.noisy
    round_ = [230.0, 180.0, 265.0, 195.0, 250.0]
    assert _report(per_run, NULLS, reference=after, confirm=round_, beside=QUIET).noisy
