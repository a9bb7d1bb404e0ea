"""Challenge baseline architectures, built by name.

Weights are random: the baselines exist to check complexity counters against published
figures and to time a reference network on the local device (calibration), never to make
images. A baseline's module is imported only when it is built, so reading the registry does
not import torch.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from esr_validator.errors import UsageError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class BaselineSpec:
    name: str
    title: str
    module: str
    data_range: float
    scales: tuple[int, ...]
    challenge: str


SPECS: tuple[BaselineSpec, ...] = (
    BaselineSpec("rlfn", "RLFN_Prune", "rlfn", 255.0, (4,), "NTIRE 2024 ESR"),
    BaselineSpec("efdn", "EFDN", "efdn", 1.0, (4,), "NTIRE 2025 ESR"),
    BaselineSpec("span", "SPAN (28 channels, deployed)", "span", 1.0, (4,), "NTIRE 2026 ESR"),
    BaselineSpec("imdn", "IMDN (KAIR, 8 blocks)", "imdn", 1.0, (4,), "NTIRE 2022 ESR"),
    BaselineSpec("rtsrn", "RTSRN", "rtsrn", 1.0, (2, 3), "NTIRE 2023 Real-Time SR"),
)
BASELINES: dict[str, BaselineSpec] = {s.name: s for s in SPECS}


class _Factory(Protocol):
    def __call__(self, *, scale: int) -> nn.Module: ...


def baseline_spec(name: str) -> BaselineSpec:
    key = name.strip().lower()
    if key not in BASELINES:
        close = difflib.get_close_matches(key, BASELINES, n=1)
        raise UsageError(
            f"unknown baseline {name!r}; known: {', '.join(BASELINES)}",
            hint=f"did you mean {close[0]!r}?" if close else None,
        )
    return BASELINES[key]


def get_baseline(name: str, *, scale: int | None = None) -> nn.Module:
    """Build baseline ``name`` with random weights, in eval mode, without gradients."""
    spec = baseline_spec(name)
    scale = spec.scales[0] if scale is None else scale
    if scale not in spec.scales:
        raise UsageError(f"baseline {spec.name} is published for x{spec.scales}, not x{scale}")
    module = importlib.import_module(f"esr_validator.baselines.{spec.module}")
    model = cast(_Factory, module.build)(scale=scale)
    model.eval()
    # As the official harnesses do: weights never need gradients, inputs are not no_grad'ed.
    for p in model.parameters():
        p.requires_grad_(False)
    return model
