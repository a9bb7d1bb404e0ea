"""Whether a stable runtime's run-to-run spread is the model's or the clock's.

Four conditions make ``noisy`` (docs/metrics.md, "Why noisy is run-to-run only"):

- **Relative**: the run-to-run CV of the per-run (valid + test) / 2 exceeds :data:`NOISY_CV`.
  The organizers' own repeats of one model on their machine spread by 0.6-0.8 % after the
  first run (2025 EFDN log); the closest neighbours of the 2026 results differ by 1.5-3 %.
- **Beyond the clock**: its run-to-run SD exceeds :data:`CLOCK_FACTOR` times the SD that the
  clock alone puts on that figure (``resolution_ms``). On the CPU the clock is the round trip
  timed outside the worker, and its own spread is measured by the null-model passes that
  calibrate the overhead: each pass gives the same (valid + test) / 2 of per-split means over
  the same images, with nothing computed. On a GPU whose CUDA events were kept, the null
  passes' event figures play that part.
- **Beyond the machine**: a fixed-work reference model is timed the same way on the same
  images in processes of its own after the runs, with no entry code loaded
  (:mod:`esr_validator.official`), when the first two conditions hold (only then is there a
  spread to explain); its run-to-run CV is the machine's (``machine_cv``). A machine whose
  cores are shared spreads every workload; that spread is the machine's, not the model's,
  and the machine is reported as noisy instead (``machine_noisy``: its CV, or the
  confirmation round's ``confirm_machine_cv``, exceeds
  :data:`NOISY_CV`). Runs that spread more than the reference did get a confirmation round.
- **Again, beside the machine**: the confirmation round decides. As many more runs of the
  entry, each a fresh process like an official one, each followed at once by a reference
  run. The round, without its slowest run (:func:`steady`, from :data:`STEADY_FROM` runs),
  must spread beyond the relative and clock conditions too, with a CV (``confirm_cv``) over
  :func:`machine_factor` times (5.43 for the 4 runs kept of 5: ``confirm_factor``) the CV of
  the reference runs beside it, their slowest left out too (``confirm_machine_cv``). A short
  run that the machine stalled once is the commonest outlier on a shared machine, it is only
  ever slower, and it rarely lands in both rounds; a model whose runs differ does so in more
  than one run of each round. Where no round could be run (one of its processes failed),
  the runs decide beside the machine after them: a CV over :func:`machine_factor` times
  (4 at the rulesets' 5 runs) ``machine_cv``.

A runtime for which even a :data:`NOISY_CV` spread is within the clock's reach is
``below_resolution``: its CV says more about the clock than about the model.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

NOISY_CV = 0.03  # run-to-run; see docs/metrics.md for the measurements behind it
#: A confirmation round of this many runs or more is judged without its slowest run, and so
#: is the machine's (:func:`steady`).
STEADY_FROM = 4
# With the clock's SD known, clock noise alone exceeds twice it with probability
# P(chi2_{R-1} > 4 ): 4.6 % for 2 runs, 1.8 % for 3, 0.3 % for 5.
CLOCK_FACTOR = 2.0
# Two CVs of R runs each with the same underlying spread: the ratio of their variances is
# F(R-1, R-1). The model is noisier than the machine when its CV exceeds the machine's by
# sqrt(F's 99th percentile): a model spreading as the machine does is flagged 1 % of the time.
# Indexed by R - 1 (scipy.stats.f.ppf(0.99, d, d) ** 0.5); beyond 10 degrees of freedom the
# last value, which is conservative.
_MACHINE_FACTORS = (63.66, 9.95, 5.43, 4.00, 3.31, 2.91, 2.64, 2.46, 2.31, 2.20)


def machine_factor(runs: int) -> float:
    """How many times the machine's CV a model's must exceed, for ``runs`` runs of each."""
    return _MACHINE_FACTORS[min(max(runs, 2), len(_MACHINE_FACTORS) + 1) - 2]


@dataclass(frozen=True)
class Noise:
    run_cv: float | None
    noisy: bool
    resolution_ms: float | None
    below_resolution: bool
    machine_cv: float | None = None
    machine_noisy: bool = False
    machine_factor: float | None = None
    confirm_cv: float | None = None
    confirm_machine_cv: float | None = None
    confirm_factor: float | None = None


def _weights(splits: list[str]) -> list[float]:
    """Each image's weight in (mean over splits) of (mean over the split's images)."""
    counts = {s: splits.count(s) for s in splits}
    return [1.0 / (len(counts) * counts[s]) for s in splits]


def clock_sd(passes: list[list[float]], splits: list[str]) -> float | None:
    """The run-to-run SD the clock alone gives the stable figure, from null passes
    (``passes[p][k]``: pass ``p``, image ``k`` of split ``splits[k]``).

    Two estimates, the larger kept: the SD of the per-pass figures themselves (catches a
    whole pass slowed down, but has one degree of freedom per extra pass), and the per-image
    pass-to-pass variances propagated through the figure's weights (one degree of freedom per
    image, but blind to a slowdown shared by every image of a pass).
    """
    usable = [p for p in passes if len(p) == len(splits)]
    if len(usable) < 2 or not splits:
        return None
    w = _weights(splits)
    figures = [sum(wk * x for wk, x in zip(w, p, strict=True)) for p in usable]
    whole = statistics.stdev(figures)
    per_image = math.sqrt(
        sum(wk**2 * statistics.variance([p[k] for p in usable]) for k, wk in enumerate(w))
    )
    return float(max(whole, per_image))


def cv(values: list[float]) -> float | None:
    """The coefficient of variation; None for fewer than 2 values or a mean that is not > 0."""
    if len(values) < 2 or statistics.fmean(values) <= 0:
        return None
    return float(statistics.stdev(values) / statistics.fmean(values))


def _spread(values: list[float], floor: float) -> tuple[float | None, bool]:
    """The CV of ``values`` and whether it is a spread worth explaining: beyond
    :data:`NOISY_CV` and its SD beyond ``floor`` (the clock's share)."""
    run_cv = cv(values)
    if run_cv is None:
        return None, False
    return run_cv, run_cv > NOISY_CV and statistics.stdev(values) > floor


def steady(values: list[float]) -> list[float]:
    """``values`` without the largest, for rounds of at least :data:`STEADY_FROM` runs: a
    short run that the machine stalled once is the commonest outlier, and only ever slower."""
    if len(values) < STEADY_FROM:
        return list(values)
    out = list(values)
    out.remove(max(out))
    return out


def worth_confirming(run_cv: float | None, machine_cv: float | None) -> bool:
    """Whether runs that spread beyond the clock are worth a confirmation round: they spread
    more than the reference timed after them did (a screen, not a verdict: the round decides)."""
    return run_cv is not None and (machine_cv is None or run_cv > machine_cv)


def judge(
    by_run: list[float],
    resolution_ms: float | None,
    machine_by_run: list[float] | None = None,
    confirm_by_run: list[float] | None = None,
    confirm_machine_by_run: list[float] | None = None,
) -> Noise:
    """``by_run``: the per-run figures; ``machine_by_run``: the reference model's after the
    runs, one per run; ``confirm_by_run`` / ``confirm_machine_by_run``: the confirmation
    round's, the entry's run ``r`` timed just before the reference's run ``r``. Without a
    resolution (no null passes), a reference or a confirmation round, those conditions drop
    out."""
    machine = cv(machine_by_run or [])
    machine_noisy = machine is not None and machine > NOISY_CV
    factor = machine_factor(len(by_run)) if machine is not None else None
    if not by_run or statistics.fmean(by_run) <= 0:
        return Noise(None, False, resolution_ms, False, machine, machine_noisy, factor)
    mean = statistics.fmean(by_run)
    floor = CLOCK_FACTOR * resolution_ms if resolution_ms is not None else 0.0
    below = floor > NOISY_CV * mean
    run_cv, spread = _spread(by_run, floor)
    if run_cv is None:
        return Noise(None, False, resolution_ms, below, machine, machine_noisy, factor)
    confirm, beside = confirm_by_run or [], confirm_machine_by_run or []
    if not (confirm and len(confirm) == len(beside) == len(by_run)):
        # No confirmation round: the runs beside the machine decide, by the F-test.
        beyond = machine is None or factor is None or run_cv > factor * machine
        return Noise(
            run_cv, spread and beyond, resolution_ms, below, machine, machine_noisy, factor
        )
    # The confirmation round decides: its steady runs beside the machine's steady runs.
    kept = steady(confirm)
    confirm_cv, again = _spread(kept, floor)
    confirm_machine = cv(steady(beside))
    confirm_factor = machine_factor(len(kept))
    beyond_again = (
        confirm_cv is not None
        and confirm_machine is not None
        and confirm_cv > confirm_factor * confirm_machine
    )
    return Noise(
        run_cv=run_cv,
        noisy=spread and worth_confirming(run_cv, machine) and again and beyond_again,
        resolution_ms=resolution_ms,
        below_resolution=below,
        machine_cv=machine,
        # Either set of reference runs shows the machine for what it is.
        machine_noisy=machine_noisy or (confirm_machine is not None and confirm_machine > NOISY_CV),
        machine_factor=factor,
        confirm_cv=confirm_cv,
        confirm_machine_cv=confirm_machine,
        confirm_factor=confirm_factor,
    )
