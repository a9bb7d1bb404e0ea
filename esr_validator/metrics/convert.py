"""Image conversion between files and uint8 arrays, as the challenge does it.

The official scripts read with OpenCV and convert BGR to RGB. The model side of the
conversion (float32 NCHW tensors in ``[0, data_range]`` and back, rounding half to even) runs
in the sandbox: :mod:`esr_validator.sandbox.convert`. This module never imports torch, so the
scorer starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar, cast

import cv2
import numpy as np
import numpy.typing as npt

Uint8Image = npt.NDArray[np.uint8]
ArrayT = TypeVar("ArrayT", bound=np.ndarray[Any, Any])


class ImageReadError(Exception):
    """An image file could not be decoded, or has a layout the protocol does not define."""


def to_rgb(img: npt.NDArray[np.generic]) -> Uint8Image:
    """Turn an array as OpenCV decodes it (BGR, gray or BGRA) into uint8 RGB HWC."""
    if img.dtype != np.uint8:
        raise ImageReadError(f"expected 8-bit pixels, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ImageReadError(f"unsupported image shape {img.shape}")
    if img.shape[2] == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    # Alpha carries nothing the metrics use; the official reader never sees it either.
    return np.ascontiguousarray(img[:, :, 2::-1])


def read_image(path: str | Path) -> Uint8Image:
    """Read ``path`` as uint8 RGB HWC; grayscale becomes three equal channels."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageReadError(f"cannot decode image {path}")
    return to_rgb(img)


def write_image(path: str | Path, img: Uint8Image) -> None:
    """Write uint8 RGB HWC (or gray HW) losslessly, the inverse of :func:`read_image`."""
    data = img if img.ndim == 2 else img[:, :, ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(data)):
        raise OSError(f"cannot write image {path}")


def mod_crop(img: ArrayT, scale: int) -> ArrayT:
    """Crop the bottom and right edges so height and width are multiples of ``scale``."""
    if scale < 1:
        raise ValueError(f"scale must be positive, got {scale}")
    h, w = img.shape[:2]
    return cast(ArrayT, img[: h - h % scale, : w - w % scale, ...])
