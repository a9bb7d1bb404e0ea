"""A submission whose output is plain bicubic gets exactly bicubic's PSNR.

The model re-implements MATLAB's bicubic x4 upscaling (Keys a = -0.5, symmetric borders,
rows then columns, rounding to uint8 after each pass) in the submission's own file, so it
crosses the whole pipeline: packing, intake, worker, SR arrays and the trusted scorer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests import subs
from tests.factories import evaluate

pytestmark = pytest.mark.slow

BICUBIC_MODEL = """\
import math

import torch
import torch.nn as nn


def _cubic(x):
    ax = x.abs()
    return (1.5 * ax**3 - 2.5 * ax**2 + 1) * (ax <= 1) + (
        -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2
    ) * ((ax > 1) & (ax <= 2))


def _matrix(n_in, scale):
    n_out = n_in * scale
    u = torch.arange(1, n_out + 1, dtype=torch.float64) / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - 2)
    idx = left[:, None] + torch.arange(6, dtype=torch.float64)[None, :]
    w = _cubic(u[:, None] - idx)
    w = w / w.sum(dim=1, keepdim=True)
    folded = torch.remainder(idx.long() - 1, 2 * n_in)
    folded = torch.where(folded < n_in, folded, 2 * n_in - 1 - folded)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m.scatter_add_(1, folded, w)
    return m


class Bicubic(nn.Module):
    def __init__(self, scale=4):
        super().__init__()
        self.scale = scale
        self.anchor = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        rows = _matrix(x.shape[2], self.scale)
        cols = _matrix(x.shape[3], self.scale)
        y = torch.einsum("oh,bchw->bcow", rows, x.double())
        y = torch.floor(y.clamp(0, 255) + 0.5)
        y = torch.einsum("pw,bchw->bchp", cols, y)
        y = torch.floor(y.clamp(0, 255) + 0.5)
        return y.float() + self.anchor
"""


def test_bicubic_output_scores_bicubic_psnr(tmp_path: Path) -> None:
    members = subs.good_members(class_name="Bicubic", kwargs={}, data_range=255.0)
    members["models/team16_TinySR.py"] = BICUBIC_MODEL.encode()
    members["model_zoo/team16_TinySR.pth"] = subs.checkpoint_bytes({"anchor": torch.zeros(1)})
    report = evaluate(subs.write_zip(tmp_path / "bicubic.zip", members))
    assert report.status == "evaluated", report.findings
    assert report.images
    for im in report.images:
        assert im.psnr is not None and im.bicubic_psnr is not None
        assert im.psnr == im.bicubic_psnr, (im.split, im.stem)
    assert "ESR505" not in {f.code for f in report.findings}
