"""The trusted scorer's input and output.

The scorer holds HR and reads the worker's SR arrays; it never sees the submission.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from esr_validator.schemas.ruleset import YChannel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ScoreItem(_Strict):
    split: str
    stem: str
    hr_file: str = Field(description="Relative to hr_dir.")
    lr_file: str = Field(description="Relative to lr_dir.")
    sr_file: str | None = Field(description="Relative to sr_dir; None when none was written.")


class ScoreRequest(_Strict):
    hr_dir: str
    lr_dir: str
    sr_dir: str
    out_file: str
    scale: int = Field(ge=1, le=8)
    border: int = Field(default=4, ge=0, le=64)
    ssim: bool = Field(default=False, description="SSIM, and Y PSNR by BT.601 unless y_channel.")
    y_channel: YChannel = Field(default="off", description="Y PSNR as the ruleset defines it.")
    bicubic: bool = True
    items: list[ScoreItem]


class ImageScore(_Strict):
    split: str
    stem: str
    psnr: float | None = Field(description="None when identical (infinite) or unscorable.")
    identical: bool = False
    psnr_y: float | None = None
    ssim: float | None = None
    bicubic_psnr: float | None = None
    constant: bool = False
    problem: str | None = Field(default=None, description="Why the image could not be scored.")


class ScoreOutput(_Strict):
    images: list[ImageScore]
