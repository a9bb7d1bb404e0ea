"""Import the organizers' real challenge repositories and write docs/real-entries.md.

    python scripts/real_entries.py YEAR=GITDIR [YEAR=GITDIR ...] [--out DIR] [--check]
        [--validate [--timeout S] [--reuse]]

Each GITDIR is a bare mirror (e.g. from ``git clone --mirror``). Its HEAD is written to a
scratch checkout, leaving out blobs the mirror lacks (large files a partial clone skipped),
then ``esr-validator import`` runs on it. With ``--check`` every zip written also goes through
``esr-validator check`` (intake and static rules; nothing is executed). The table goes to
stdout; pipe it into docs/real-entries.md. With ``--validate`` every zip is also validated
(``scripts/real_validate.py``: local runner, CPU, one run, per-entry timeout) and its
params, FLOPs, activations and #conv are compared with the organizers' published figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from esr_validator.importer import ImportRow, import_repo

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_validate


def _git(gitdir: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={gitdir}", *args], capture_output=True, check=True
    ).stdout


def checkout(gitdir: Path, dest: Path) -> tuple[str, list[str]]:
    """HEAD's tree under ``dest``; the commit and the paths whose blob is absent."""
    commit = _git(gitdir, "rev-parse", "HEAD").decode().strip()
    absent: list[str] = []
    for line in _git(gitdir, "ls-tree", "-r", "-z", "HEAD").split(b"\0"):
        if not line:
            continue
        meta, path = line.decode().split("\t", 1)
        _, kind, sha = meta.split()
        if kind != "blob":
            continue
        probe = subprocess.run(["git", f"--git-dir={gitdir}", "cat-file", "-e", sha])
        if probe.returncode:
            absent.append(path)
            continue
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_git(gitdir, "cat-file", "blob", sha))
    return commit, absent


def _check(zip_path: str) -> str:
    from esr_validator.intake.check import run_intake
    from esr_validator.schemas.findings import Severity

    with run_intake(Path(zip_path)) as intake:
        errors = sorted({f.code for f in intake.findings if f.severity is Severity.ERROR})
        warnings = sorted({f.code for f in intake.findings if f.severity is Severity.WARNING})
    if errors:
        return "fails: " + ", ".join(errors)
    return "passes" + (f" (warnings {', '.join(warnings)})" if warnings else "")


def _outcome(row: ImportRow) -> str:
    if row.zip:
        return "zip"
    found = row.findings[0]
    return f"{found.code}: {found.message.split(': ', 1)[-1]}".replace("|", "\\|")


@dataclass(frozen=True)
class Validation:
    timeout_s: int
    reuse: bool
    calibrate: bool
    teams: frozenset[int] | None  # validate only these (None: every zip)
    runner: str = "local"


def _ruleset(year: str) -> str | None:
    from esr_validator.ruleset import list_rulesets

    name = f"ntire{year}_esr"
    return name if name in list_rulesets() else None


