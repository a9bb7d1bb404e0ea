"""The two hook entry points; see the package docstring."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from esr_validator.codes import finding
from esr_validator.github.assemble import assemble
from esr_validator.github.gitdiff import Change
from esr_validator.github.pr import group_changes, locate
from esr_validator.github.tomlines import key_line
from esr_validator.intake.check import run_intake
from esr_validator.intake.manifest import parse_manifest
from esr_validator.schemas.findings import Finding, Severity, has_errors
from esr_validator.schemas.manifest import Manifest

_TEAM_TOML = "team{:02d}.toml"


def _line(f: Finding) -> str:
    where = f.path or "(repository)"
    if f.line:
        where += f":{f.line}"
    text = f"{where}: {f.code} {f.severity.value} {f.message}"
    return text + (f" (hint: {f.hint})" if f.hint and f.severity is Severity.ERROR else "")


def _print(findings: Iterable[Finding]) -> bool:
    """Print every finding; True when none is an error."""
    found = list(findings)
    for f in found:  # one stream, so each finding stays under its team's verdict
        print(_line(f))
    return not has_errors(found)


def _manifest_findings(path: Path, shown: str) -> list[Finding]:
    data = path.read_bytes()
    manifest, problems = parse_manifest(data)
    text = data.decode("utf-8", errors="replace")
    out = []
    for f in problems:
        key = (f.path or "").partition(":")[2]
        out.append(f.model_copy(update={"path": shown, "line": f.line or key_line(text, key)}))
    if manifest is not None and path.name != _TEAM_TOML.format(manifest.team_id):
        out.append(_team_mismatch(manifest, shown, text))
    return out


def _team_mismatch(manifest: Manifest, shown: str, text: str) -> Finding:
    return finding(
        "team-id-mismatch",
        f"team_id is {manifest.team_id} but the file is {shown}",
        path=shown,
        line=key_line(text, "team_id"),
    )


def manifest_main(argv: Sequence[str] | None = None) -> int:
    """``esr-validator-manifest FILE...``."""
    paths = list(sys.argv[1:] if argv is None else argv)
    ok = _print(f for p in paths for f in _manifest_findings(Path(p), p))
    return 0 if ok else 1


def teams_main(argv: Sequence[str] | None = None, *, repo: Path | None = None) -> int:
    """``esr-validator-check-teams FILE...``: paths relative to the repository root."""
    root = (repo or Path.cwd()).resolve()
    paths = list(sys.argv[1:] if argv is None else argv)
    changes = [Change("D" if not (root / p).exists() else "M", Path(p).as_posix()) for p in paths]
    grouping = group_changes(changes)
    ok = _print(grouping.findings)
    with tempfile.TemporaryDirectory(prefix="esr-precommit-") as work:
        for tid in sorted(grouping.teams):
            asm = assemble(root, grouping.teams[tid], locate(root, tid), Path(work))
            found = list(asm.findings)
            if asm.zip_path is not None:
                with run_intake(asm.zip_path) as intake:
                    found += [asm.to_repo(f) for f in intake.findings]
            verdict = "FAIL" if has_errors(found) else "PASS"
            print(f"{verdict} {asm.team.label}")
            ok = _print(found) and ok
    return 0 if ok else 1
