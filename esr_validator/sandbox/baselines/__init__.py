"""Challenge baseline architectures, built by their registry module name.

Weights are random: the baselines exist to check complexity counters against published
figures and to time a reference network on the local device (calibration), never to make
images. The registry (names, scales, data ranges) is :mod:`esr_validator.baselines`, on the
trusted side; this package only builds.
"""

from __future__ import annotations

import importlib
import re
from typing import Protocol, cast

from torch import nn

_MODULE = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


class _Factory(Protocol):
    def __call__(self, *, scale: int) -> nn.Module: ...


def build_baseline(module_name: str, *, scale: int) -> nn.Module:
    """Build the baseline of ``module_name`` with random weights, in eval mode, frozen."""
    if not _MODULE.match(module_name):
        raise ValueError(f"not a baseline module name: {module_name!r}")
    module = importlib.import_module(f"{__name__}.{module_name}")
    model = cast(_Factory, module.build)(scale=scale)
    model.eval()
    # As the official harnesses do: weights never need gradients, inputs are not no_grad'ed.
    for p in model.parameters():
        p.requires_grad_(False)
    return model
