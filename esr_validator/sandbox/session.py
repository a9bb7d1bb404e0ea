"""One sandbox process's work: one official run, or the complexity count.

A run is what the organizers' ``test_demo.py`` does in one process: load, the valid pass, the
test pass, exit; the next run is a fresh process, so each pays the cold first image and
starts from a fresh allocator. The images arrive one at a time through the channel.
"""

from __future__ import annotations

import copy
import itertools
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from esr_validator.sandbox import complexity as cx
from esr_validator.sandbox import crosscheck
from esr_validator.sandbox.envinfo import environment
from esr_validator.sandbox.forward import make_forward
from esr_validator.sandbox.loader import load_model, model_dtype, place_model
from esr_validator.sandbox.serve import Server
from esr_validator.schemas import channel
from esr_validator.schemas.worker import (
    REFERENCE_WIDTH,
    Complexity,
    Environment,
    SyntheticTiming,
    WorkerConfig,
    WorkerFailure,
    WorkerResult,
)


class StageError(Exception):
    def __init__(self, stage: str, failure: WorkerFailure | None = None) -> None:
        super().__init__(stage)
        self.stage = stage
        self.failure = failure


def _null_forward(scale: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The channel's overhead without a model: an output of the right shape, nothing else."""

    def run(x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(1, 3, x.shape[-2] * scale, x.shape[-1] * scale)

    return run


def reference_model(scale: int, layers: int) -> torch.nn.Module:
    """A fixed-work model (3x3 convolutions, ReLU, pixel shuffle; fixed random weights): its
    run-to-run spread is the machine's, since nothing about it changes between runs."""
    c = REFERENCE_WIDTH
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        body: list[torch.nn.Module] = [torch.nn.Conv2d(3, c, 3, padding=1)]
        for _ in range(layers - 1):
            body += [torch.nn.ReLU(), torch.nn.Conv2d(c, c, 3, padding=1)]
        body += [torch.nn.Conv2d(c, 3 * scale * scale, 3, padding=1), torch.nn.PixelShuffle(scale)]
        model = torch.nn.Sequential(*body)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()


def _reference_forward(
    scale: int, layers: int, device: torch.device
) -> Callable[[torch.Tensor], torch.Tensor]:
    model = reference_model(scale, layers).to(device)

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            out: torch.Tensor = model(x.float())
        return out

    return run


class Session:
    def __init__(self, config: WorkerConfig, sock: socket.socket) -> None:
        self.config = config
        self.manifest = config.manifest
        self.sock = sock
        self.device = torch.device(config.device)

    def environment(self) -> Environment:
        return environment(self.device)

    def _load(self) -> torch.nn.Module:
        c = self.config
        if c.baseline is not None:
            from esr_validator.sandbox.baselines import build_baseline

            model = build_baseline(c.baseline, scale=self.manifest.scale)
        else:
            assert c.submission_dir and c.model_file and c.checkpoint_file
            sub = Path(c.submission_dir)
            package = sub / c.model_package if c.model_package else None
            model = load_model(
                sub / c.model_file, sub / c.checkpoint_file, self.manifest, package=package
            )
        return place_model(model, self.device, self.manifest)

    def _serve(self, forward: Callable[[torch.Tensor], torch.Tensor], dtype: torch.dtype) -> None:
        Server(
            self.sock,
            forward,
            device=self.device,
            dtype=dtype,
            data_range=self.manifest.data_range,
            scale=self.manifest.scale,
        ).serve()

    def _synthetic(self, model: torch.nn.Module) -> SyntheticTiming:
        from esr_validator.sandbox.synthetic import measure

        assert self.config.synthetic is not None
        forward = make_forward(model, self.manifest.inference, scale=self.manifest.scale)
        return measure(model, forward, self.config.synthetic, device=self.device)

    def _complexity(self, model: torch.nn.Module, params_before: int) -> Complexity:
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
        flops, traced = cx.traced_flops(model, x)
        acts = cx.activations_and_convs(model, inputs=x)
        legacy = cx.legacy_flops(model, inputs=x) if self.config.legacy_flops else None
        counted = crosscheck.dispatch_count(model, x)
        spread = self._spread(model, x, counted, official=(flops.flops, acts.activations))
        return Complexity(
            params=cx.count_params(model),
            params_before_inference=params_before,
            flops=int(flops.flops),
            flops_legacy=legacy,
            unsupported_ops=dict(flops.unsupported_ops),
            activations=int(acts.activations),
            conv_count=int(acts.convs),
            input_dependent=bool(spread),
            flops_by_input=[f for f, _ in spread],
            activations_by_input=[a for _, a in spread],
            input_height=int(x.shape[-2]),
            input_width=int(x.shape[-1]),
            checks=crosscheck.cross_check(model, x, traced=traced, counted=counted),
        )

    @staticmethod
    def _spread(
        model: torch.nn.Module,
        x: torch.Tensor,
        counted: crosscheck.DispatchCount,
        *,
        official: tuple[int, int],
    ) -> list[tuple[int, int]]:
        """(FLOPs, activations) by the official counters on each input, the official
        one first, when the cost depends on the content; [] when it does not.

        Each variant input is first counted at dispatch level (one eager forward); only a
        model whose counts move there pays the official counters on every input."""
        size = (int(x.shape[-2]), int(x.shape[-1]))
        variants = [v.to(x.dtype) for v in cx.variant_inputs(size=size, device=x.device)]
        if all(crosscheck.dispatch_count(model, v).counts() == counted.counts() for v in variants):
            return []
        return [official] + [
            (
                cx.fvcore_flops(model, inputs=v).flops,
                cx.activations_and_convs(model, inputs=v).activations,
            )
            for v in variants
        ]

    def _stage(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except StageError:
            raise
        except BaseException as exc:  # the model may raise anything, even SystemExit
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise StageError(name) from exc

    def _ready(self) -> None:
        channel.send(self.sock, "ready")

    def run(self) -> WorkerResult:
        c = self.config
        if c.threads:
            torch.set_num_threads(c.threads)
        torch.backends.cudnn.benchmark = c.cudnn_benchmark
        if c.mode in ("complexity", "null"):
            return self._run_complexity()
        if c.mode == "reference":  # no entry code: the machine's own spread
            self._ready()
            forward = _reference_forward(self.manifest.scale, c.reference_layers, self.device)
            self._serve(forward, torch.float32)
            return WorkerResult(status="ok", environment=self.environment())
        model = self._stage("load", self._load)
        self._ready()
        forward = make_forward(model, self.manifest.inference, scale=self.manifest.scale)
        self._stage("inference", self._serve, forward, model_dtype(self.manifest))
        synthetic = None
        if c.synthetic is not None:
            synthetic = self._stage("synthetic timing", self._synthetic, model)
        return WorkerResult(
            status="ok",
            environment=self.environment(),
            cudnn_benchmark=bool(torch.backends.cudnn.benchmark),
            synthetic=synthetic,
        )

    def _run_complexity(self) -> WorkerResult:
        # The channel's overhead first, while no entry code is in this process.
        self._ready()
        self._serve(_null_forward(self.manifest.scale), model_dtype(self.manifest))
        if self.config.mode == "null":
            return WorkerResult(status="ok", environment=self.environment())
        before = crosscheck.fingerprint()
        model = self._stage("load", self._load)
        params_before = cx.count_params(model)
        x = cx.make_input(size=self.config.complexity_input, device=self.device, seed=2)
        with torch.no_grad():  # the official figures are taken after inference
            self._stage("inference", model, x.to(dtype=model_dtype(self.manifest)))
        found = self._stage("complexity", self._complexity, model, params_before)
        tampered = crosscheck.changed(before, crosscheck.fingerprint())
        if tampered and found.checks is not None:
            found = found.model_copy(
                update={"checks": found.checks.model_copy(update={"tampered": tampered})}
            )
        return WorkerResult(status="ok", environment=self.environment(), complexity=found)
