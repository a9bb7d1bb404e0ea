"""Compare two validation reports of the same submission, apart from what may differ.

    python scripts/compare_reports.py OLD.json NEW.json [--portable] [--allow-additions]

Reports are read from their envelopes (signed or not). What may differ between two runs of
the same code on the same machine is masked: the validator version, timestamps, every
runtime and memory figure, the spread statistics drawn from them and the scores computed
from them. Everything else (status, findings, PSNR per image, complexity, options, data and
submission digests, verdict gates) must be equal. Exit 0 when equal, 1 with the differences.
"""

from __future__ import annotations

import base64
import json
import math
import re
import sys
from pathlib import Path
from typing import Any

# A figure set's description is prose about how it was computed (the stable set's changed in
# 0.2: a mean over warm images, noisy on run-to-run CV only); the figures themselves are compared.
MASKED_KEYS = {"validator_version", "started_at", "finished_at", "noisy", "run_cv", "description"}
# Facts of the machine, not of the code: masked with --portable (a report made elsewhere).
MACHINE_KEYS = {"cpu", "platform", "threads"}
# Keys whose values are time measurements (or drawn from them) wherever they appear.
TIMING_KEY = re.compile(r"(_ms|_mb|_ms_per_run|_iqr_ms|runtime.*|memory.*)$")
# Scores and inputs that contain a runtime: they move with the machine's speed.
TIMING_SCORE = re.compile(r"(runtime|final|memory)")
# Findings whose message quotes a timing (the noisy flag, the clock's resolution).
TIMING_FINDINGS = {"timing-noisy", "timing-below-resolution"}


def payload(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text("utf-8"))
    if "payload" in doc:  # a DSSE envelope around an in-toto statement
        doc = json.loads(base64.b64decode(doc["payload"]))
        doc = doc.get("predicate", doc)
    return dict(doc)


def _mask(value: Any, key: str = "", *, portable: bool = False) -> Any:
    if key in MASKED_KEYS or TIMING_KEY.search(key) or (portable and key in MACHINE_KEYS):
        return "<masked>"
    if isinstance(value, dict):
        if key in ("scores", "calibrated_scores", "inputs"):
            return {k: "<masked>" if TIMING_SCORE.search(k) else v for k, v in value.items()}
        return {k: _mask(v, k, portable=portable) for k, v in value.items()}
    if isinstance(value, list):
        if key == "findings":
            value = [f for f in value if f.get("name") not in TIMING_FINDINGS]
        return [_mask(v, key, portable=portable) for v in value]
    return value


def differences(old: Any, new: Any, where: str = "", *, additions: bool = False) -> list[str]:
    """Where ``new`` differs from ``old``; with ``additions``, keys only in ``new`` are fine."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            if k not in new or (k not in old and not additions):
                out.append(f"{where}.{k}: only in {'new' if k in new else 'old'}")
            elif k in old:
                out += differences(old[k], new[k], f"{where}.{k}", additions=additions)
        return out
    if isinstance(old, float) and isinstance(new, float):
        return [] if math.isclose(old, new, rel_tol=1e-9) else [f"{where}: {old!r} != {new!r}"]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += differences(a, b, f"{where}[{i}]", additions=additions)
        return out
    return [] if old == new else [f"{where}: {old!r} != {new!r}"]


def compare(
    old: dict[str, Any], new: dict[str, Any], *, portable: bool = False, additions: bool = False
) -> list[str]:
    return differences(
        _mask(old, portable=portable), _mask(new, portable=portable), additions=additions
    )


def main(argv: list[str]) -> int:
    flags = {a for a in argv if a.startswith("--")}
    paths = [a for a in argv if not a.startswith("--")]
    if len(paths) != 2 or flags - {"--portable", "--allow-additions"}:
        print(__doc__, file=sys.stderr)
        return 2
    found = compare(
        payload(Path(paths[0])),
        payload(Path(paths[1])),
        portable="--portable" in flags,
        additions="--allow-additions" in flags,
    )
    for line in found:
        print(line)
    print(
        "equal apart from version, timestamps and timings"
        if not found
        else f"{len(found)} difference(s)"
    )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
