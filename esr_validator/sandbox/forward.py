"""The forward the harness times: plain, padded to a multiple, or tiled."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from esr_validator.schemas.manifest import InferenceSpec

Forward = Callable[[torch.Tensor], torch.Tensor]


def _padded(model: nn.Module, multiple: int, scale: int) -> Forward:
    def run(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        ph, pw = (-h) % multiple, (-w) % multiple
        # Reflect needs the pad to be smaller than the side; tiny inputs fall back to replicate.
        mode = "reflect" if ph < h and pw < w else "replicate"
        y: torch.Tensor = model(F.pad(x, (0, pw, 0, ph), mode=mode) if ph or pw else x)
        return y[..., : h * scale, : w * scale]

    return run


def _starts(size: int, tile: int, stride: int) -> list[int]:
    starts = list(range(0, size - tile, stride))
    return [*starts, size - tile]


def _tiled(model: nn.Module, tile: int, overlap: int, scale: int) -> Forward:
    """Overlapping tiles averaged uniformly, as the organizers' tiled forward blends them."""

    def run(x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        size = min(tile, h, w)
        stride = max(size - overlap, 1)
        acc: torch.Tensor | None = None
        weight: torch.Tensor | None = None
        for top in _starts(h, size, stride):
            for left in _starts(w, size, stride):
                patch = model(x[..., top : top + size, left : left + size])
                if acc is None or weight is None:
                    acc = patch.new_zeros(*patch.shape[:2], h * scale, w * scale)
                    weight = torch.zeros_like(acc)
                rows = slice(top * scale, (top + size) * scale)
                cols = slice(left * scale, (left + size) * scale)
                acc[..., rows, cols] += patch
                weight[..., rows, cols] += 1
        assert acc is not None and weight is not None
        return acc / weight

    return run


def make_forward(model: nn.Module, spec: InferenceSpec, *, scale: int) -> Forward:
    if spec.tile is not None:
        return _tiled(model, spec.tile, spec.tile_overlap, scale)
    if spec.pad_multiple is not None:
        return _padded(model, spec.pad_multiple, scale)
    return model
