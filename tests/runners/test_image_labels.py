"""The evaluation image carries the standard OCI labels, filled from the build args."""

from __future__ import annotations

import re
from pathlib import Path

from esr_validator.runners.image import oci_build_args

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
OCI = ("source", "revision", "created", "licenses", "version")


def _labels() -> dict[str, str]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return dict(re.findall(r'org\.opencontainers\.image\.([\w.]+)="([^"]*)"', text))


def test_the_image_declares_every_oci_label_from_a_build_arg() -> None:
    labels = _labels()
    args = {**oci_build_args(ROOT), "VALIDATOR_VERSION": "0"}
    for name in OCI:
        (arg,) = re.fullmatch(r"\$\{(\w+)\}", labels[name]).groups()  # type: ignore[union-attr]
        assert arg in args, (name, arg)
        assert re.search(rf"^ARG {arg}\b", DOCKERFILE.read_text(), re.MULTILINE), arg


def test_the_build_args_are_real_values() -> None:
    args = oci_build_args(ROOT, env={"SOURCE_DATE_EPOCH": "1700000000"})
    assert args["CREATED"] == "2023-11-14T22:13:20Z"  # reproducible with SOURCE_DATE_EPOCH
    assert args["LICENSES"] == "MIT" and args["SOURCE_URL"].startswith("https://")
    assert re.fullmatch(r"[0-9a-f]{40}", args["REVISION"])  # this checkout's commit
    assert oci_build_args(Path("/"), env={})["REVISION"] == "unknown"  # no git: said so
