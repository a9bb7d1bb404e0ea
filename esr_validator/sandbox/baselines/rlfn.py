"""RLFN_Prune: the NTIRE 2024 ESR baseline.

Kong et al., "Residual Local Feature Network for Efficient Super-Resolution" (NTIRE 2022
winner), in the pruned form the 2024 organisers ship as ``team00_RLFN``: 46 feature and 48
mid channels, four blocks, each ending in an enhanced spatial attention (ESA) mask.

Published (2024 ESR repository, 1x3x256x256 input): 0.3172 M params, 19.6749 G fvcore FLOPs,
80.05 M activations, 39 convolutions. The model takes input in [0, 255] (data_range 255).
Submodule names follow the organisers' file so that their checkpoint loads unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _conv(cin: int, cout: int, k: int, *, stride: int = 1, padding: int | None = None) -> nn.Conv2d:
    return nn.Conv2d(
        cin, cout, k, stride=stride, padding=(k - 1) // 2 if padding is None else padding
    )


class ESA(nn.Module):
    """Spatial attention computed on a strided, max-pooled branch (about 1/6 resolution)."""

    def __init__(self, esa_channels: int, n_feats: int) -> None:
        super().__init__()
        f = esa_channels
        self.conv1 = _conv(n_feats, f, 1)
        self.conv_f = _conv(f, f, 1)
        self.conv2 = _conv(f, f, 3, stride=2, padding=0)
        self.conv3 = _conv(f, f, 3)
        self.conv4 = _conv(f, n_feats, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.conv1(x)
        low = F.max_pool2d(self.conv2(reduced), kernel_size=7, stride=3)
        low = F.interpolate(self.conv3(low), size=x.shape[2:], mode="bilinear", align_corners=False)
        mask = torch.sigmoid(self.conv4(low + self.conv_f(reduced)))
        return x * mask


class RLFBPrune(nn.Module):
    """Three 3x3 convolutions with a local residual, a 1x1 fusion and ESA."""

    def __init__(self, in_channels: int, mid_channels: int, esa_channels: int = 16) -> None:
        super().__init__()
        self.c1_r = _conv(in_channels, mid_channels, 3)
        self.c2_r = _conv(mid_channels, mid_channels, 3)
        self.c3_r = _conv(mid_channels, in_channels, 3)
        self.c5 = _conv(in_channels, in_channels, 1)
        self.esa = ESA(esa_channels, in_channels)
        # One module called three times: the legacy counter sees three activation outputs.
        self.act = nn.LeakyReLU(negative_slope=0.05, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.c1_r(x))
        out = self.act(self.c2_r(out))
        out = self.act(self.c3_r(out))
        result: torch.Tensor = self.esa(self.c5(out + x))
        return result


class RLFNPrune(nn.Module):
    def __init__(
        self, *, feature_channels: int = 46, mid_channels: int = 48, upscale: int = 4
    ) -> None:
        super().__init__()
        self.conv_1 = _conv(3, feature_channels, 3)
        self.block_1 = RLFBPrune(feature_channels, mid_channels)
        self.block_2 = RLFBPrune(feature_channels, mid_channels)
        self.block_3 = RLFBPrune(feature_channels, mid_channels)
        self.block_4 = RLFBPrune(feature_channels, mid_channels)
        self.conv_2 = _conv(feature_channels, feature_channels, 3)
        self.upsampler = nn.Sequential(
            _conv(feature_channels, 3 * upscale**2, 3), nn.PixelShuffle(upscale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_1(x)
        out = self.block_4(self.block_3(self.block_2(self.block_1(shallow))))
        out = self.conv_2(out) + shallow
        result: torch.Tensor = self.upsampler(out)
        return result


def build(*, scale: int = 4) -> nn.Module:
    return RLFNPrune(upscale=scale)