def validate_table(year: str, rows: list[ImportRow], how: Validation) -> list[str]:
    """One line per zip: outcome, our figures, the references', and whether they agree; then
    ``batch``'s params and FLOPs sub-track orders against the reference's."""
    ruleset = _ruleset(year)
    if ruleset is None:
        return [f"No ruleset for {year}: not validated.", ""]
    published = real_validate.published_rows(int(year))
    code = real_validate.official_rows(int(year))
    # The sub-track reference: the published table where there is one per team, else the
    # organizers' code run on every entry.
    per_team = sum(1 for row in published.values() if row["flops_G"] is not None) > 1
    reference, label = (published, "published") if per_team else (code, "organizers' code")
    lines = [
        f"Validated with `{ruleset}` ({how.runner} runner, CPU, `--runs 1 --stable-runs 0`, "
        "smoke data). Figures: params M / FLOPs G / activations M / #conv; `published` from "
        "the organizers' tables, `code` from their own code run on the entry "
        "(`scripts/official_complexity.py`).",
        "",
        "| team | outcome | ours | published | code | against published | against code | reason |",
        "|---|---|---|---|---|---|---|---|",
    ]
    reports: dict[int, dict[str, Any]] = {}
    for r in (r for r in rows if r.zip and (how.teams is None or r.team_id in how.teams)):
        done = real_validate.validate(
            Path(r.zip),
            ruleset,
            timeout_s=how.timeout_s,
            reuse=how.reuse,
            calibrate=how.calibrate,
            runner=how.runner,
        )
        verdicts, cells = [], []
        reasons = [r for r in (done.spread, done.reason) if r]
        for ref in (published.get(r.team_id), code.get(r.team_id)):
            verdict, diffs = real_validate.compare(done.ours, ref)
            if ref is not None and "error" in ref:
                verdict = "their code failed"
                reasons.append(f"organizers' code: {ref['error']}")
            verdicts.append(verdict)
            cells.append(real_validate.cells(done.ours, ref)[1])
            reasons += diffs
        mine = real_validate.cells(done.ours, None)[0]
        reason = " ".join("; ".join(reasons).split()).replace("|", "/")[:300] or "-"
        lines.append(
            f"| {r.team_id:02d} | {done.status} | {mine} | {cells[0]} | {cells[1]} "
            f"| {verdicts[0]} | {verdicts[1]} | {reason} |"
        )
        print(f"[{year} team {r.team_id:02d}] {done.status} {verdicts}", file=sys.stderr)
        if done.status == "evaluated":
            kept = Path(r.zip).with_suffix(".report.json")
            reports[r.team_id] = json.loads(kept.read_text())
    if len(reports) > 1:
        orders = real_validate.board_orders(ruleset, reports)
        lines += ["", *real_validate.subtrack_orders(orders, reference, label)]
    return [*lines, ""]


def year_table(
    year: str, gitdir: Path, out: Path | None, *, check: bool, validation: Validation | None
) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        commit, absent = checkout(gitdir, Path(scratch))
        rows = import_repo(Path(scratch), out / year if out else None)
    lines = [
        f"## {year}",
        "",
        f"`{gitdir.parent.name}` at `{commit[:12]}`: {len(rows)} branches, "
        f"{sum(1 for r in rows if r.zip)} zips written; "
        f"{len(absent)} files absent from the mirror.",
        "",
        "| team | line | model file | class | import | check |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        checked = _check(r.zip) if check and r.zip else "-"
        lines.append(
            f"| {r.team_id:02d} | {r.line} | {r.model_file or '-'} | {r.class_name or '-'} "
            f"| {_outcome(r)} | {checked} |"
        )
    lines.append("")
    if validation is not None and out is not None:
        lines += validate_table(year, rows, validation)
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repos", nargs="+", metavar="YEAR=GITDIR")
    parser.add_argument("--out", help="keep the zips here, one folder per year")
    parser.add_argument("--check", action="store_true", help="run `check` on every zip")
    parser.add_argument("--validate", action="store_true", help="validate every zip (needs --out)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per entry (--validate)")
    parser.add_argument("--reuse", action="store_true", help="reuse reports kept under --out")
    parser.add_argument("--calibrate", action="store_true", help="validate with --calibrate")
    parser.add_argument("--teams", help="validate only these team ids, comma-separated")
    parser.add_argument(
        "--runner",
        choices=("local", "docker"),
        default="local",
        help="validate with this runner (docker: the CPU image, every ruleset package)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else None
    if args.validate and out is None:
        parser.error("--validate needs --out (the reports are kept beside the zips)")
    teams = frozenset(int(t) for t in args.teams.split(",")) if args.teams else None
    how = (
        Validation(args.timeout, args.reuse, args.calibrate, teams, args.runner)
        if args.validate
        else None
    )
    for spec in args.repos:
        year, _, gitdir = spec.partition("=")
        table = year_table(year, Path(gitdir), out, check=args.check, validation=how)
        print("\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
