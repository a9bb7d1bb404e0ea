"""EFDN: the NTIRE 2025 ESR baseline.

Yan Wang, "Edge-Enhanced Feature Distillation Network for Efficient Super-Resolution"
(CVPRW 2022), in its deployed form: each edge-enhanced diverse branch block (EDBB) has been
re-parameterised into one 3x3 convolution followed by a per-channel PReLU. 48 channels, four
cells, hierarchical 1x1 fusion between cells, ESA attention in every cell.

Published (2025 ESR repository, official code, 1x3x256x256 input): 0.276192 M params,
16.7035 G fvcore FLOPs. The output is clamped to [0, 1] (data_range 1). Submodule names
follow the organisers' file so that their checkpoint loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ESA(nn.Module):
    """EFDN's deeper ESA: three 3x3 convolutions on the pooled branch instead of one."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        f = n_feats // 4
        self.conv1 = nn.Conv2d(n_feats, f, 1)
        self.conv2 = nn.Conv2d(f, f, 3, stride=2, padding=0)
        self.conv_max = nn.Conv2d(f, f, 3, padding=1)
        self.conv3 = nn.Conv2d(f, f, 3, padding=1)
        self.conv3_ = nn.Conv2d(f, f, 3, padding=1)
        self.conv_f = nn.Conv2d(f, f, 1)
        self.conv4 = nn.Conv2d(f, n_feats, 1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        low = F.max_pool2d(self.conv2(reduced), kernel_size=7, stride=3)
        low = self.relu(self.conv_max(low))
        low = self.conv3_(self.relu(self.conv3(low)))
        low = F.interpolate(low, size=x.shape[2:], mode="bilinear", align_corners=False)
        mask = torch.sigmoid(self.conv4(low + self.conv_f(reduced)))
        return x * mask


class Conv1x1Act(nn.Module):
    def __init__(self, n_feats: int) -> None:
        super().__init__()
        self.conv1x1 = nn.Conv2d(n_feats, n_feats, 1)
        self.act = nn.PReLU(num_parameters=n_feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(self.conv1x1(x))
        return out


class EDBBDeploy(nn.Module):
    """A re-parameterised EDBB: its six training branches folded into ``rep_conv``."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        self.rep_conv = nn.Conv2d(n_feats, n_feats, 3, padding=1)
        self.act = nn.PReLU(num_parameters=n_feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(self.rep_conv(x))
        return out


class Cell(nn.Module):
    """Edge-enhanced feature distillation block: four half-width taps fused by a 1x1 conv."""

    def __init__(self, n_feats: int) -> None:
        super().__init__()
        self.conv1 = Conv1x1Act(n_feats)
        self.conv2 = EDBBDeploy(n_feats)
        self.conv3 = EDBBDeploy(n_feats)
        self.branch = nn.ModuleList([nn.Conv2d(n_feats, n_feats // 2, 1) for _ in range(4)])
        self.fuse = nn.Conv2d(n_feats * 2, n_feats, 1)
        self.att = ESA(n_feats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        taps = [branch(t) for branch, t in zip(self.branch, (x, out1, out2, out3), strict=True)]
        out: torch.Tensor = self.att(self.fuse(torch.cat(taps, dim=1)))
        return out + x


class EFDN(nn.Module):
    def __init__(self, *, scale: int = 4, n_feats: int = 48) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, n_feats, 3, padding=1)
        self.cells = nn.ModuleList([Cell(n_feats) for _ in range(4)])
        self.local_fuse = nn.ModuleList([nn.Conv2d(n_feats * 2, n_feats, 1) for _ in range(3)])
        self.tail = nn.Sequential(
            nn.Conv2d(n_feats, 3 * scale**2, 3, padding=1), nn.PixelShuffle(scale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out0 = self.head(x)
        out1 = self.cells[0](out0)
        out2 = self.cells[1](out1)
        fused = self.local_fuse[0](torch.cat([out1, out2], dim=1))
        out3 = self.cells[2](fused)
        fused = self.local_fuse[1](torch.cat([out2, out3], dim=1))
        out4 = self.cells[3](fused)
        # The organisers' model fuses out2 (not out3) with out4 here; kept as published.
        fused = self.local_fuse[2](torch.cat([out2, out4], dim=1))
        out: torch.Tensor = self.tail(fused + out0)
        return out.clamp(0, 1)


def build(*, scale: int = 4) -> nn.Module:
    return EFDN(scale=scale)
