"""Parse ``submission.toml`` and turn every schema error into its own finding."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from pydantic import ValidationError

from esr_validator.codes import finding
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import Manifest

MANIFEST_NAME = "submission.toml"
MAX_MANIFEST_BYTES = 64 * 1024
# Pydantic error types that have a dedicated rule code; the rest are generic schema errors.
_DEDICATED = {"data-range-invalid", "scale-invalid", "team-id-invalid"}
_TOML_LINE = re.compile(r"at line (\d+)")


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(root)"


def _error_finding(err: Any) -> Finding:
    kind = err["type"]
    where = _loc(err["loc"])
    if kind in _DEDICATED:
        return finding(kind, err["msg"], path=f"{MANIFEST_NAME}:{where}")
    if kind == "extra_forbidden":
        return finding(
            "manifest-unknown-key", f"unknown key '{where}'", path=f"{MANIFEST_NAME}:{where}"
        )
    return finding("manifest-invalid", f"{where}: {err['msg']}", path=f"{MANIFEST_NAME}:{where}")


def parse_manifest(data: bytes) -> tuple[Manifest | None, list[Finding]]:
    """Return the manifest (or None) and every problem found in it."""
    if len(data) > MAX_MANIFEST_BYTES:
        return None, [finding("manifest-invalid", f"{MANIFEST_NAME} is over 64 KiB")]
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, [finding("manifest-not-toml", f"{MANIFEST_NAME} is not UTF-8 text")]
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_LINE.search(str(exc))
        return None, [
            finding(
                "manifest-not-toml",
                f"invalid TOML: {exc}",
                path=MANIFEST_NAME,
                line=int(m.group(1)) if m else None,
            )
        ]
    try:
        return Manifest.model_validate(raw), []
    except ValidationError as exc:
        return None, [_error_finding(e) for e in exc.errors(include_url=False)]
