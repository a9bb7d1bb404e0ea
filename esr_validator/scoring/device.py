"""Is a run on the ruleset's reference GPU? Runtime scores are only official there.

Names are compared as words, without vendor prefixes, so that "NVIDIA GeForce RTX 3090"
matches "RTX 3090" but "NVIDIA GeForce RTX 3090 Ti" does not.
"""

from __future__ import annotations

import re

from esr_validator.codes import finding
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.schemas.scoring import ScoringResult
from esr_validator.scoring.formulas import OVERFLOW

_VENDOR_WORDS = frozenset({"nvidia", "geforce", "amd", "radeon", "intel", "corporation"})


def _words(name: str) -> tuple[str, ...]:
    tokens = re.findall(r"[a-z0-9]+", name.lower())
    return tuple(t for t in tokens if t not in _VENDOR_WORDS)


def same_device(a: str, b: str) -> bool:
    return bool(_words(a)) and _words(a) == _words(b)


def on_reference_device(device: str, ruleset: Ruleset) -> bool:
    return any(
        same_device(device, ref) for ref in (ruleset.reference_gpu, *ruleset.reference_gpu_aliases)
    )


def scoring_findings(result: ScoringResult, *, device: str) -> list[Finding]:
    """``psnr-gate-failed`` per failed gate; ``score-overflow`` per score past the largest
    double; ``non-reference-device`` off the reference GPU.

    A gate that does not apply (smoke data) gives no ``psnr-gate-failed``: the verdict says so.
    """
    found = [
        finding(
            "psnr-gate-failed",
            f"{g.split} PSNR {'not measured' if g.psnr is None else f'{g.psnr:.4f} dB'} "
            f"is below {result.ruleset}'s {g.threshold:.2f} dB",
        )
        for g in result.gates
        if g.state == "failed" and g.phase == "final"
    ]
    found += [
        finding("score-overflow", reason)
        for reason in result.reasons
        if reason.startswith(OVERFLOW)
    ]
    if not result.on_reference_device:
        found.append(
            finding(
                "non-reference-device",
                f"measured on {device or 'an unnamed device'}, but {result.ruleset} times on "
                f"the {result.reference_device}: runtime scores are not comparable to the "
                "published ones",
            )
        )
    return found
