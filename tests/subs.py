"""Build submissions for tests: good ones and every kind of broken one."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import tomli_w
import torch

TINY_MODEL = '''\
import torch
import torch.nn as nn
import torch.nn.functional as F


class TinySR(nn.Module):
    """A 4x upscaler small enough to evaluate in milliseconds."""

    def __init__(self, num_feat=8, scale=4):
        super().__init__()
        self.head = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.tail = nn.Conv2d(num_feat, 3 * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)
        self.scale = scale

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        y = F.relu(self.head(x))
        y = F.relu(self.body(y)) + y
        return self.shuffle(self.tail(y)) + base
'''


def tiny_state_dict(num_feat: int = 8, seed: int = 0) -> dict[str, torch.Tensor]:
    ns: dict[str, Any] = {}
    exec(compile(TINY_MODEL, "tiny", "exec"), ns)  # test helper: our own code, not a submission
    torch.manual_seed(seed)
    return ns["TinySR"](num_feat=num_feat).state_dict()


def checkpoint_bytes(obj: Any) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def manifest(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": 1,
        "team_id": 16,
        "team_name": "Test Team",
        "model_name": "TinySR",
        "class_name": "TinySR",
        "data_range": 1.0,
        "kwargs": {"num_feat": 8},
    }
    data.update(overrides)
    return data


def good_members(**manifest_overrides: Any) -> dict[str, bytes]:
    return {
        "submission.toml": tomli_w.dumps(manifest(**manifest_overrides)).encode(),
        "models/team16_TinySR.py": TINY_MODEL.encode(),
        "model_zoo/team16_TinySR.pth": checkpoint_bytes(tiny_state_dict()),
    }


# TinySR split into a package, reaching its helpers in every way real entries do: relatively,
# by the package's own absolute name, from a subpackage, and inside a function.
PACKAGE = "models/team16_TinySR"
PACKAGE_FILES = {
    "__init__.py": "",
    "net.py": """\
import torch.nn as nn
import torch.nn.functional as F

import models.team16_TinySR.blocks as B
from .ops.act import relu


class TinySR(nn.Module):
    def __init__(self, num_feat=8, scale=4):
        super().__init__()
        self.head = B.conv3(3, num_feat)
        self.body = B.conv3(num_feat, num_feat)
        self.tail = B.conv3(num_feat, 3 * scale * scale)
        self.shuffle = nn.PixelShuffle(scale)
        self.scale = scale

    def forward(self, x):
        from models.team16_TinySR import blocks

        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        y = relu(self.head(x))
        y = blocks.residual(relu(self.body(y)), y)
        return self.shuffle(self.tail(y)) + base
""",
    "blocks.py": """\
import torch.nn as nn


def conv3(cin, cout):
    return nn.Conv2d(cin, cout, 3, 1, 1)


def residual(y, skip):
    return y + skip
""",
    "ops/__init__.py": "",
    "ops/act.py": """\
import torch.nn.functional as F

from ..blocks import residual  # noqa: F401  (a relative import that climbs one level)


def relu(x):
    return F.relu(x)
""",
}


def package_members(
    files: dict[str, str] | None = None, **manifest_overrides: Any
) -> dict[str, bytes]:
    """A good submission whose model is the package above (module = "net")."""
    chosen = PACKAGE_FILES if files is None else files
    return {
        "submission.toml": tomli_w.dumps(manifest(module="net", **manifest_overrides)).encode(),
        **{f"{PACKAGE}/{name}": text.encode() for name, text in chosen.items()},
        "model_zoo/team16_TinySR.pth": checkpoint_bytes(tiny_state_dict()),
    }


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path
