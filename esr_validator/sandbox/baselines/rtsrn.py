"""RTSRN: the NTIRE 2023 Real-Time Super-Resolution baseline (x2 and x3).

A plain network after the AIM 2022 quantized-SR methods: a 3x3 head, five 3x3 convolutions
with ReLU between them, a global residual and a pixel-shuffle tail; 64 channels.
Source: ``demo/models/rtsrn.py`` and the README table "Performance of baseline methods" in
github.com/eduardzamfir/NTIRE23-RTSR.

Published figures are runtimes only (RTX 3090, 244 timed passes after warm-up): x2
(1080p -> 4K) 49.14 ms FP32, 29.93 ms FP16, 10.97 ms TensorRT FP16; x3 (720p -> 4K) 21.84 ms
FP32, 13.28 ms FP16, 5.32 ms TensorRT FP16. Scoring uses FP16 without TensorRT. The organisers
published no parameter or FLOP count for it; the counts this architecture implies are
0.193356 M params (x2) and 0.202011 M params (x3). Data range 1.
"""

from __future__ import annotations

import torch
from torch import nn


class RealTimeSRNet(nn.Module):
    def __init__(self, *, feats: int = 64, blocks: int = 5, upscale: int = 2) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, feats, 3, padding=1))
        body: list[nn.Module] = []
        for i in range(blocks):
            body.append(nn.Conv2d(feats, feats, 3, padding=1))
            if i < blocks - 1:  # no activation after the last body conv, as published
                body.append(nn.ReLU(inplace=True))
        self.body = nn.Sequential(*body)
        self.upsample = nn.Sequential(
            nn.Conv2d(feats, 3 * upscale**2, 3, padding=1), nn.PixelShuffle(upscale)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = self.head(x)
        out: torch.Tensor = self.upsample(res + self.body(res))
        return out


def build(*, scale: int = 2) -> nn.Module:
    return RealTimeSRNet(upscale=scale)
