"""Cross-checks of the official complexity figures, counted where the official code is blind.

- **Tensors the model holds.** ``model.parameters()`` is the official params figure; weights
  kept as buffers or plain tensor attributes (and used through ``F.conv2d``) escape it. Every
  floating-point tensor the model holds is counted here (BatchNorm running statistics aside).
- **FLOPs at dispatch.** fvcore counts a traced graph; a model that behaves differently under
  tracing (``torch.jit.is_tracing()``) shows a smaller graph. The same input is run eagerly
  under a dispatch-level counter (every aten call, functional or not), one multiply-add = one
  flop as fvcore counts, and what the model returned while fvcore traced it is compared
  with the eager output.
- **Convolutions at dispatch.** The official activation counter hooks ``nn.Conv2d`` modules;
  ``F.conv2d`` calls are invisible to it. Every ``aten.convolution`` is counted here.
- **Tampering.** The measuring code is fingerprinted before the entry's module is imported
  and again after counting; a difference (a patched counter, reached through ``sys.modules``)
  is reported. This is the last line only: the runtime is timed outside this process.
"""

from __future__ import annotations

import math
import sys
import warnings
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from esr_validator.schemas.worker import ComplexityChecks

_BN_STATS = ("running_mean", "running_var")
_WATCHED = (
    "esr_validator.sandbox.complexity",
    "esr_validator.sandbox.crosscheck",
    "fvcore.nn.flop_count",
    "fvcore.nn.jit_analysis",
    "fvcore.nn.jit_handles",
    "torch.utils.flop_counter",
    "torch.jit",
)


def _tensors_of(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, torch.Tensor)]
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, torch.Tensor)]
    return []


def float_tensor_elements(model: nn.Module) -> int:
    """Elements of every distinct floating-point tensor reachable from the model's modules."""
    seen: set[int] = set()
    total = 0
    for module in model.modules():
        stats = isinstance(module, nn.modules.batchnorm._BatchNorm)
        found: list[torch.Tensor] = [*module.parameters(recurse=False)]
        found += [
            b for n, b in module.named_buffers(recurse=False) if not (stats and n in _BN_STATS)
        ]
        for name, value in vars(module).items():
            if not name.startswith("_"):
                found += _tensors_of(value)
        for t in found:
            if t.is_floating_point() and id(t) not in seen:
                seen.add(id(t))
                total += t.numel()
    return total


class _Convs(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Counts every convolution the dispatcher sees and the elements it outputs."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.calls = 0
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket in (torch.ops.aten.convolution, torch.ops.aten._convolution):
            self.calls += 1
            self.elements += int(out.numel())
        return out


def _max_diff(a: object, b: object) -> float | None:
    """The largest difference over finite values; None when the shapes differ or the
    non-finite values (NaN, Inf) are not the same in both. A model whose output is NaN
    eagerly and traced alike agrees with itself: that is an output finding, not a tracing one."""
    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or a.shape != b.shape:
        return None
    fa, fb = a.detach().float(), b.detach().float()
    finite_a, finite_b = torch.isfinite(fa), torch.isfinite(fb)
    same_nonfinite = (torch.isnan(fa) & torch.isnan(fb)) | (~finite_a & (fa == fb))
    if bool(((~finite_a | ~finite_b) & ~same_nonfinite).any()):
        return None
    both = finite_a & finite_b
    diff = float((fa[both] - fb[both]).abs().max()) if bool(both.any()) else 0.0
    return diff if math.isfinite(diff) else None


class DispatchCount(NamedTuple):
    """One eager forward under the dispatch-level counters, and what it returned."""

    flops: int  # one multiply-add = one flop, as fvcore counts
    convs: int
    elements: int  # summed over the convolutions' outputs
    output: Any

    def counts(self) -> tuple[int, int, int]:
        return self.flops, self.convs, self.elements


def dispatch_count(model: nn.Module, x: torch.Tensor) -> DispatchCount:
    convs = _Convs()
    with torch.no_grad(), FlopCounterMode(display=False) as flops, convs:
        out = model(x)
    return DispatchCount(int(flops.get_total_flops()) // 2, convs.calls, convs.elements, out)


def _traced_output(model: nn.Module, x: torch.Tensor) -> Any:
    """The traced graph's output, tracing afresh: for a model whose output fvcore's own
    trace did not hand over (its top-level hook never fired)."""
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(  # type: ignore[no-untyped-call]
            model, x, check_trace=False, strict=False
        )
        return traced(x)


def _agreement(traced: Any, eager: Any) -> tuple[bool, float | None]:
    diff = _max_diff(traced, eager)
    if diff is None or not isinstance(eager, torch.Tensor):
        return False, None
    # Relative to the output's magnitude: data_range 255 models output up to 255.
    values = eager.detach().float()
    finite = values[torch.isfinite(values)]
    scale = max(1.0, float(finite.abs().max())) if finite.numel() else 1.0
    return diff <= 1e-4 * scale, diff


def fingerprint() -> dict[str, int]:
    """Identity of every function and class attribute of the measuring modules."""
    prints: dict[str, int] = {}
    for mod_name in _WATCHED:
        module = sys.modules.get(mod_name)
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            prints[f"{mod_name}.{name}"] = id(value)
            code = getattr(value, "__code__", None)
            if code is not None:
                prints[f"{mod_name}.{name}.__code__"] = id(code)
            if isinstance(value, type) and value.__module__ == mod_name:
                for attr, member in list(vars(value).items()):
                    prints[f"{mod_name}.{name}.{attr}"] = id(member)
                    if (inner := getattr(member, "__code__", None)) is not None:
                        prints[f"{mod_name}.{name}.{attr}.__code__"] = id(inner)
    return prints


def changed(before: dict[str, int], after: dict[str, int]) -> list[str]:
    return sorted(k for k in before if after.get(k) != before[k])[:50]


def cross_check(
    model: nn.Module,
    x: torch.Tensor,
    *,
    traced: Any = None,
    counted: DispatchCount | None = None,
) -> ComplexityChecks:
    """``traced``: the model's output while fvcore traced it on ``x`` (None: trace here);
    ``counted``: :func:`dispatch_count` on ``x``, if already taken."""
    counted = counted if counted is not None else dispatch_count(model, x)
    traced = traced if traced is not None else _traced_output(model, x)
    matches, diff = _agreement(traced, counted.output)
    return ComplexityChecks(
        float_tensor_elements=float_tensor_elements(model),
        flops_dispatch=counted.flops,
        activations_dispatch=counted.elements,
        conv_count_dispatch=counted.convs,
        traced_matches=matches,
        traced_max_diff=diff,
    )
