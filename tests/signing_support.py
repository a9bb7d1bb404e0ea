"""Reports, zips and keys for the signing tests, built from the real schema models."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.manifest import Manifest
from esr_validator.schemas.report import (
    ComplexityFigures,
    FigureSet,
    ImageResult,
    Report,
    SplitFigures,
    SubmissionInfo,
)

ZIP_BYTES = b"PK\x05\x06" + b"\x00" * 18  # an empty zip; only its digest matters here


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_zip(path: Path, data: bytes = ZIP_BYTES) -> Path:
    path.write_bytes(data)
    return path


def make_report(zip_bytes: bytes = ZIP_BYTES, **overrides: Any) -> Report:
    """A small but realistic report: floats, a finding, a manifest, three digests."""
    fields: dict[str, Any] = {
        "validator_version": "0.1.0",
        "started_at": datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC),
        "finished_at": datetime(2025, 3, 1, 12, 5, 30, 250000, tzinfo=UTC),
        "status": "evaluated",
        "ok": True,
        "findings": [
            Finding(
                code="ESR215",
                name="checkpoint-name-differs",
                severity=Severity.WARNING,
                path="model_zoo/w.pth",
                message="named differently — ünïcödé",
                hint="rename it",
            )
        ],
        "submission": SubmissionInfo(
            zip_name="team16_TinySR.zip",
            zip_sha256=sha256(zip_bytes),
            model_file="models/team16_TinySR.py",
            model_sha256=sha256(b"model"),
            checkpoint_file="model_zoo/team16_TinySR.pth",
            checkpoint_sha256=sha256(b"checkpoint"),
            manifest=Manifest(
                team_id=16,
                team_name="Test Team",
                model_name="TinySR",
                class_name="TinySR",
                data_range=1.0,
                kwargs={"num_feat": 8, "alpha": 0.1},
            ),
        ),
        "images": [
            ImageResult(
                split="valid",
                stem="0801",
                psnr=26.904912345678,
                official_ms=[12.5, 1e-7, 3.0e21],
                stable_ms=[11.25],
            )
        ],
        "official": FigureSet(
            protocol="official", runtime_ms=12.5, memory_mb=None, description="as ranked"
        ),
    }
    fields.update(overrides)
    return Report(**fields)


def new_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def clear_signing_env(monkeypatch: pytest.MonkeyPatch, *extra: str) -> None:
    """Unset every variable a key can come from, so a developer's own keys never leak in."""
    from esr_validator.signing import KEY_ENV, PASSPHRASE_ENV, PUBKEY_ENV

    for name in (KEY_ENV, PUBKEY_ENV, PASSPHRASE_ENV, *extra):
        monkeypatch.delenv(name, raising=False)


def evaluated_report(params_m: float, flops_g: float = 20.0) -> Report:
    """An evaluated report on both 2024 splits with these complexity figures."""
    split = {
        "images": 1,
        "official_runtime_ms": 20.0,
        "official_runtime_ms_per_run": [20.0],
        "official_memory_mb": 10.0,
        "stable_runtime_ms": 20.0,
    }
    return make_report(
        started_at=datetime(2025, 3, 1, tzinfo=UTC),
        splits=[
            SplitFigures(split="valid", psnr=27.0, **split),  # type: ignore[arg-type]
            SplitFigures(split="test", psnr=27.0, **split),  # type: ignore[arg-type]
        ],
        official=FigureSet(protocol="official", runtime_ms=20.0, memory_mb=10.0, description="x"),
        complexity=complexity_figures(round(params_m * 1e6), round(flops_g * 1e9)),
    )


def complexity_figures(params: int, flops: int) -> ComplexityFigures:
    """Complexity figures with these counts (one activation, one conv, 256x256 input)."""
    return ComplexityFigures(
        params=params,
        params_m=params / 1e6,
        params_before_inference=params,
        flops=flops,
        flops_g=flops / 1e9,
        unsupported_ops={},
        activations=1,
        activations_m=1e-6,
        conv_count=1,
        input_dependent=False,
        input_size=256,
    )
