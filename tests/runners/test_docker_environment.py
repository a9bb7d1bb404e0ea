"""The CPU image carries every ruleset's environment: each package imports inside it."""

from __future__ import annotations

from typing import Any

import pytest

from esr_validator.ruleset import list_rulesets, load_ruleset

pytestmark = pytest.mark.docker

MODULES = sorted({p.module for n in list_rulesets() for p in load_ruleset(n).environment.packages})
# Submodules entries use, which need more than the top-level import: mmcv.cnn (mmengine),
# basicsr's layers (the functional_tensor alias), timm's layers (torchvision's ops).
DEEP = ["mmcv.cnn", "basicsr.archs.arch_util", "basicsr.utils.registry", "timm.layers"]


def test_every_ruleset_package_imports_in_the_cpu_image(cpu_image: Any, docker_engine: Any) -> None:
    code = (
        "import importlib, os, torch, torchvision\n"
        f"for m in {MODULES + DEEP!r}: importlib.import_module(m)\n"
        "from torchvision.ops import nms\n"
        "print(len(nms(torch.rand(3, 4) * 9, torch.rand(3), 0.5)) > 0,"
        " torch.cuda.is_available(), os.environ['HF_HUB_OFFLINE'])\n"
    )
    out = docker_engine.containers.run(
        cpu_image.tag,
        ["python", "-c", code],
        network_mode="none",
        remove=True,
        read_only=True,
        tmpfs={"/tmp": "size=256m"},
        user="65534:65534",
    )
    assert out.decode().split() == ["True", "False", "1"]
