"""The official runs as the organizers run them, driven from the trusted side.

- LR is decoded here once, in the official order; the sandbox gets one image at a time and
  only after it answered the previous one, so no input is seen before its timed forward.
- A complexity process comes first: with no entry code imported yet it answers every image
  with a null model twice (the channel's own round trip per image: ``overhead_ms``), then it
  loads the entry, runs one forward and counts complexity.
- Each official run is a fresh sandbox process: load, valid pass, test pass, one warm repeat
  of the first image, mirrored (for the stable figure), exit. Nothing written survives a run.
- When the runs spread beyond the clock's own, as many processes again, with no entry code,
  answer the same images with a fixed-work reference model (``reference_run``): the
  machine's own run-to-run spread, which the stable set's ``noisy`` is judged against
  (:mod:`esr_validator.noise`).
- Every round trip is timed here (``outer_ms``). On the CPU the runtime is that figure less
  the overhead; on a GPU the in-worker CUDA-event figure is kept when the outer bound agrees
  (:mod:`esr_validator.integrity`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from esr_validator.data import Dataset
from esr_validator.drive import Driver
from esr_validator.metrics.convert import read_image
from esr_validator.runners.base import Mount, ProcessOutcome, Runner
from esr_validator.schemas.channel import ChannelError, ImageMeta, OutputMeta
from esr_validator.schemas.worker import WorkerConfig, WorkerResult

Progress = Callable[[int, int], None]
NULL_PASSES = 2
OUTPUT_TOLERANCE = 1  # uint8 levels: floating-point non-determinism moves a rounding by one


@dataclass(frozen=True)
class LRImage:
    split: str
    index: int  # within its split
    stem: str
    height: int
    width: int
    pixels: bytes


def decode(dataset: Dataset) -> list[LRImage]:
    """Every LR image, decoded once, in the official order (split by split, sorted names)."""
    images = []
    for split in dataset.splits:
        for k, pair in enumerate(sorted(split.pairs, key=lambda p: p.lr.name)):
            img = read_image(pair.lr)
            h, w = img.shape[0], img.shape[1]
            images.append(LRImage(split.name, k, pair.stem, h, w, img.tobytes()))
    return images


def decode_folder(root: Path, splits: tuple[str, ...] = ("valid", "test")) -> list[LRImage]:
    """LR images laid out as ``<split>/<stem>.png`` (no HR beside them), in the official
    order: ``splits`` first, in that order, then any other split by name."""
    present = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    ordered = [s for s in splits if s in present] + [s for s in present if s not in splits]
    images = []
    for split in ordered:
        files = sorted(p for p in (root / split).glob("*.png") if p.is_file())
        for k, path in enumerate(files):
            img = read_image(path)
            h, w = img.shape[0], img.shape[1]
            images.append(LRImage(split, k, path.stem, h, w, img.tobytes()))
    return images


def mirrored(image: LRImage) -> LRImage:
    """``image`` flipped left to right: the same shape and work, but bytes the entry has not
    seen, so a warm repeat cannot be answered from a cache keyed by the input."""
    arr = np.frombuffer(image.pixels, dtype=np.uint8).reshape(image.height, image.width, 3)
    return LRImage(
        image.split,
        image.index,
        image.stem,
        image.height,
        image.width,
        np.ascontiguousarray(arr[:, ::-1]).tobytes(),
    )


@dataclass
class NullPasses:
    """Every null-model answer, ``outer_ms[p][k]``: pass ``p``, image ``k``; ``event_ms`` the
    worker's CUDA-event figure for each (GPU only; answered before any entry code is loaded)."""

    outer_ms: list[list[float]] = field(default_factory=list)
    event_ms: list[list[float | None]] = field(default_factory=list)

    def overhead(self) -> list[float]:
        """Per image, the smallest round trip: the channel's cost with the least jitter."""
        return [min(column) for column in zip(*self.outer_ms, strict=True)]


@dataclass
class RunRecord:
    """What one process answered, image by image, in the order sent."""

    outputs: list[OutputMeta] = field(default_factory=list)
    outer_ms: list[float] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    repeat_ms: float | None = None
    differs: list[str] = field(default_factory=list)  # images whose output left run 0's
    memory: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    result: WorkerResult | None = None


@dataclass
class Confirmation:
    """A confirmation round: the entry's extra runs, each followed at once by the reference
    run of the same index."""

    runs: list[RunRecord] = field(default_factory=list)
    references: list[RunRecord] = field(default_factory=list)


class SessionFailed(Exception):
    """A sandbox process ended without a usable answer."""

    def __init__(
        self, message: str, *, result: WorkerResult | None, outcome: ProcessOutcome | None
    ) -> None:
        super().__init__(message)
        self.result, self.outcome = result, outcome


