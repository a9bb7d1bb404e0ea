"""The registry of challenge baselines: names and facts, no torch.

The architectures themselves are torch code and run in the sandbox
(:mod:`esr_validator.sandbox.baselines` builds them with random weights); the trusted side
reads only this metadata and launches the sandbox to time or count one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from esr_validator.errors import UsageError


@dataclass(frozen=True)
class BaselineSpec:
    name: str
    title: str
    module: str
    data_range: float
    scales: tuple[int, ...]
    challenge: str

    def scale_for(self, scale: int | None) -> int:
        chosen = self.scales[0] if scale is None else scale
        if chosen not in self.scales:
            raise UsageError(f"baseline {self.name} is published for x{self.scales}, not x{chosen}")
        return chosen


SPECS: tuple[BaselineSpec, ...] = (
    BaselineSpec("rlfn", "RLFN_Prune", "rlfn", 255.0, (4,), "NTIRE 2024 ESR"),
    BaselineSpec("efdn", "EFDN", "efdn", 1.0, (4,), "NTIRE 2025 ESR"),
    BaselineSpec("span", "SPAN (28 channels, deployed)", "span", 1.0, (4,), "NTIRE 2026 ESR"),
    BaselineSpec("imdn", "IMDN (KAIR, 8 blocks)", "imdn", 1.0, (4,), "NTIRE 2022 ESR"),
    BaselineSpec("rtsrn", "RTSRN", "rtsrn", 1.0, (2, 3), "NTIRE 2023 Real-Time SR"),
)
BASELINES: dict[str, BaselineSpec] = {s.name: s for s in SPECS}


def baseline_spec(name: str) -> BaselineSpec:
    key = name.strip().lower()
    if key not in BASELINES:
        close = difflib.get_close_matches(key, BASELINES, n=1)
        raise UsageError(
            f"unknown baseline {name!r}; known: {', '.join(BASELINES)}",
            hint=f"did you mean {close[0]!r}?" if close else None,
        )
    return BASELINES[key]
