"""Import the organizers' real challenge repositories and write docs/real-entries.md.

    python scripts/real_entries.py YEAR=GITDIR [YEAR=GITDIR ...] [--out DIR] [--check]

Each GITDIR is a bare mirror (e.g. from ``git clone --mirror``). Its HEAD is written to a
scratch checkout, leaving out blobs the mirror lacks (large files a partial clone skipped),
then ``esr-validator import`` runs on it. With ``--check`` every zip written also goes through
``esr-validator check`` (intake and static rules; nothing is executed). The table goes to
stdout; pipe it into docs/real-entries.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from esr_validator.importer import ImportRow, import_repo


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


def year_table(year: str, gitdir: Path, out: Path | None, *, check: bool) -> list[str]:
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
    return [*lines, ""]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repos", nargs="+", metavar="YEAR=GITDIR")
    parser.add_argument("--out", help="keep the zips here, one folder per year")
    parser.add_argument("--check", action="store_true", help="run `check` on every zip")
    args = parser.parse_args(argv)
    out = Path(args.out) if args.out else None
    for spec in args.repos:
        year, _, gitdir = spec.partition("=")
        print("\n".join(year_table(year, Path(gitdir), out, check=args.check)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
