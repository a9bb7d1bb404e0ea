"""Whether a stable runtime's run-to-run spread is the model's or the clock's.

Three conditions make ``noisy`` (docs/metrics.md, "Why noisy is run-to-run only"):

- **Relative**: the run-to-run CV of the per-run (valid + test) / 2 exceeds :data:`NOISY_CV`.
  The organizers' own repeats of one model on their machine spread by 0.6-0.8 % after the
  first run (2025 EFDN log); the closest neighbours of the 2026 results differ by 1.5-3 %.
- **Beyond the clock**: its run-to-run SD exceeds :data:`CLOCK_FACTOR` times the SD that the
  clock alone puts on that figure (``resolution_ms``). On the CPU the clock is the round trip
  timed outside the worker, and its own spread is measured by the null-model passes that
  calibrate the overhead: each pass gives the same (valid + test) / 2 of per-split means over
  the same images, with nothing computed. On a GPU whose CUDA events were kept, the null
  passes' event figures play that part.
- **Beyond the machine**: its run-to-run CV exceeds :func:`machine_factor` times (4 at the
  rulesets' 5 runs) the machine's own (``machine_cv``): the run-to-run CV of a fixed-work
  reference model, timed the same way on the same images in processes of its own after the
  runs, with no entry code loaded (:mod:`esr_validator.official`); measured only when the
  first two conditions hold, since only then is there a spread to explain. A machine whose cores
  are shared spreads every workload; that spread is the machine's, not the model's, and the
  machine is reported as noisy instead (``machine_noisy``: its CV exceeds :data:`NOISY_CV`).

A runtime for which even a :data:`NOISY_CV` spread is within the clock's reach is
``below_resolution``: its CV says more about the clock than about the model.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

NOISY_CV = 0.03  # run-to-run; see docs/metrics.md for the measurements behind it
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


def judge(
    by_run: list[float], resolution_ms: float | None, machine_by_run: list[float] | None = None
) -> Noise:
    """``by_run``: the per-run figures; ``machine_by_run``: the reference model's, one per
    run. Without a resolution (no null passes) or a reference, those conditions drop out."""
    machine = cv(machine_by_run or [])
    machine_noisy = machine is not None and machine > NOISY_CV
    factor = machine_factor(len(by_run)) if machine is not None else None
    if not by_run or statistics.fmean(by_run) <= 0:
        return Noise(None, False, resolution_ms, False, machine, machine_noisy, factor)
    mean = statistics.fmean(by_run)
    floor = CLOCK_FACTOR * resolution_ms if resolution_ms is not None else 0.0
    below = floor > NOISY_CV * mean
    if len(by_run) < 2:
        return Noise(None, False, resolution_ms, below, machine, machine_noisy, factor)
    sd = statistics.stdev(by_run)
    run_cv = sd / mean
    beyond_machine = machine is None or factor is None or run_cv > factor * machine
    noisy = run_cv > NOISY_CV and sd > floor and beyond_machine
    return Noise(float(run_cv), noisy, resolution_ms, below, machine, machine_noisy, factor)
