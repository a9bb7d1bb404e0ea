"""``esr-validator codabench bundle --ruleset R -o DIR``: a Codabench competition bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from esr_validator.codabench.bundle import write_bundle
from esr_validator.errors import EXIT_OK
from esr_validator.ruleset import load_ruleset


def run(args: argparse.Namespace) -> int:
    ruleset = load_ruleset(args.ruleset)
    data_dir = Path(args.data_dir) if args.data_dir else None
    out = write_bundle(ruleset, Path(args.output), image=args.image, data_dir=data_dir)
    print(f"wrote {out}/competition.yaml; zip the folder's content and upload it to Codabench")
    return EXIT_OK
