"""The confirmation round around the processes: how it is run, and what of it is kept.

The processes are stand-ins here (the round's own code is the subject); the end-to-end round,
with real sandbox processes, is in ``test_timing_noise.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from esr_validator.evaluate import SandboxRun
from esr_validator.integrity import assemble
from esr_validator.official import Confirmation, LRImage, RunRecord, SessionFailed
from esr_validator.schemas.channel import OutputMeta
from esr_validator.schemas.worker import WorkerResult

IMAGES = [
    LRImage("valid", 0, "0001", 8, 8, b""),
    LRImage("valid", 1, "0002", 8, 8, b""),
    LRImage("test", 0, "0003", 8, 8, b""),
]


def _record(
    ms: float, *, repeat: float | None = None, differs: list[str] | None = None
) -> RunRecord:
    outputs = [
        OutputMeta(split=i.split, index=i.index, out_channels=3, out_height=32, out_width=32)
        for i in IMAGES
    ]
    return RunRecord(
        outputs=outputs,
        outer_ms=[ms] * len(IMAGES),
        sha256=["0" * 64] * len(IMAGES),
        repeat_ms=repeat,
        differs=differs or [],
        memory={"valid": (None, None), "test": (None, None)},
        result=WorkerResult(status="ok"),
    )


@dataclass
class Processes:
    """Sessions' process-starting calls, in order; ``fail_at``: the entry run that fails."""

    fail_at: int | None = None
    images: list[LRImage] = field(default_factory=lambda: list(IMAGES))
    total: int = 0
    calls: list[str] = field(default_factory=list)

    def official_run(self, index: int, *, repeat: bool) -> RunRecord:
        self.calls.append(f"run {index}")
        if index == self.fail_at:
            raise SessionFailed("the entry's process died", result=None, outcome=None)
        return _record(10.0 + index, repeat=11.0 + index if repeat else None)

    def reference_run(self) -> RunRecord:
        self.calls.append("reference")
        return _record(3.0)


def test_the_round_alternates_entry_and_reference_runs() -> None:
    procs = Processes()
    round_ = SandboxRun._confirmation(procs, 3, repeat=True)  # type: ignore[arg-type]
    assert round_ is not None
    assert procs.calls == ["run 3", "reference", "run 4", "reference", "run 5", "reference"]
    assert len(round_.runs) == len(round_.references) == 3
    # Progress counts every image of both kinds of run, and each entry run's warm repeat.
    assert procs.total == len(IMAGES) * 2 * 3 + 3


def test_an_entry_run_that_fails_drops_the_round() -> None:
    procs = Processes(fail_at=4)
    assert SandboxRun._confirmation(procs, 3, repeat=True) is None  # type: ignore[arg-type]
    assert procs.calls == ["run 3", "reference", "run 4"]  # nothing more is started


def _assembled(confirmation: Confirmation | None) -> tuple[WorkerResult, list[str]]:
    records = [_record(10.0, repeat=9.0), _record(12.0, repeat=11.0)]
    references = [_record(3.0), _record(3.1)]
    result, findings = assemble(
        IMAGES,
        records,
        [1.0] * len(IMAGES),
        cuda=False,
        synthetic=False,
        tolerance=0,
        references=references,
        confirmation=confirmation,
    )
    return result, [f"{f.code}: {f.message}" for f in findings]


def test_a_whole_round_is_kept_beside_its_references_and_never_averaged_in() -> None:
    round_ = Confirmation(
        runs=[_record(20.0, repeat=18.0), _record(22.0, repeat=21.0)],
        references=[_record(4.0), _record(4.5)],
    )
    result, _ = _assembled(round_)
    first, second = result.images[0], result.images[1]
    # The first image's warm repeat stands for its cold forward, as in the stable figure.
    assert first.confirm_ms == [17.0, 20.0] and second.confirm_ms == [19.0, 21.0]
    assert first.confirm_reference_ms == [3.0, 3.5]
    assert first.reference_ms == [2.0, 2.1]
    assert first.stable_ms == [8.0, 10.0] and second.official_ms == [9.0, 11.0]
    assert len(result.runs) == 2


def test_a_partial_round_is_not_kept() -> None:
    round_ = Confirmation(runs=[_record(20.0)], references=[_record(4.0)])
    result, _ = _assembled(round_)
    assert all(not im.confirm_ms and not im.confirm_reference_ms for im in result.images)


def test_a_confirmation_run_whose_output_left_run_0s_is_reported() -> None:
    round_ = Confirmation(
        runs=[_record(20.0), _record(20.0, differs=["test/0003"])],
        references=[_record(4.0), _record(4.0)],
    )
    _, findings = _assembled(round_)
    assert any(f.startswith("ESR") and "test/0003 in run 3" in f for f in findings)
