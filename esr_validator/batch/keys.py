"""Run keys: what makes two evaluations of a submission the same evaluation.

A batch skips a submission whose key already has a committed report, so the key holds
everything that can change the report's content: the zip's name and bytes, the runner and its image,
the ruleset (name, version and content), the dataset's digests, the run options and the
validator's version. Which GPU of a machine ran it is left out on purpose (any free one may
take a job); whether it ran on a GPU at all is in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from esr_validator import __version__
from esr_validator.pipeline import Setup
from esr_validator.signing.canonical import canonical_bytes


def _digest(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def _data(setup: Setup) -> dict[str, Any]:
    """The data's digests; each scale's too when the ruleset has several (RTSR: x2, x3)."""
    data: dict[str, Any] = {
        "lr": setup.dataset.lr_digest,
        "hr": setup.dataset.hr_digest,
        "smoke": setup.dataset.smoke,
    }
    if len(setup.datasets) > 1:
        data["scales"] = {f"x{s}": [d.lr_digest, d.hr_digest] for s, d in setup.datasets.items()}
    return data


@dataclass(frozen=True)
class RunIdentity:
    """The part of a key shared by every submission of one batch run."""

    fields: dict[str, Any]

    @property
    def digest(self) -> str:
        return _digest(self.fields)

    @classmethod
    def of(cls, setup: Setup) -> RunIdentity:
        ruleset = setup.ruleset
        calibration = setup.calibrations.get(ruleset.scales[0])
        return cls(
            {
                "validator_version": __version__,
                "runner": {"kind": setup.runner.kind, **setup.runner.describe()},
                "ruleset": {
                    "name": ruleset.name,
                    "version": ruleset.version,
                    "content": _digest(ruleset.model_dump(mode="json")),
                },
                "data": _data(setup),
                "options": setup.settings.identity(),
                "calibration": None if calibration is None else calibration.model_dump(mode="json"),
            }
        )


def run_key(identity: RunIdentity, *, zip_name: str, zip_sha256: str) -> str:
    """The key of one submission in one run: 64 hex digits, also a safe file name.

    The name is in it because the report names the zip (and two teams may send the same
    bytes under two names, each needing its own report).
    """
    return _digest({"zip_name": zip_name, "zip_sha256": zip_sha256, "run": identity.digest})
