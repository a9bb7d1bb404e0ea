"""SPAN: the NTIRE 2026 ESR baseline.

Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution" (NTIRE
2024 ESR winner), as submitted to that challenge: 28 feature channels, six SPAB blocks, every
Conv3XC block already re-parameterised into its single 3x3 ``eval_conv``. The attention is
parameter-free: ``sigmoid(x) - 0.5`` of the block's own output.

Published (2026 ESR baseline figures, 1x3x256x256 input): 0.151 M params, 9.83 G fvcore
FLOPs. The model takes input in [0, 1] (data_range 1) and rescales it to [0, 255] itself.
Submodule names follow the submitted file so that its checkpoint loads unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class Conv3XC(nn.Module):
    """Deployed Conv3XC: the 1x1-3x3-1x1 chain and the 1x1 skip are folded into one 3x3."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.eval_conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.eval_conv(x)
        return out


class SPAB(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.c1_r = Conv3XC(channels, channels)
        self.c2_r = Conv3XC(channels, channels)
        self.c3_r = Conv3XC(channels, channels)
        self.act1 = nn.SiLU(inplace=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out1 = self.c1_r(x)
        out3 = self.c3_r(self.act1(self.c2_r(self.act1(out1))))
        attention = torch.sigmoid(out3) - 0.5
        # out1 is returned before its activation: the network taps it for the final concat.
        return (out3 + x) * attention, out1


class SPAN(nn.Module):
    mean: torch.Tensor

    def __init__(
        self, *, feature_channels: int = 28, upscale: int = 4, img_range: float = 255.0
    ) -> None:
        super().__init__()
        self.img_range = img_range
        # Not persistent: the submitted checkpoint has no such key, but it must follow .to().
        self.register_buffer("mean", torch.tensor(_RGB_MEAN).view(1, 3, 1, 1), persistent=False)
        self.conv_1 = Conv3XC(3, feature_channels)
        self.block_1 = SPAB(feature_channels)
        self.block_2 = SPAB(feature_channels)
        self.block_3 = SPAB(feature_channels)
        self.block_4 = SPAB(feature_channels)
        self.block_5 = SPAB(feature_channels)
        self.block_6 = SPAB(feature_channels)
        self.conv_cat = nn.Conv2d(feature_channels * 4, feature_channels, 1)
        self.conv_2 = Conv3XC(feature_channels, feature_channels)
        self.upsampler = nn.Sequential(
            nn.Conv2d(feature_channels, 3 * upscale**2, 3, padding=1), nn.PixelShuffle(upscale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean.type_as(x)) * self.img_range
        feature = self.conv_1(x)
        out_b1, _ = self.block_1(feature)
        out, _ = self.block_2(out_b1)
        out, _ = self.block_3(out)
        out, _ = self.block_4(out)
        out, _ = self.block_5(out)
        out_b6, out_b5_2 = self.block_6(out)
        final = self.conv_2(out_b6)
        out = self.conv_cat(torch.cat([feature, final, out_b1, out_b5_2], dim=1))
        result: torch.Tensor = self.upsampler(out)
        return result


def build(*, scale: int = 4) -> nn.Module:
    return SPAN(upscale=scale)
