"""Describe the machine the numbers were measured on."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from esr_validator.schemas.worker import Environment


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()[:200]
    except OSError:
        pass
    return (platform.processor() or platform.machine())[:200]


def _driver() -> str | None:
    try:
        text = Path("/proc/driver/nvidia/version").read_text()
    except OSError:
        return None
    for word in text.split():
        if word[:1].isdigit() and word.count(".") >= 1:
            return word[:64]
    return None


def environment(device: torch.device) -> Environment:
    cuda = device.type == "cuda"
    cudnn = torch.backends.cudnn.version() if cuda else None  # type: ignore[no-untyped-call]
    return Environment(
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda if cuda else None,
        cudnn=str(cudnn) if cudnn else None,
        device=str(device),
        gpu_name=torch.cuda.get_device_name(device) if cuda else None,
        driver=_driver() if cuda else None,
        cpu=cpu_name(),
        threads=torch.get_num_threads(),
        platform=platform.platform()[:200],
    )
