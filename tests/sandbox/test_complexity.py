"""Complexity counters pinned against hand-computed values on tiny hand-made models."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from esr_validator.checks import significant_unsupported
from esr_validator.sandbox.complexity import (
    activations_and_convs,
    count_params,
    fvcore_flops,
    input_dependent,
    legacy_flops,
    make_input,
    traced_flops,
)
from esr_validator.sandbox.crosscheck import dispatch_count
from esr_validator.sandbox.session import Session

torch.set_num_threads(1)

S = 256


class OneConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Mixed(nn.Module):
    """Each layer type the counters treat differently, on a 32x32 input."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, 8, 3, padding=1)  # used twice
        self.group = nn.Conv2d(8, 8, 3, padding=1, groups=4, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.bn_plain = nn.BatchNorm2d(8, affine=False)
        self.act = nn.LeakyReLU(0.1)
        self.gelu = nn.GELU()  # unknown to the 2022 counter
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.fc = nn.Linear(4, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.head(x))
        y = self.head(y[:, :3])
        y = self.gelu(self.bn_plain(self.bn(self.group(y))))
        y = F.relu(y)  # functional: free for the 2022 counter
        y = self.up(y)  # 1x4x64x64
        return self.fc(y.permute(0, 2, 3, 1).reshape(1, -1, 4))  # tokens (1, 4096, 4)


def test_one_conv_hand_values() -> None:
    model = OneConv().eval()
    assert count_params(model) == 8 * 3 * 9 + 8
    macs = 8 * 3 * 9 * S * S
    assert fvcore_flops(model, size=S) == (macs, {})
    assert legacy_flops(model, size=S) == macs  # bias is not counted
    assert activations_and_convs(model, size=S) == (8 * S * S, 1)


def test_mixed_model_legacy_rules() -> None:
    model = Mixed().eval()
    n = 32
    head = 8 * 3 * 9 * n * n
    expected = (
        2 * head  # the same conv called twice counts twice
        + 8 * n * n  # LeakyReLU output elements
        + 9 * 8 * (8 // 4) * n * n  # grouped conv: k*k*in*(out/groups) per position
        + 2 * 8 * n * n  # affine batch norm
        + 8 * n * n  # non-affine batch norm
        + 2 * 2 * 8 * 4 * (2 * n) ** 2  # transposed conv, counted at output positions
        + 1 * 4096 * 4096  # Linear on (1, N, C): batch * dim1(in) * dim1(out), as in 2022
    )
    assert legacy_flops(model, size=n) == expected


def test_mixed_model_activations_count_calls() -> None:
    n = 32
    acts = activations_and_convs(Mixed().eval(), size=n)
    assert acts == (8 * n * n * 2 + 8 * n * n + 4 * (2 * n) ** 2, 4)


def test_fvcore_mixed_model_counts_fma_and_lists_zeros() -> None:
    n = 32
    flops = fvcore_flops(Mixed().eval(), size=n)
    head = 8 * 3 * 9 * n * n
    group = 9 * 8 * 2 * n * n
    transposed = 8 * 4 * 2 * 2 * n * n  # fvcore counts transposed convs at input positions
    linear = 4096 * 4 * 6
    # fvcore, eval mode: one flop per element to normalise, one more with an affine part.
    batch_norm = (2 + 1) * 8 * n * n
    assert flops.flops == 2 * head + group + transposed + linear + batch_norm
    assert "aten::gelu" in flops.unsupported_ops
    assert "aten::leaky_relu" in flops.unsupported_ops


def test_fvcore_same_padding_conv_is_an_unsupported_zero() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding="same"))
    result = fvcore_flops(model, size=16)
    assert result.flops == 0
    assert result.unsupported_ops == {"aten::_convolution_mode": 1}


class Routed(nn.Module):
    """A mixture-of-experts caricature: the input's mean picks a wide or a narrow branch."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Conv2d(3, 16, 3, padding=1)
        self.narrow = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wide(x) if x.mean() > 0.4 else self.narrow(x)


def test_input_dependent_flags_routing_only() -> None:
    assert input_dependent(Routed().eval(), size=32) is True
    assert input_dependent(OneConv().eval(), size=32) is False


def test_input_dependent_with_reference() -> None:
    model = OneConv().eval()
    x = make_input(size=32)
    ref = (fvcore_flops(model, inputs=x).flops, activations_and_convs(model, inputs=x).activations)
    assert input_dependent(model, size=32, reference=ref) is False
    assert input_dependent(model, size=32, reference=(ref[0] + 1, ref[1])) is True


def test_make_input_is_seeded_uniform() -> None:
    a, b = make_input(size=8), make_input(size=8)
    assert torch.equal(a, b) and a.shape == (1, 3, 8, 8)
    assert not torch.equal(a, make_input(size=8, seed=1))
    assert float(a.min()) >= 0 and float(a.max()) < 1


def test_hooks_are_removed() -> None:
    model = Mixed().eval()
    legacy_flops(model, size=16)
    activations_and_convs(model, size=16)
    assert all(not m._forward_hooks for m in model.modules())


def test_significant_unsupported_drops_zero_cost_ops() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 48, 3, padding=1)
            self.same = nn.Conv2d(3, 3, 3, padding="same")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.pixel_shuffle(F.gelu(self.conv(x)) + x.repeat_interleave(16, dim=1), 4)
            return y + torch.fft.rfft2(self.same(x)).abs().mean()

    unsupported = fvcore_flops(Residual().eval(), size=16).unsupported_ops
    assert {"aten::add", "aten::gelu", "aten::pixel_shuffle"} <= set(unsupported)
    assert significant_unsupported(unsupported) == {
        "aten::_convolution_mode": 1,
        "aten::fft_rfft2": 1,
    }


class TextureRouted(nn.Module):
    """Skips the wide branch on flat content: noise and noise squared look alike to it, a
    smooth photograph does not (the input-dependence the two-noise check missed)."""

    def __init__(self) -> None:
        super().__init__()
        self.wide = nn.Conv2d(3, 16, 3, padding=1)
        self.narrow = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        texture = (x[..., 1:] - x[..., :-1]).abs().mean()
        return self.wide(x) if texture > 0.05 else self.narrow(x)


def _spread(model: nn.Module, size: int = 32) -> list[tuple[int, int]]:
    x = make_input(size=size)
    flops, acts = fvcore_flops(model, inputs=x), activations_and_convs(model, inputs=x)
    official = (flops.flops, acts.activations)
    return Session._spread(model, x, dispatch_count(model, x), official=official)


def test_input_dependence_on_texture_is_found_with_its_spread() -> None:
    model = TextureRouted().eval()
    assert input_dependent(model, size=32) is False  # two noises cannot tell
    spread = _spread(model)
    assert len(spread) == 3
    flops = [f for f, _ in spread]
    wide, narrow = 32 * 32 * 16 * 27, 32 * 32 * 4 * 27
    assert flops[0] == wide and narrow in flops[1:]


def test_static_models_get_no_spread() -> None:
    assert _spread(OneConv().eval()) == []
    assert _spread(Routed().eval()) != []


def test_traced_flops_hands_over_what_the_trace_returned() -> None:
    model = OneConv().eval()
    x = make_input(size=16)
    count, traced = traced_flops(model, x)
    assert count == fvcore_flops(model, inputs=x)
    with torch.no_grad():
        assert torch.allclose(traced, model(x))
