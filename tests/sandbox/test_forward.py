"""Padding and tiling wrappers agree with the whole-image forward."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from esr_validator.sandbox.forward import make_forward
from esr_validator.schemas.manifest import InferenceSpec


class Pointwise(nn.Module):
    """Each output pixel depends on one input pixel, so any tiling is exact."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Conv2d(3, 48, 1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.body(x))


class Local3x3(nn.Module):
    """A receptive field of 5 LR pixels; tiles with overlap agree away from tile seams."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.a = nn.Conv2d(3, 16, 3, padding=1)
        self.b = nn.Conv2d(16, 48, 3, padding=1)
        self.up = nn.PixelShuffle(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.b(torch.relu(self.a(x))))


@pytest.fixture
def lr() -> torch.Tensor:
    return torch.rand(1, 3, 37, 53, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize(("tile", "overlap"), [(16, 0), (16, 4), (20, 8), (64, 0)])
def test_tiling_is_exact_for_a_pointwise_model(lr: torch.Tensor, tile: int, overlap: int) -> None:
    model = Pointwise().eval()
    with torch.no_grad():
        whole = model(lr)
        tiled = make_forward(model, InferenceSpec(tile=tile, tile_overlap=overlap), scale=4)(lr)
    assert tiled.shape == whole.shape == (1, 3, 148, 212)
    torch.testing.assert_close(tiled, whole, rtol=0, atol=1e-6)


def test_tiling_with_overlap_matches_a_conv_model_closely(lr: torch.Tensor) -> None:
    model = Local3x3().eval()
    with torch.no_grad():
        whole = model(lr)
        tiled = make_forward(model, InferenceSpec(tile=24, tile_overlap=12), scale=4)(lr)
    # Where every covering tile sees the pixel's whole receptive field, blending is exact;
    # only pixels within 2 LR px of some tile edge may differ.
    exact = torch.isclose(tiled, whole, rtol=0, atol=1e-5).float().mean()
    assert exact > 0.5
    assert not torch.equal(tiled, whole)


@pytest.mark.parametrize("multiple", [2, 8, 16])
def test_padding_crops_back_exactly(lr: torch.Tensor, multiple: int) -> None:
    model = Pointwise().eval()
    with torch.no_grad():
        whole = model(lr)
        padded = make_forward(model, InferenceSpec(pad_multiple=multiple), scale=4)(lr)
    assert padded.shape == whole.shape
    torch.testing.assert_close(padded, whole, rtol=0, atol=1e-6)


def test_padding_feeds_the_model_a_multiple(lr: torch.Tensor) -> None:
    seen: list[tuple[int, ...]] = []

    class Recorder(Pointwise):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(tuple(x.shape))
            return super().forward(x)

    make_forward(Recorder().eval(), InferenceSpec(pad_multiple=16), scale=4)(lr)
    assert seen == [(1, 3, 48, 64)]


def test_plain_forward_is_the_model_itself() -> None:
    model = Pointwise()
    assert make_forward(model, InferenceSpec(), scale=4) is model
