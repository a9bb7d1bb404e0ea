"""Cheating entries end to end, through ``Evaluation`` and the real sandbox processes.

Each cheat must end in an error finding or in figures the cheat could not lower; the honest
sample and the baselines get no integrity finding. The cheats time themselves with
``time.sleep`` (which no clock rewrite can shorten). The assertions read the round trip
timed outside the worker (``outer_ms``), which holds the sleep whatever the worker does, and
check that the official figure is that round trip less the calibrated overhead: absolute
thresholds on the official figure alone would not survive a CPU shared with other work.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from esr_validator.baselines import BASELINES
from esr_validator.sandbox import baselines as sandbox_baselines
from esr_validator.schemas.report import Report
from tests import subs
from tests.factories import codes, evaluate

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).parents[2] / "sample_submission" / "team01_TinyESR.zip"
INTEGRITY = {f"ESR{n}" for n in range(512, 519)}
SLOW_S = 0.06  # a cache miss, or a forward with its clock rewritten, sleeps this long
COLD_S = 2.0  # the first forward of a process: far above a forward on a busy CPU
HEAD, FORWARD = subs.TINY_MODEL.split("    def forward(self, x):")


@pytest.fixture
def static_check_evaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The intake's source check refuses these cheats as written; a determined cheat finds a
    spelling it misses. Turned off here, so that what is tested is the runtime defence."""
    monkeypatch.setattr("esr_validator.intake.source.check_source", lambda *a, **k: [])


def _entry(tmp_path: Path, src: str, **manifest: object) -> Path:
    members = subs.good_members(**manifest)
    members["models/team16_TinySR.py"] = src.encode()
    return subs.write_zip(tmp_path / "sub.zip", members)


def _slept(report: Report, seconds: float) -> bool:
    """Every round trip of every run held a sleep of ``seconds``, and the official figures
    are those round trips less the overhead (the outer clock, not the worker's)."""
    for im in report.images:
        assert im.overhead_ms is not None and len(im.outer_ms) == len(im.official_ms) == 2
        for outer, official in zip(im.outer_ms, im.official_ms, strict=True):
            assert official == pytest.approx(max(outer - im.overhead_ms, 0.0))
    return all(min(im.outer_ms) >= seconds * 1000 for im in report.images)


# Reads every input it can reach in post_load, as a precomputing cheat would. It raises when
# it finds one: a loading failure would fail the test.
SNOOP = (
    HEAD
    + """    def snoop(self):
        import os
        import sys
        from pathlib import Path

        roots = {Path.cwd(), Path(__file__).resolve().parents[1]}
        roots |= {Path(os.environ[k]) for k in ("HOME", "TMPDIR") if k in os.environ}
        roots |= {Path(a).parent for a in sys.argv[1:]}
        seen = [p for r in roots if r.is_dir() for p in r.rglob("*")]
        assert any(p.suffix == ".py" for p in seen), "the walk must reach the submission"
        found = [str(p) for p in seen if p.suffix.lower() in (".png", ".npy", ".jpg")]
        leaked = [k for k, v in os.environ.items() if "_LR" in v or "_HR" in v]
        if found or leaked:
            raise RuntimeError(f"inputs reachable before their forward: {found[:3]} {leaked}")

    def forward(self, x):"""
    + FORWARD
)


def test_reading_lr_in_post_load_finds_nothing(tmp_path: Path) -> None:
    report = evaluate(_entry(tmp_path, SNOOP, checkpoint={"post_load": "snoop"}))
    assert report.status == "evaluated", report.findings
    assert not INTEGRITY & codes(report)


# Answers an input it has seen from a cache: in this process's memory, in a builtins slot
# every later import would share, and on disk where the process may write.
CACHE = (
    HEAD
    + f"""    def forward(self, x):
        import hashlib
        import os
        import sys
        import time
        from pathlib import Path

        if torch.jit.is_tracing():  # a constant from a cache would stall the tracer
            return self._forward(x)
        key = hashlib.sha256(x.detach().cpu().numpy().tobytes()).hexdigest()
        memory = vars(sys.modules["built" + "ins"]).setdefault("_esr_cheat_cache", {{}})
        disk = Path(os.environ.get("HOME", "/tmp")) / f"cheat-{{key}}.pt"
        if key in memory:
            return memory[key]
        if disk.is_file():
            return torch.load(disk)
        time.sleep({SLOW_S})
        y = self._forward(x)
        memory[key] = y
        try:
            getattr(torch, "sa" + "ve")(y, disk)
        except OSError:
            pass
        return y

    def _forward(self, x):"""
    + FORWARD
)


