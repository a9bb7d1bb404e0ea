"""``esr-validator rulesets``: the packaged challenge rulesets and what each one measures."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from esr_validator.errors import EXIT_OK
from esr_validator.reporters.text import dump_json
from esr_validator.ruleset import DEFAULT_RULESET, list_rulesets, load_ruleset
from esr_validator.schemas.ruleset import Ruleset

_SHORT = {"runtime": "rt", "flops": "FLOPs", "params": "params"}


def formula_text(ruleset: Ruleset) -> str:
    """The ranking rule in one line, with the published constants filled in."""
    f, b = ruleset.formula, ruleset.baseline
    if f.kind == "exp_weighted":
        base = {"runtime": b.runtime_ms, "flops": b.flops_g, "params": b.params_m}
        terms = [f"{w:g}·exp(2·{_SHORT[m]}/{base[m]:g})" for m, w in f.weights.items()]
        return " + ".join(terms) + " (lower is better)"
    if f.kind == "rtsr":
        return f"{f.factor:g}·2^max(PSNR−{f.bicubic_psnr}, 0)/√ms, 0 at or below bicubic"
    return "; ".join(
        f"{t.name}: "
        + (
            " + ".join(f"rank({m})" for m in t.metrics)
            if t.rank_by == "rank_sum"
            else ", ".join(t.metrics) + " ascending"
        )
        for t in ruleset.tracks
    )


def _gates_text(ruleset: Ruleset) -> str:
    parts = [
        f"{g.split} ≥ {g.min_psnr:.2f}" + (" (dev)" if g.phase != "final" else "")
        for g in ruleset.gates
    ]
    return "\n".join(parts) or "above bicubic"


def _summary(ruleset: Ruleset) -> dict[str, Any]:
    doc = ruleset.model_dump(mode="json")
    doc["default"] = ruleset.name == DEFAULT_RULESET
    doc["measures"] = formula_text(ruleset)
    return doc


def _kind_text(ruleset: Ruleset) -> str:
    f = ruleset.formula
    if f.kind == "exp_weighted":
        return "exp-weighted " + "/".join(f"{w:g}" for w in f.weights.values())
    return {"rank_sum": "rank-sum", "rtsr": "real-time"}[f.kind]


def _table(rulesets: list[Ruleset]) -> Table:
    table = Table(title="Challenge rulesets", title_justify="left")
    table.add_column("ruleset", no_wrap=True)
    for column in ("year", "scale", "reference GPU", "baseline", "FLOPs", "score"):
        table.add_column(column)
    table.add_column("PSNR gates (dB)", no_wrap=True)
    for r in rulesets:
        name = r.name + (" [dim](default)[/]" if r.name == DEFAULT_RULESET else "")
        table.add_row(
            name,
            str(r.year),
            "/".join(f"x{s}" for s in r.scales),
            r.reference_gpu,
            r.baseline.name.upper(),
            r.flops_counter,
            _kind_text(r),
            _gates_text(r),
        )
    return table


def _print_text(console: Console, rulesets: list[Ruleset]) -> None:
    console.print(_table(rulesets))
    for r in rulesets:
        console.print(f"\n[bold]{r.name}[/] v{r.version}: {r.title}")
        console.print(f"  ranked by: {formula_text(r)}", highlight=False)
        console.print(f"  tracks: {'; '.join(t.title for t in r.tracks)}", highlight=False)
        console.print(f"  timing: {r.timing.description}", highlight=False)


def run(args: argparse.Namespace) -> int:
    rulesets = [load_ruleset(name) for name in list_rulesets()]
    if args.format == "json":
        sys.stdout.write(dump_json({"rulesets": [_summary(r) for r in rulesets]}) + "\n")
    else:
        _print_text(Console(), rulesets)
    return EXIT_OK
