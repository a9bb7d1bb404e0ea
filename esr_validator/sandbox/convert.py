"""The model side of the image conversion, as the challenge does it.

The trusted side decodes the images (OpenCV, BGR to RGB, uint8 HWC) and sends the pixels; here
they become the float32 NCHW tensor scaled to ``[0, data_range]`` that the model gets, and the
model's output goes back to uint8 HWC: clamp on the tensor, scale in float32 NumPy, round half
to even. Each step is reproduced exactly, because a different rounding rule shifts PSNR in
the third decimal and the validator must match official numbers.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

Uint8Image = npt.NDArray[np.uint8]


def to_tensor(img: Uint8Image, data_range: float) -> torch.Tensor:
    """uint8 HWC -> float32 1xCxHxW in ``[0, data_range]``, as handed to the model."""
    chw = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    # A torch division by 255/data_range, as the official code does: multiplying by the
    # reciprocal instead rounds differently in float32.
    return chw.float().div(255.0 / data_range).unsqueeze(0)


def from_tensor(t: torch.Tensor, data_range: float) -> Uint8Image:
    """Model output 1xCxHxW -> uint8 HWC, clamping on the tensor and rounding half to even."""
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected a batch of one, got shape {tuple(t.shape)}")
        t = t[0]
    if t.ndim != 3:
        raise ValueError(f"expected CxHxW, got shape {tuple(t.shape)}")
    # Out of place: the official clamp_ would also overwrite the caller's tensor.
    clamped = t.detach().float().clamp(0, data_range).cpu().numpy()
    # ``x * 255.0 / data_range`` evaluated left to right in float32, the official order;
    # for data_range 255 it is not bit-identical to multiplying by 1.0.
    scaled = clamped.transpose(1, 2, 0) * np.float32(255.0) / np.float32(data_range)
    return np.round(scaled).astype(np.uint8)
