"""IMDN: the NTIRE 2022 ESR baseline.

Hui et al., "Lightweight Image Super-Resolution with Information Multi-distillation Network"
(ACM MM 2019; AIM 2019 constrained-SR winner), in the simplified form the 2022 organisers
used (from the KAIR toolbox): 64 channels, eight information multi-distillation blocks
without contrast-aware channel attention, a global residual and a pixel-shuffle tail.

Published (NTIRE 2022 ESR report): 0.894 M params, 58.53 G FLOPs with the 2022 hook-based
counter on a 1x3x256x256 input. Data range 1. Submodule names follow the organisers' file
(``model.0``, ``model.1.sub.N``, ...) so that their checkpoint loads unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

_SLOPE = 0.05


def _conv_act(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(_SLOPE, inplace=True))


class IMDBlock(nn.Module):
    """Each 3x3 stage keeps a quarter of its channels (distilled) and refines the rest."""

    def __init__(self, channels: int = 64, distill_rate: float = 0.25) -> None:
        super().__init__()
        self.d_nc = int(channels * distill_rate)
        self.r_nc = channels - self.d_nc
        self.conv1 = _conv_act(channels, channels)
        self.conv2 = _conv_act(self.r_nc, channels)
        self.conv3 = _conv_act(self.r_nc, channels)
        self.conv4 = nn.Conv2d(self.r_nc, self.d_nc, 3, padding=1)
        self.conv1x1 = nn.Conv2d(self.d_nc * 4, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = [self.d_nc, self.r_nc]
        d1, r1 = torch.split(self.conv1(x), split, dim=1)
        d2, r2 = torch.split(self.conv2(r1), split, dim=1)
        d3, r3 = torch.split(self.conv3(r2), split, dim=1)
        d4 = self.conv4(r3)
        out: torch.Tensor = self.conv1x1(torch.cat((d1, d2, d3, d4), dim=1))
        return x + out


class Shortcut(nn.Module):
    def __init__(self, sub: nn.Module) -> None:
        super().__init__()
        self.sub = sub

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.sub(x)
        return x + out


class IMDN(nn.Module):
    def __init__(self, *, channels: int = 64, blocks: int = 8, upscale: int = 4) -> None:
        super().__init__()
        body = [IMDBlock(channels) for _ in range(blocks)]
        self.model = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1),
            Shortcut(nn.Sequential(*body, nn.Conv2d(channels, channels, 3, padding=1))),
            nn.Conv2d(channels, 3 * upscale**2, 3, padding=1),
            nn.PixelShuffle(upscale),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.model(x)
        return out


def build(*, scale: int = 4) -> nn.Module:
    return IMDN(upscale=scale)