@dataclass
class Sessions:
    runner: Runner
    config: WorkerConfig
    images: list[LRImage]
    mounts: tuple[Mount, ...]
    timeout_s: float
    gpu: int | None
    sr_dir: Path
    progress: Progress | None = None
    total: int = 0
    done: int = 0
    outcomes: list[ProcessOutcome] = field(default_factory=list)
    null: NullPasses = field(default_factory=NullPasses)
    reference_layers: int = 1

    def _tick(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(min(self.done, self.total), self.total)

    def _driver(self, mode: str) -> Driver:
        update: dict[str, object] = {"mode": mode}
        if mode == "reference":
            update["reference_layers"] = self.reference_layers
        config = self.config.model_copy(update=update)
        return Driver(
            self.runner, config, mounts=self.mounts, timeout_s=self.timeout_s, gpu=self.gpu
        )

    def _guarded(self, mode: str, body: Callable[[Driver], RunRecord]) -> RunRecord:
        driver = self._driver(mode)
        problem: str | None = None
        record: RunRecord | None = None
        try:
            with driver:
                try:
                    record = body(driver)
                except ChannelError as exc:
                    problem = str(exc)
        except ChannelError as exc:  # never connected
            problem = str(exc)
        if driver.outcome is not None:
            self.outcomes.append(driver.outcome)
        if record is not None:
            return record
        try:
            early = driver.early_result()
        except ChannelError as exc:
            early, problem = None, str(exc)
        raise SessionFailed(problem or "", result=early, outcome=driver.outcome)

    def _send(
        self, driver: Driver, image: LRImage, *, repeat: bool = False
    ) -> tuple[OutputMeta, bytes, float]:
        meta = ImageMeta(
            split=image.split,
            index=image.index,
            height=image.height,
            width=image.width,
            repeat=repeat,
        )
        answer = driver.image(meta, image.pixels, scale=self.config.manifest.scale)
        self._tick()
        return answer

    def overhead(self, mode: str = "complexity") -> tuple[list[float], WorkerResult]:
        """Null-model round trips (min over passes; every pass kept in ``null``), then the
        complexity count (``null`` mode: the round trips only)."""
        null = NullPasses()

        def body(driver: Driver) -> RunRecord:
            driver.ready()
            for _ in range(NULL_PASSES):
                answers = [self._send(driver, image) for image in self.images]
                null.outer_ms.append([ms for _, _, ms in answers])
                null.event_ms.append([out.event_ms for out, _, _ in answers])
            return RunRecord(result=driver.finish())

        record = self._guarded(mode, body)
        assert record.result is not None
        self.null = null
        return null.overhead() if self.images else [], record.result

    def null_overhead(self) -> list[float]:
        return self.overhead("null")[0]

    def reference_run(self) -> RunRecord:
        """Every image answered once by the reference model, in a process of its own that
        loads no entry code: the machine's share of the run-to-run spread."""

        def body(driver: Driver) -> RunRecord:
            record = RunRecord()
            driver.ready()
            for image in self.images:
                out, _, ms = self._send(driver, image)
                record.outputs.append(out)
                record.outer_ms.append(ms)
            record.result = driver.finish()
            return record

        return self._guarded("reference", body)

    def official_run(self, index: int, *, repeat: bool) -> RunRecord:
        def body(driver: Driver) -> RunRecord:
            record = RunRecord()
            driver.ready()
            splits = list(dict.fromkeys(i.split for i in self.images))
            valid_peak: float | None = None
            for s, split in enumerate(splits):
                for image in (i for i in self.images if i.split == split):
                    out, sr, ms = self._send(driver, image)
                    record.outputs.append(out)
                    record.outer_ms.append(ms)
                    record.sha256.append(hashlib.sha256(sr).hexdigest() if sr else "")
                    if index == 0 and sr:
                        self._save(image, sr)
                    elif index > 0 and not self._agrees(image, sr, record.sha256[-1]):
                        record.differs.append(f"{image.split}/{image.stem}")
                # Never reset before a reading, so the first reading is the official one;
                # reset after it, so the next is that split's own peak (the stable reading).
                peak = driver.split_end(split, reset_after=True)
                valid_peak = peak if s == 0 else valid_peak
                official = peak if s == 0 or peak is None else max(peak, valid_peak or 0.0)
                record.memory[split] = (official, peak)
            if repeat and self.images:
                warm = mirrored(self.images[0])
                record.repeat_ms = self._send(driver, warm, repeat=True)[2]
            record.result = driver.finish()
            return record

        return self._guarded("run", body)

    def _save(self, image: LRImage, sr: bytes) -> None:
        scale = self.config.manifest.scale
        shape = (image.height * scale, image.width * scale, 3)
        arr = np.frombuffer(sr, dtype=np.uint8).reshape(shape)
        folder = self.sr_dir / "sr" / image.split
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{image.stem}.npy", arr, allow_pickle=False)

    def _agrees(self, image: LRImage, sr: bytes, digest: str) -> bool:
        """Whether this run's output of ``image`` is run 0's, within the stated tolerance."""
        path = self.sr_dir / "sr" / image.split / f"{image.stem}.npy"
        if not path.is_file() or not sr:
            return not path.is_file() and not sr
        first = np.load(path, allow_pickle=False)
        if hashlib.sha256(first.tobytes()).hexdigest() == digest:
            return True
        now = np.frombuffer(sr, dtype=np.uint8).reshape(first.shape)
        return int(np.abs(now.astype(np.int16) - first.astype(np.int16)).max()) <= OUTPUT_TOLERANCE
