"""The image locks agree with environment.toml, their .in files, and pin every file by hash."""

from __future__ import annotations

import hashlib
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = tomllib.loads((ROOT / "esr_validator" / "resources" / "environment.toml").read_text())
PINS = tomllib.loads((ROOT / "docker" / "pins.toml").read_text())
VARIANTS = ("cpu", "cuda")


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock(variant: str) -> dict[str, tuple[str, list[str]]]:
    text = (ROOT / PINS[variant]["lock"]).read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        spec, *hashes = line.split()
        name, _, version = spec.partition("==")
        entries[_canon(name)] = (version, [h.removeprefix("--hash=") for h in hashes])
    return entries


def _in_pins(variant: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / "docker" / f"requirements-{variant}.in").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_canon(name)] = version
    return pins


@pytest.mark.parametrize("variant", VARIANTS)
def test_lock_carries_exactly_the_variants_packages(variant: str) -> None:
    lock = _lock(variant)
    for package in ENVIRONMENT["package"]:
        name = _canon(package["name"])
        if variant in package["variants"]:
            assert name in lock, f"{name} is offered on {variant} but missing from its lock"
        else:
            assert name not in lock, f"{name} is not offered on {variant} but is in its lock"
    for name in ENVIRONMENT["unavailable"]:
        assert _canon(name) not in lock


@pytest.mark.parametrize("variant", VARIANTS)
def test_lock_matches_its_in_file(variant: str) -> None:
    lock = _lock(variant)
    in_path = ROOT / "docker" / f"requirements-{variant}.in"
    header = (ROOT / PINS[variant]["lock"]).read_text()
    digest = hashlib.sha256(in_path.read_bytes()).hexdigest()
    assert f"# in-sha256: {digest}" in header, "stale lock: run scripts/lock_requirements.py"
    for name, version in _in_pins(variant).items():
        assert name in lock
        if version:  # a local version label (+cpu) would still match its release
            assert lock[name][0].split("+")[0] == version


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_file_pinned_by_sha256(variant: str) -> None:
    for name, (version, hashes) in _lock(variant).items():
        assert re.fullmatch(r"[0-9][0-9a-z.+]*", version), name
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_cpu_image_torch_offers_torchvision() -> None:
    """The CPU image carries PyPI's CUDA build of torch (it runs on the CPU) so that it can
    offer torchvision, whose PyPI wheels link libtorch_cuda (docs/container.md)."""
    cpu = _lock("cpu")
    assert {"torch", "torchvision", "timm"} <= set(cpu)
    torch, vision = cpu["torch"][0], cpu["torchvision"][0]
    assert (torch, vision) == ("2.14.1", "0.29.1")  # a matching pair: torchvision 0.29 = torch 2.14
    assert "+" not in _lock("cuda")["torch"][0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_late_packages_come_last(variant: str) -> None:
    """basicsr builds against the installed torch: after the marker the Dockerfile splits on."""
    text = (ROOT / PINS[variant]["lock"]).read_text()
    head, marker, late = text.partition("# --- late:")
    assert marker and "basicsr==" in late and "basicsr==" not in head
    assert "opencv-python==" not in text  # mmcv-lite/mmengine locked without the GUI build
