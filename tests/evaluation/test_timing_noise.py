"""The ``noisy`` flag end to end: real sandbox processes, real torch, the outer clock.

The sample's forwards take a few milliseconds on the smoke data; on a shared machine its
run-to-run CV is large and says nothing about the model, since a fixed-work reference model
timed beside it spreads as much: it must not raise ESR509. A model whose runs genuinely differ
by far more than the clock and the machine do must raise it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from esr_validator.noise import CLOCK_FACTOR, NOISY_CV, worth_confirming
from esr_validator.official import NULL_PASSES
from tests import subs
from tests.factories import codes, evaluate, make_settings

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).parents[2] / "sample_submission" / "team01_TinyESR.zip"
RUNS = make_settings(runs=5, stable_runs=5, warmup=1, timeout=300.0).eval_options()
HEAD, FORWARD = subs.TINY_MODEL.split("    def forward(self, x):")

# Each process draws once how long its forwards sleep (0-600 ms, cubed uniform: a CV of about
# 110 %): five runs of one model that differ far more than five machines would. A sleep, so no
# load on a busy CPU can mimic it.
UNEVEN = (
    HEAD.replace("import torch\n", "import random\nimport time\n\nimport torch\n", 1)
    + "    pause = 0.6 * random.SystemRandom().random() ** 3\n\n"
    + "    def forward(self, x):\n        time.sleep(self.pause)"
    + FORWARD
)


def _quiet() -> str | None:
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return None if load < 0.75 * cores else f"load average {load:.1f} on {cores} cores"


def test_the_clock_and_the_machine_are_measured_beside_the_runs() -> None:
    report = evaluate(SAMPLE, options=RUNS)
    stable = report.stable
    assert stable is not None and stable.runtime_ms is not None and stable.run_cv is not None
    # The clock's spread comes from every null pass of every image, and the overhead is
    # their minimum.
    for im in report.images:
        assert len(im.null_ms) == NULL_PASSES and im.overhead_ms == min(im.null_ms)
    assert stable.resolution_ms is not None and stable.resolution_ms > 0
    # Reference runs happen exactly when the spread needs explaining (beyond 3 % and the
    # clock): then the reference model answered every image once per run, in processes of
    # its own, and the machine's spread is judged beside the model's.
    assert stable.run_cv is not None and stable.runtime_ms is not None
    sd = stable.run_cv * stable.runtime_ms
    to_explain = stable.run_cv > NOISY_CV and sd > CLOCK_FACTOR * stable.resolution_ms
    for im in report.images:
        assert len(im.reference_ms) == (5 if to_explain else 0)
        assert all(ms >= 0 for ms in im.reference_ms)
    assert (stable.machine_cv is not None) == to_explain
    assert ("ESR521" in codes(report)) == stable.machine_noisy
    # A confirmation round happens exactly when the runs spread more than the machine did:
    # the entry's runs again, each followed by a reference run; never averaged into a figure.
    beyond = to_explain and worth_confirming(stable.run_cv, stable.machine_cv)
    for im in report.images:
        assert len(im.confirm_ms) == len(im.confirm_reference_ms) == (5 if beyond else 0)
        assert len(im.stable_ms) == 5
    assert (stable.confirm_cv is not None) == beyond
    assert len(report.runs) == 5


def test_the_sample_is_not_flagged_beyond_the_machine() -> None:
    """The sample is a steady model: whatever its runs spread by here, a fixed-work reference
    model timed beside it spreads as much, once its one stalled run is left out, so ESR509
    stays quiet on any machine (a noisy one gets ESR521). On this VM the confirmation round
    cleared it in every report measured; the runs alone were flagged in 2 of 30
    (docs/metrics.md)."""
    report = evaluate(SAMPLE, options=RUNS)
    stable = report.stable
    assert stable is not None and stable.run_cv is not None
    detail = (stable.run_cv, stable.machine_cv, stable.resolution_ms, _quiet())
    assert "ESR509" not in codes(report) and not stable.noisy, detail


def test_a_model_whose_runs_differ_is_flagged(tmp_path: Path) -> None:
    members = subs.good_members()
    members["models/team16_TinySR.py"] = UNEVEN.encode()
    report = evaluate(subs.write_zip(tmp_path / "uneven.zip", members), options=RUNS)
    stable = report.stable
    assert stable is not None and stable.run_cv is not None and stable.runtime_ms is not None
    assert stable.resolution_ms is not None and stable.machine_cv is not None
    assert stable.machine_factor is not None
    sd = stable.run_cv * stable.runtime_ms
    assert stable.run_cv > NOISY_CV and sd > CLOCK_FACTOR * stable.resolution_ms
    assert all(len(im.reference_ms) == 5 for im in report.images)  # a spread to explain
    if not worth_confirming(stable.run_cv, stable.machine_cv):
        # The machine spread a fixed workload as much: it is named instead.
        assert stable.machine_noisy and "ESR521" in codes(report) and not stable.noisy
        assert stable.confirm_cv is None  # nothing to confirm
        pytest.skip(
            f"where it stops: this machine spread the reference by {stable.machine_cv:.0%} "
            f"run to run, too much to tell a {stable.run_cv:.0%} model spread from it"
        )
    assert all(len(im.confirm_ms) == 5 for im in report.images)  # a verdict to confirm
    again, beside = stable.confirm_cv, stable.confirm_machine_cv
    assert again is not None and beside is not None and stable.confirm_factor is not None
    if again <= stable.confirm_factor * beside:
        assert stable.machine_noisy and "ESR521" in codes(report) and not stable.noisy
        pytest.skip(
            f"where it stops: beside the confirmation round this machine spread the reference "
            f"by {beside:.0%} (its slowest run out), too much to tell a {again:.0%} spread"
        )
    assert stable.noisy and "ESR509" in codes(report)
