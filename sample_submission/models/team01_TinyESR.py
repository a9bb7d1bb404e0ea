"""TinyESR: a small x4 super-resolution network, the validator's sample submission.

Design, chosen for a low FLOP count and for ops every counter understands:

- a 3x3 head conv to ``num_feat`` channels;
- ``num_blocks`` residual blocks, each conv3x3 -> ReLU -> conv3x3 plus the block input;
- a 3x3 tail conv to ``3 * scale**2`` channels, then pixel shuffle;
- a nearest-neighbour global skip: each input pixel is repeated into the ``scale**2``
  sub-pixel channels of its colour before the shuffle, so the body only learns the
  residual over a nearest upscale.

Plain PyTorch, no device or file handling: the harness moves and loads it.
Input and output are in [0, 1] (data_range 1.0).
"""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.act = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class TinyESR(nn.Module):
    def __init__(self, num_feat: int = 24, num_blocks: int = 4, scale: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, num_feat, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(num_feat) for _ in range(num_blocks)])
        self.tail = nn.Conv2d(num_feat, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.head(x)
        feat = self.body(feat) + feat
        # Channel c*s*s + k of the tail becomes sub-pixel k of colour c after the shuffle,
        # so repeat_interleave (not repeat) lines the skip up with the right colour.
        skip = torch.repeat_interleave(x, self.scale * self.scale, dim=1)
        return self.shuffle(self.tail(feat) + skip)
