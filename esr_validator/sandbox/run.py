"""One evaluation inside the worker: decode once, load, time, measure complexity.

With ``config.synthetic`` the LR images run once each, untimed, for their SR outputs, and
the runtime comes from the synthetic protocol (:mod:`esr_validator.sandbox.synthetic`) instead.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from esr_validator.metrics.convert import from_tensor, read_image, to_tensor
from esr_validator.sandbox.envinfo import environment
from esr_validator.sandbox.forward import make_forward
from esr_validator.sandbox.loader import load_model, model_dtype, place_model
from esr_validator.sandbox.timing import Protocol, SplitTimes
from esr_validator.schemas.worker import (
    Complexity,
    ImageTiming,
    SplitMemory,
    SyntheticTiming,
    WorkerConfig,
    WorkerFailure,
    WorkerResult,
)

LR_SUFFIXES = (".png", ".jpg")  # the RTSR 2023 LR images are JPEGs


class StageError(Exception):
    def __init__(self, stage: str, failure: WorkerFailure | None = None) -> None:
        super().__init__(stage)
        self.stage = stage
        self.failure = failure


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


@dataclass
class _OutputStats:
    """What run 0 saw of one output, before clamping."""

    shape: tuple[int, ...] = ()
    nonfinite: int = 0
    raw_min: float | None = None
    raw_max: float | None = None
    sr_file: str | None = None


class Evaluation:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.manifest = config.manifest
        self.device = torch.device(config.device)
        self.out = Path(config.out_dir)
        self.images: list[ImageTiming] = []
        self._stems: dict[str, list[str]] = {}
        self._shapes: dict[str, list[tuple[int, int]]] = {}
        self._stats: dict[tuple[str, int], _OutputStats] = {}
        self._done = 0

    # -- stages -------------------------------------------------------------------------
    def _decode(self) -> dict[str, list[torch.Tensor]]:
        """Decode every LR image once, before any model code runs."""
        inputs: dict[str, list[torch.Tensor]] = {}
        root = Path(self.config.lr_dir)
        for split in self.config.splits:
            files = sorted(
                f for f in (root / split).iterdir() if f.suffix in LR_SUFFIXES and f.is_file()
            )
            self._stems[split] = [f.stem for f in files]
            imgs = [read_image(f) for f in files]
            self._shapes[split] = [(im.shape[0], im.shape[1]) for im in imgs]
            inputs[split] = [to_tensor(im, self.manifest.data_range) for im in imgs]
        return inputs

    def _load(self) -> torch.nn.Module:
        sub = Path(self.config.submission_dir)
        model = load_model(
            sub / self.config.model_file, sub / self.config.checkpoint_file, self.manifest
        )
        return place_model(model, self.device, self.manifest)

    def _tick(self) -> None:
        self._done += 1
        if self._done % 4 == 0:
            (self.out / "progress").write_text(str(self._done))

    def _on_output(self, split: str, index: int, y: torch.Tensor) -> None:
        """Run 0 only: sanity statistics and the SR image, outside the timed region."""
        if not isinstance(y, torch.Tensor):
            self._stats[(split, index)] = _OutputStats()
            return
        yf = y.detach().float()
        finite = torch.isfinite(yf)
        stats = _OutputStats(shape=tuple(yf.shape), nonfinite=int((~finite).sum()))
        if bool(finite.any()):
            stats.raw_min = _finite(float(yf[finite].min()))
            stats.raw_max = _finite(float(yf[finite].max()))
        h, w = self._shapes[split][index]
        scale = self.manifest.scale
        if tuple(y.shape) == (1, 3, h * scale, w * scale):
            sr = from_tensor(yf, self.manifest.data_range)
            rel = f"sr/{split}/{self._stems[split][index]}.npy"
            np.save(self.out / rel, sr, allow_pickle=False)
            stats.sr_file = rel
        self._stats[(split, index)] = stats

    def _protocol(self, inputs: dict[str, list[torch.Tensor]], model: torch.nn.Module) -> Protocol:
        for split in self.config.splits:
            (self.out / "sr" / split).mkdir(parents=True, exist_ok=True)
        forward = make_forward(model, self.manifest.inference, scale=self.manifest.scale)
        return Protocol(forward, inputs, self.device, model_dtype(self.manifest), tick=self._tick)

    def _timing(
        self, inputs: dict[str, list[torch.Tensor]], model: torch.nn.Module
    ) -> tuple[dict[str, SplitTimes], dict[str, SplitTimes]]:
        proto = self._protocol(inputs, model)
        official = proto.official(self.config.runs, self._on_output)
        stable = proto.stable(self.config.stable_runs, self.config.warmup)
        return official, stable

    def _outputs_only(
        self, inputs: dict[str, list[torch.Tensor]], model: torch.nn.Module
    ) -> dict[str, SplitTimes]:
        self._protocol(inputs, model).outputs(self._on_output)
        return {s: SplitTimes([[] for _ in self._stems[s]]) for s in self.config.splits}

    def _synthetic(self, model: torch.nn.Module) -> SyntheticTiming:
        from esr_validator.sandbox.synthetic import measure

        assert self.config.synthetic is not None
        forward = make_forward(model, self.manifest.inference, scale=self.manifest.scale)
        return measure(model, forward, self.config.synthetic, device=self.device, tick=self._tick)

    def _complexity(self, model: torch.nn.Module, params_before: int) -> Complexity:
        from esr_validator.sandbox import complexity as cx

        size = self.config.complexity_input
        tensors = itertools.chain(model.parameters(), model.buffers())
        x = cx.make_input(size=size, device=self.device)
        if any(t.is_floating_point() and t.dtype != torch.float32 for t in tensors):
            # Counts do not depend on the dtype; fvcore's tracer and CPU kernels want fp32.
            # An entry that casts its own input to half cannot run in fp32: count it as is.
            as_fp32 = copy.deepcopy(model).float()
            try:
                as_fp32(x)
                model = as_fp32
            except RuntimeError:
                x = x.to(model_dtype(self.manifest))
        flops = cx.fvcore_flops(model, inputs=x)
        acts = cx.activations_and_convs(model, inputs=x)
        legacy = cx.legacy_flops(model, inputs=x) if self.config.legacy_flops else None
        varies = cx.input_dependent(
            model, size=size, device=self.device, reference=(flops.flops, acts.activations)
        )
        return Complexity(
            params=cx.count_params(model),
            params_before_inference=params_before,
            flops=int(flops.flops),
            flops_legacy=legacy,
            unsupported_ops=dict(flops.unsupported_ops),
            activations=int(acts.activations),
            conv_count=int(acts.convs),
            input_dependent=varies,
        )

    # -- driver -------------------------------------------------------------------------
    def _stage(self, name: str, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return fn(*args)
        except StageError:
            raise
        except BaseException as exc:  # the model may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise StageError(name) from exc

    def run(self) -> WorkerResult:
        if self.config.threads:
            torch.set_num_threads(self.config.threads)
        torch.backends.cudnn.benchmark = self.config.cudnn_benchmark
        inputs = self._stage("decode", self._decode)
        model = self._stage("load", self._load)
        params_before = sum(p.numel() for p in model.parameters())
        synthetic = None
        if self.config.synthetic is None:
            official, stable = self._stage("inference", self._timing, inputs, model)
            self.images = self._image_records(official, stable)
        else:
            official = stable = self._stage("inference", self._outputs_only, inputs, model)
            self.images = self._image_records(official, stable)
            synthetic = self._stage("synthetic timing", self._synthetic, model)
        complexity = self._stage("complexity", self._complexity, model, params_before)
        memory = [
            SplitMemory(split=s, official_mb=official[s].memory_mb, stable_mb=stable[s].memory_mb)
            for s in self.config.splits
        ]
        return WorkerResult(
            status="ok",
            environment=environment(self.device, self.config),
            cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
            images=self.images,
            memory=memory,
            synthetic=synthetic,
            complexity=complexity,
        )

    def _image_records(
        self, official: dict[str, SplitTimes], stable: dict[str, SplitTimes]
    ) -> list[ImageTiming]:
        records: list[ImageTiming] = []
        for split in self.config.splits:
            for i, stem in enumerate(self._stems[split]):
                stats = self._stats.get((split, i), _OutputStats())
                dims = stats.shape if len(stats.shape) == 4 else (0, 0, 0, 0)
                h, w = self._shapes[split][i]
                records.append(
                    ImageTiming(
                        split=split,
                        stem=stem,
                        lr_height=h,
                        lr_width=w,
                        sr_file=stats.sr_file,
                        official_ms=official[split].per_image_ms[i],
                        stable_ms=stable[split].per_image_ms[i],
                        raw_min=stats.raw_min,
                        raw_max=stats.raw_max,
                        nonfinite=stats.nonfinite,
                        out_channels=dims[1],
                        out_height=dims[2],
                        out_width=dims[3],
                    )
                )
        return records
