"""Cheating entries against the complexity cross-checks, with real torch and fvcore.

Each cheat must end in an error finding; the honest baselines must get none.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from esr_validator.integrity import complexity_findings
from esr_validator.sandbox import complexity as cx
from esr_validator.sandbox.baselines import build_baseline
from esr_validator.sandbox.crosscheck import changed, cross_check, fingerprint
from esr_validator.schemas.worker import Complexity


def _measure(model: nn.Module, *, retrace: bool = False) -> Complexity:
    """As the complexity process counts: the traced output is the one fvcore's trace returned
    (``retrace``: the fallback that traces afresh, for a model whose hook never fired)."""
    x = cx.make_input(size=64)
    flops, traced = cx.traced_flops(model, x)
    acts = cx.activations_and_convs(model, inputs=x)
    return Complexity(
        params=cx.count_params(model),
        params_before_inference=cx.count_params(model),
        flops=flops.flops,
        activations=acts.activations,
        conv_count=acts.convs,
        input_dependent=False,
        input_height=64,
        input_width=64,
        checks=cross_check(model, x, traced=None if retrace else traced),
    )


class Honest(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Conv2d(3, 16, 3, padding=1)
        self.tail = nn.Conv2d(16, 48, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.tail(F.relu(self.body(x))), 4)


class WeightsAsBuffers(nn.Module):
    """Weights as buffers and a plain tensor attribute, applied with F.conv2d."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w1", torch.randn(16, 3, 3, 3))
        self.w2 = torch.randn(48, 16, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv2d(F.relu(F.conv2d(x, self.w1, padding=1)), self.w2, padding=1)
        return F.pixel_shuffle(y, 4)


class HidesFromTracing(Honest):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_tracing():
            return F.interpolate(x, scale_factor=4.0)
        return super().forward(x)


def _codes(model: nn.Module) -> set[str]:
    return {f.name for f in complexity_findings(_measure(model))}


def test_honest_model_gets_no_finding() -> None:
    assert _codes(Honest()) == set()


@pytest.mark.parametrize("name", ["rlfn", "span"])
def test_baselines_get_no_finding(name: str) -> None:
    assert _codes(build_baseline(name, scale=4)) == set()


def test_weights_as_buffers_are_found() -> None:
    found = complexity_findings(_measure(WeightsAsBuffers()))
    names = {f.name for f in found}
    assert {"params-hidden", "functional-convolutions"} <= names
    hidden = next(f for f in found if f.name == "params-hidden")
    held = 16 * 3 * 9 + 48 * 16 * 9  # both weight tensors, none of them a Parameter
    assert "parameters() counts 0" in hidden.message and f"{held:,}" in hidden.message


def test_counts_on_another_input_are_found() -> None:
    """The trusted side knows the input it asked for; a count on another one is tampering."""
    c = _measure(Honest())  # counted on 64x64
    assert complexity_findings(c, asked=(64, 64)) == []
    [f] = complexity_findings(c, asked=(1920, 1080))
    assert f.name == "measuring-code-tampered" and "asked for 1920x1080" in f.message


@pytest.mark.parametrize("retrace", [False, True])
def test_tracing_detection_is_found(retrace: bool) -> None:
    c = _measure(HidesFromTracing(), retrace=retrace)
    assert c.flops < (c.checks.flops_dispatch or 0) / 100  # type: ignore[union-attr]
    assert {"flops-hidden-under-tracing", "traced-output-differs"} <= {
        f.name for f in complexity_findings(c)
    }


def test_rewritten_counter_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a model module can do at import time through sys.modules: replace the counter.
    before = fingerprint()
    monkeypatch.setattr(cx, "fvcore_flops", lambda *a, **k: cx.FlopCount(1, {}))
    assert "esr_validator.sandbox.complexity.fvcore_flops" in changed(before, fingerprint())


def test_nan_output_alike_traced_and_eager_is_no_tracing_finding() -> None:
    """A model that outputs NaN eagerly and traced alike agrees with itself (its NaN is an
    output finding of its own), while one whose traced output differs still gets one."""
    from esr_validator.sandbox.crosscheck import _max_diff

    nan = torch.full((1, 3, 4, 4), float("nan"))
    assert _max_diff(nan, nan.clone()) == 0.0
    assert _max_diff(nan, torch.zeros(1, 3, 4, 4)) is None
    assert _max_diff(torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)) == 1.0
