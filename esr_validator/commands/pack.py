"""``esr-validator pack``: write a valid submission zip and its manifest, then check it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from esr_validator.errors import EXIT_FINDINGS, EXIT_OK, InputError, UsageError
from esr_validator.intake.check import run_intake
from esr_validator.pack import write_submission
from esr_validator.reporters.text import print_findings
from esr_validator.schemas.manifest import Manifest


def _json_arg(text: str, flag: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from None
    if not isinstance(value, kind):
        raise UsageError(f"{flag} must be a JSON {kind.__name__}")
    return value


def manifest_from_args(args: argparse.Namespace) -> Manifest:
    model_name = args.model_name or Path(args.model).stem.split("_", 1)[-1]
    raw = {
        "team_id": args.team_id,
        "team_name": args.team_name,
        "model_name": model_name,
        "class_name": args.class_name,
        "module": args.module,
        "kwargs": _json_arg(args.kwargs, "--kwargs", dict),
        "args": _json_arg(args.pos_args, "--args", list),
        "scale": args.scale,
        "data_range": args.data_range,
        "checkpoint": {
            "key": args.state_dict_key,
            "strict": not args.no_strict,
            "loader_method": args.loader_method,
            "post_load": args.post_load,
            "post_load_scope": args.post_load_scope,
        },
        "inference": {
            "precision": args.precision,
            "pad_multiple": args.pad_multiple,
            "tile": args.tile,
            "tile_overlap": args.tile_overlap,
        },
    }
    try:
        return Manifest.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise UsageError(problems) from None


def run(args: argparse.Namespace) -> int:
    manifest = manifest_from_args(args)
    paths = [Path(args.model), Path(args.checkpoint), *map(Path, args.extra)]
    if args.module is not None and not paths[0].is_dir():
        raise UsageError("--module names a file in a package: --model must be its folder")
    if paths[0].is_dir() and args.module is None:
        raise UsageError(
            "--model is a package folder: say which module defines the class (--module)"
        )
    for p in paths[paths[0].is_dir() :]:
        if not p.is_file():
            raise InputError(f"{p} does not exist or is not a file")
    out = Path(args.output)
    write_submission(out, manifest=manifest, model=paths[0], checkpoint=paths[1], extras=paths[2:])
    with run_intake(out) as intake:
        print_findings(Console(stderr=True), intake.findings, subject=f"wrote {out}")
        return EXIT_OK if intake.ok else EXIT_FINDINGS
