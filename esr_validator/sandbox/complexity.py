"""Model complexity as the challenges measured it: params, FLOPs, activations, #conv.

Every function takes an already loaded ``nn.Module`` and returns plain numbers. Inputs are
1x3xSxS uniform noise like the official ``torch.rand``, but drawn from a seeded generator:
the official figures were unseeded, which only matters for models whose cost depends on
the input, and :func:`input_dependent` exists to flag exactly those.

Two FLOP counters exist because the rules changed:

- 2024-2026: fvcore's ``FlopCountAnalysis``, one fused multiply-add = one flop, with
  element-wise ops, activations and unknown ops counted as 0. The unsupported-op counter is
  returned so that a reader can see an under-count (FFT, ``padding='same'`` convs, ...).
- 2022-2023: a forward-hook counter, reimplemented here from its rules (see
  :func:`legacy_flops`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import torch
from torch import nn

with warnings.catch_warnings():
    # fvcore calls torch.jit.script at import time, which torch now reports as deprecated.
    warnings.simplefilter("ignore", DeprecationWarning)
    from fvcore.nn import FlopCountAnalysis

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)
# The only activation modules the 2022 counter knew; GELU, SiLU, Sigmoid... count 0.
_LEGACY_ACTIVATIONS = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)

Hook = Callable[[nn.Module, tuple[Any, ...], Any], None]
Size = int | tuple[int, int]  # a square's side, or (H, W)


class FlopCount(NamedTuple):
    flops: int
    unsupported_ops: dict[str, int]


class ActivationCount(NamedTuple):
    activations: int
    convs: int


def count_params(model: nn.Module) -> int:
    """``sum(p.numel() for p in model.parameters())``: unused branches count, shared once."""
    return sum(p.numel() for p in model.parameters())


def _model_device(model: nn.Module) -> torch.device:
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def make_input(
    *, size: Size = 256, device: torch.device | str = "cpu", seed: int = 0
) -> torch.Tensor:
    """The 1x3xHxW uniform input of the official counters (``size``: a side or (H, W)),
    reproducible by ``seed``."""
    height, width = (size, size) if isinstance(size, int) else size
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(1, 3, height, width, generator=gen).to(device)


def fvcore_flops(
    model: nn.Module,
    *,
    size: Size = 256,
    device: torch.device | str | None = None,
    inputs: torch.Tensor | None = None,
) -> FlopCount:
    """fvcore ``FlopCountAnalysis(model, x).total()`` and its unsupported-op counter."""
    dev = device if device is not None else _model_device(model)
    x = inputs if inputs is not None else make_input(size=size, device=dev)
    return _fvcore_total(model, x)


def traced_flops(model: nn.Module, x: torch.Tensor) -> tuple[FlopCount, Any]:
    """:func:`fvcore_flops` on ``x``, and what the model returned while fvcore traced it
    (None when its top-level hook never fired): the traced output, compared with the eager
    one by :mod:`esr_validator.sandbox.crosscheck` without tracing the model a second time."""
    seen: list[Any] = []
    handle = model.register_forward_hook(lambda _m, _a, out: seen.append(out))
    try:
        count = _fvcore_total(model, x)
    finally:
        handle.remove()
    return count, (seen[0] if len(seen) == 1 else None)


def _fvcore_total(model: nn.Module, x: torch.Tensor) -> FlopCount:
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    # The JIT tracer warns about every Python-level branch on tensor values; those warnings
    # say nothing about the count and would drown the report.
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        total = int(analysis.total())
        unsupported = {str(k): int(v) for k, v in analysis.unsupported_ops().items()}
    return FlopCount(total, dict(sorted(unsupported.items())))


@contextmanager
def _hooked(model: nn.Module, types: tuple[type[nn.Module], ...], hook: Hook) -> Iterator[None]:
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, types)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _forward(model: nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model(x)


def activations_and_convs(
    model: nn.Module,
    *,
    size: Size = 256,
    device: torch.device | str | None = None,
    inputs: torch.Tensor | None = None,
) -> ActivationCount:
    """Sum of ``output.numel()`` over every Conv2d/ConvTranspose2d call, and the call count.

    Calls are counted, not modules: a conv applied twice contributes twice, as officially.
    """
    dev = device if device is not None else _model_device(model)
    x = inputs if inputs is not None else make_input(size=size, device=dev)
    totals = [0, 0]

    def hook(_module: nn.Module, _inputs: tuple[Any, ...], output: Any) -> None:
        totals[0] += int(output.numel())
        totals[1] += 1

    with _hooked(model, _CONVS, hook):
        _forward(model, x)
    return ActivationCount(totals[0], totals[1])


def _legacy_module_flops(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> int:
    if isinstance(module, _CONVS):
        kernel = 1
        for k in module.kernel_size:
            kernel *= int(k)
        per_position = kernel * module.in_channels * (module.out_channels // module.groups)
        # Output positions, also for transposed convs: the 2022 counter's rule.
        return per_position * int(output.shape[0]) * int(output[0, 0].numel())
    if isinstance(module, _LEGACY_ACTIVATIONS):
        return int(output.numel())
    if isinstance(module, nn.BatchNorm2d):
        return int(output.numel()) * (2 if module.affine else 1)
    if isinstance(module, nn.Linear):
        x = inputs[0]
        if x.dim() == 1:
            return int(x.shape[0]) * int(output.shape[0])
        # batch x dim1(in) x dim1(out), as the 2022 counter multiplied; for token inputs
        # (B, N, C) that is B*N*N rather than true MACs, which is what was reported.
        return int(x.shape[0]) * int(x.shape[1]) * int(output.shape[1])
    return 0


def legacy_flops(
    model: nn.Module,
    *,
    size: Size = 256,
    device: torch.device | str | None = None,
    inputs: torch.Tensor | None = None,
) -> int:
    """The 2022-2023 hook counter: conv MACs without bias; one per element of ReLU, PReLU,
    ELU, LeakyReLU and ReLU6 outputs; 2x elements for affine BatchNorm2d (1x otherwise);
    Linear MACs; every functional call (F.relu, torch.matmul, ...) is free."""
    dev = device if device is not None else _model_device(model)
    x = inputs if inputs is not None else make_input(size=size, device=dev)
    total = 0

    def hook(module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        nonlocal total
        total += _legacy_module_flops(module, args, output)

    types = (*_CONVS, *_LEGACY_ACTIVATIONS, nn.BatchNorm2d, nn.Linear)
    with _hooked(model, types, hook):
        _forward(model, x)
    return total


def variant_inputs(*, size: Size = 256, device: torch.device | str = "cpu") -> list[torch.Tensor]:
    """Inputs unlike :func:`make_input`'s, for models whose cost depends on the content:
    noise squared (mean 1/3 instead of 1/2: routers often key on such statistics), and a
    smooth photograph-like image (gradients and one soft edge, little texture: what a model
    that skips flat regions or picks experts by texture treats differently from noise)."""
    height, width = (size, size) if isinstance(size, int) else size
    squared = make_input(size=(height, width), device=device, seed=1) ** 2
    rows = torch.linspace(0.1, 0.9, height).view(height, 1).expand(height, width)
    cols = torch.linspace(0.2, 0.7, width).view(1, width).expand(height, width)
    edge = (cols > 0.45).float() * 0.2
    smooth = torch.stack([0.6 * rows + 0.4 * cols, 0.3 * rows + edge + 0.2, 0.8 * cols + 0.1])
    grain = make_input(size=(height, width), seed=3) * 0.02
    return [squared, (smooth.unsqueeze(0) + grain).clamp(0, 1).to(device)]


def input_dependent(
    model: nn.Module,
    *,
    size: Size = 256,
    device: torch.device | str | None = None,
    reference: tuple[int, int] | None = None,
) -> bool:
    """Whether fvcore FLOPs or activations change when the input changes.

    ``reference`` is (flops, activations) already measured on :func:`make_input`'s default
    input; without it both inputs are measured here. The second input has another seed and
    is squared, so its statistics (mean 1/3 instead of 1/2) differ too: routers often key
    on such statistics rather than on individual pixels.
    """
    dev = device if device is not None else _model_device(model)
    if reference is None:
        first = make_input(size=size, device=dev)
        reference = (
            fvcore_flops(model, inputs=first).flops,
            activations_and_convs(model, inputs=first).activations,
        )
    second = make_input(size=size, device=dev, seed=1) ** 2
    flops = fvcore_flops(model, inputs=second).flops
    acts = activations_and_convs(model, inputs=second).activations
    return (flops, acts) != tuple(reference)