@pytest.mark.usefixtures("static_check_evaded")
def test_caching_outputs_across_runs_gains_nothing(tmp_path: Path) -> None:
    report = evaluate(_entry(tmp_path, CACHE))
    assert report.status == "evaluated", report.findings
    # Every run is a fresh process with a fresh home: every image is a miss in every run,
    # and so is the warm repeat behind the stable figure (it is sent mirrored).
    assert _slept(report, SLOW_S)
    first = report.images[0]
    assert first.overhead_ms is not None
    assert min(first.stable_ms) + first.overhead_ms >= SLOW_S * 1000
    honest = evaluate(subs.write_zip(tmp_path / "honest.zip", subs.good_members()))
    assert [s.psnr for s in report.splits] == [s.psnr for s in honest.splits]
    assert not INTEGRITY & codes(report)


# Rewrites every clock it can reach at import time: perf_counter runs 100x slow, the
# in-worker Clock reports 0.001 ms, CUDA events too.
CLOCK = (
    """import sys
import time

import torch

_real = time.perf_counter
_t0 = _real()
time.perf_counter = lambda: _t0 + (_real() - _t0) / 100
time.perf_counter_ns = lambda: int(time.perf_counter() * 1e9)
setattr(getattr(torch, "cu" + "da").Event, "elapsed_time", lambda self, end: 0.001)
for _name, _mod in list(sys.modules.items()):
    _clock = getattr(_mod, "Clock", None) if _name.startswith("esr_validator") else None
    if isinstance(_clock, type):
        _clock.time = lambda self, fn, x: (fn(x), 0.001)
"""
    + HEAD
    + f"    def forward(self, x):\n        time.sleep({SLOW_S})\n"
    + FORWARD
)


@pytest.mark.usefixtures("static_check_evaded")
def test_rewriting_the_clock_leaves_the_outer_clock_alone(tmp_path: Path) -> None:
    report = evaluate(_entry(tmp_path, CLOCK))
    assert report.status == "evaluated", report.findings
    assert _slept(report, SLOW_S)
    # The 100x slow perf_counter and the 0.001 ms Clock would put every figure near zero.
    assert report.official and (report.official.runtime_ms or 0) > 1.0


# Slow on the first forward of each process only: the cold start a fresh process pays.
COLD = (
    HEAD.replace("class TinySR", "_FIRST = [True]\n\n\nclass TinySR")
    + f"""    def forward(self, x):
        if _FIRST[0]:
            _FIRST[0] = False
            import time

            time.sleep({COLD_S})
        return self._forward(x)

    def _forward(self, x):"""
    + FORWARD
)


def test_first_image_of_every_run_is_timed_cold(tmp_path: Path) -> None:
    report = evaluate(_entry(tmp_path, COLD))
    assert report.status == "evaluated", report.findings
    cold = COLD_S * 1000
    first, *rest = report.images
    assert len(first.outer_ms) == 2 and min(first.outer_ms) >= cold
    assert first.overhead_ms is not None
    assert min(first.official_ms) >= cold - first.overhead_ms
    assert all(max(im.outer_ms) < cold for im in rest)
    # The stable figure of the first image is its warm repeat, so it is not cold.
    assert first.stable_ms and max(first.stable_ms) < cold - first.overhead_ms


def test_honest_sample_gets_no_integrity_finding() -> None:
    report = evaluate(SAMPLE)
    assert report.status == "evaluated", report.findings
    assert not INTEGRITY & codes(report), report.findings


def _baseline_zip(tmp_path: Path, name: str) -> Path:
    spec = BASELINES[name]
    module = getattr(sandbox_baselines, spec.module, None) or __import__(
        f"esr_validator.sandbox.baselines.{spec.module}", fromlist=["build"]
    )
    model = module.build(scale=4)
    members = subs.good_members(
        model_name="Base", class_name=type(model).__name__, kwargs={}, data_range=spec.data_range
    )
    members = {k.replace("TinySR", "Base"): v for k, v in members.items()}
    members["models/team16_Base.py"] = inspect.getsource(module).encode()
    members["model_zoo/team16_Base.pth"] = subs.checkpoint_bytes(model.state_dict())
    return subs.write_zip(tmp_path / f"{name}.zip", members)


@pytest.mark.parametrize("name", ["rlfn", "span", "efdn", "imdn"])
def test_baselines_get_no_integrity_finding(tmp_path: Path, name: str) -> None:
    report = evaluate(_baseline_zip(tmp_path, name))
    assert report.status == "evaluated", report.findings
    assert not INTEGRITY & codes(report), report.findings
