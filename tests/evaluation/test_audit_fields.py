"""The per-run audit trail reaches the report: per image its round trips, the subtracted
overhead, the in-worker figures and run 0's output digest; per split each run's memory
readings; per run its clock and wall time."""

from __future__ import annotations

import hashlib

from esr_validator.figures import measure
from esr_validator.schemas.report import ImageResult, Report
from esr_validator.schemas.worker import ImageTiming, RunInfo, SplitMemory, WorkerResult

DIGEST = hashlib.sha256(b"sr").hexdigest()


def _image(split: str, stem: str, outer: list[float], event: list[float]) -> ImageTiming:
    return ImageTiming(
        split=split,
        stem=stem,
        lr_height=8,
        lr_width=8,
        sr_file=f"sr/{split}/{stem}.npy",
        official_ms=event,
        stable_ms=event,
        out_height=32,
        out_width=32,
        out_channels=3,
        outer_ms=outer,
        event_ms=event,
        overhead_ms=0.4,
        sr_sha256=[DIGEST, DIGEST],
    )


def _result() -> WorkerResult:
    return WorkerResult(
        status="ok",
        images=[
            _image("valid", "0801", [3.0, 2.5], [2.1, 1.9]),
            _image("test", "0901", [3.2, 2.7], [2.2, 2.0]),
        ],
        memory=[
            SplitMemory(split="valid", official_mb=[10.0, 11.0], stable_mb=[10.0, 11.0]),
            SplitMemory(split="test", official_mb=[12.0, 12.5], stable_mb=[9.0, 9.5]),
        ],
        runs=[
            RunInfo(index=0, wall_s=1.5, clock="cuda-events"),
            RunInfo(index=1, wall_s=1.2, clock="cuda-events"),
        ],
    )


def test_per_run_fields_reach_the_report() -> None:
    measured = measure(_result(), [])
    first = measured.images[0]
    assert (first.outer_ms, first.event_ms, first.overhead_ms) == ([3.0, 2.5], [2.1, 1.9], 0.4)
    assert first.sr_sha256 == DIGEST
    test = next(s for s in measured.splits if s.split == "test")
    assert test.official_memory_mb_per_run == [12.0, 12.5]
    assert test.stable_memory_mb_per_run == [9.0, 9.5]
    assert [(r.index, r.clock) for r in measured.runs] == [(0, "cuda-events"), (1, "cuda-events")]


def test_reports_without_the_audit_trail_still_load() -> None:
    # Reports written before these fields existed must still validate: all have defaults.
    old = ImageResult(split="valid", stem="0801", psnr=30.0, official_ms=[1.0], stable_ms=[1.0])
    assert (old.outer_ms, old.overhead_ms, old.event_ms, old.sr_sha256) == ([], None, [], None)
    assert "runs" not in Report.model_json_schema().get("required", [])
