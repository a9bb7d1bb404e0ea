"""Build one team's submission zip from the repository, and map findings back to it.

The zip is what ``esr-validator pack`` would build from the team's manifest, model file and
checkpoint, so the pull request is checked exactly like an uploaded submission. Findings
about the zip (``models/team16_X.py``, ``submission.toml:data_range``) are mapped back to
the repository's paths and lines (``submissions/team16.toml`` line 4) for the annotations.

When a zip cannot be built (no manifest, an invalid one, a missing file), the static checks
that need no complete submission still run on the files that are there, so a pull request
sees all its problems at once. Nothing here imports or runs submission code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from esr_validator.codes import code_of, finding, is_code
from esr_validator.github.pr import TeamChange, TeamFiles, manifest_path
from esr_validator.github.tomlines import key_line
from esr_validator.intake.manifest import MANIFEST_NAME, parse_manifest
from esr_validator.intake.zipread import Limits
from esr_validator.pack import package_sources, write_submission
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.manifest import IDENTIFIER, CheckpointSpec, Manifest

_LFS_POINTER = b"version https://git-lfs.github.com/spec/"
_NO_LINKS = "Commit the file itself, not a symbolic link to it."
_NAMES = {
    "model": ("model-file-missing", "model-file-multiple", "model-name-mismatch"),
    "checkpoint": ("checkpoint-missing", "checkpoint-multiple", "checkpoint-name-differs"),
}


@dataclass
class Assembly:
    team: TeamChange
    files: TeamFiles
    manifest_file: str  # repository path, whether or not it exists
    manifest: Manifest | None = None
    manifest_text: str | None = None
    model: str | None = None  # the file defining the class (in a package, its module)
    package: str | None = None  # models/teamNN_X, when the model is a package
    package_files: list[str] = field(default_factory=list)  # its files, repository paths
    checkpoint: str | None = None
    zip_path: Path | None = None
    members: dict[str, str] = field(default_factory=dict)  # zip member -> repository path
    findings: list[Finding] = field(default_factory=list)  # repository paths already

    @property
    def removed(self) -> bool:
        """The pull request removes every file of the team."""
        f = self.files
        return not (f.manifest or f.models or f.checkpoints)

    def to_repo(self, f: Finding) -> Finding:
        """``f`` with the repository path and line of what it is about."""
        if f.path is None:
            if code_of(f).data_range_cause and self.manifest_text is not None:
                line = key_line(self.manifest_text, "data_range")
                return f.model_copy(update={"path": self.manifest_file, "line": line})
            if self.model is not None and not code_of(f).context:
                # About the model as a whole (its outputs, FLOPs, a crash): its file.
                return f.model_copy(update={"path": self.model})
            return f
        head, _, key = f.path.partition(":")
        if head == MANIFEST_NAME:
            line = f.line
            if line is None and key and self.manifest_text is not None:
                line = key_line(self.manifest_text, key)
            return f.model_copy(update={"path": self.manifest_file, "line": line})
        if head in self.members:
            return f.model_copy(update={"path": self.members[head]})
        return f


def _read(repo: Path, rel: str, found: list[Finding]) -> Path | None:
    """The file ``rel`` when it is a plain file inside ``repo``; else a finding."""
    path = repo
    for part in PurePosixPath(rel).parts:
        path = path / part
        if path.is_symlink():
            found.append(
                finding("zip-symlink", f"'{rel}' is a symbolic link", path=rel, hint=_NO_LINKS)
            )
            return None
    if not path.resolve().is_relative_to(repo.resolve()) or not path.is_file():
        found.append(finding("unexpected-file", f"'{rel}' is not a regular file", path=rel))
        return None
    size, limit = path.stat().st_size, Limits().max_member_bytes
    if size > limit:
        found.append(
            finding("zip-too-large", f"'{rel}' has {size} bytes; the limit is {limit}", path=rel)
        )
        return None
    return path


def _load_manifest(repo: Path, asm: Assembly) -> None:
    path = _read(repo, asm.manifest_file, asm.findings)
    if path is None:
        return
    data = path.read_bytes()
    asm.manifest_text = data.decode("utf-8", errors="replace")
    asm.manifest, problems = parse_manifest(data)
    asm.findings += [
        asm.to_repo(f) if f.path else f.model_copy(update={"path": asm.manifest_file})
        for f in problems
    ]
    m = asm.manifest
    if m is not None and m.team_id != asm.team.team_id:
        asm.findings.append(
            finding(
                "team-id-mismatch",
                f"team_id is {m.team_id} but the file is {asm.manifest_file}",
                path=asm.manifest_file,
                line=key_line(asm.manifest_text, "team_id"),
            )
        )


def _pick(kind: str, expected: list[str], candidates: list[str], asm: Assembly) -> str | None:
    """The model or checkpoint the manifest names, else the team's only one."""
    missing, multiple, mismatch = _NAMES[kind]
    named = [c for c in candidates if c in expected]
    pool = named or candidates
    if len(pool) == 1:
        if not named and asm.manifest is not None:
            asm.findings.append(
                finding(
                    mismatch,
                    f"'{pool[0]}' does not match the manifest's {asm.manifest.stem}",
                    path=asm.manifest_file,
                    line=key_line(asm.manifest_text or "", "model_name"),
                )
            )
        return pool[0]
    where = asm.manifest_file if asm.manifest_text is not None else None
    if not pool:
        asm.findings.append(finding(missing, f"{asm.team.label} has no {kind} file", path=where))
    else:
        message = f"{len(pool)} {kind} files: {', '.join(pool)}"
        asm.findings.append(finding(multiple, message, path=where))
    return None


def _pick_files(repo: Path, asm: Assembly) -> None:
    stem = asm.manifest.stem if asm.manifest is not None else None
    module = asm.manifest.module if asm.manifest is not None else None
    models = [f"models/{stem}" if module else f"models/{stem}.py"] if stem else []
    ckpts = [c for c in asm.files.checkpoints if stem and Path(c).stem == stem]
    asm.model = _pick("model", models, asm.files.models, asm)
    asm.checkpoint = _pick("checkpoint", ckpts, asm.files.checkpoints, asm)
    if asm.model and not asm.model.endswith(".py"):
        _take_package(repo, asm, module)
    elif asm.model and _read(repo, asm.model, asm.findings) is None:
        asm.model = None
    if asm.checkpoint and (path := _read(repo, asm.checkpoint, asm.findings)) is not None:
        with path.open("rb") as fh:
            if fh.read(len(_LFS_POINTER)) == _LFS_POINTER:
                asm.findings.append(
                    finding(
                        "checkpoint-unreadable",
                        f"'{asm.checkpoint}' is a Git LFS pointer, not the weights",
                        path=asm.checkpoint,
                        hint="Check out with Git LFS (actions/checkout with lfs: true).",
                    )
                )
                asm.checkpoint = None
    elif asm.checkpoint:
        asm.checkpoint = None


def _take_package(repo: Path, asm: Assembly, module: str | None) -> None:
    """A package folder: every .py file in it, each a plain file of the repository; the
    model file is the manifest's module (unknown without one: the files are still checked)."""
    assert asm.model is not None
    folder, asm.model = asm.model, None
    files = [f"{folder}/{rel.as_posix()}" for rel in package_sources(repo / folder)]
    if any(_read(repo, f, asm.findings) is None for f in files) or not files:
        return
    asm.package, asm.package_files = folder, files
    if module is None:
        if asm.manifest is not None:
            asm.findings.append(
                finding(
                    "model-module",
                    f"{folder}/ is a model package, and {asm.manifest_file} does not say "
                    "which of its files defines the class",
                    path=asm.manifest_file,
                )
            )
        return
    rel = module.replace(".", "/")
    candidates = [f"{folder}/__init__.py"] if module == "__init__" else [f"{folder}/{rel}.py"]
    asm.model = next((c for c in candidates if c in files), None)
    if asm.model is None:
        asm.findings.append(
            finding(
                "model-module",
                f"module = '{module}' names no file of {folder}/",
                path=asm.manifest_file,
                line=key_line(asm.manifest_text or "", "module"),
            )
        )


def _class_name(asm: Assembly) -> str | None:
    if asm.manifest is not None:
        return asm.manifest.class_name
    try:
        raw = tomllib.loads(asm.manifest_text or "")
    except tomllib.TOMLDecodeError:
        return None
    name = raw.get("class_name")
    return name if isinstance(name, str) and re.match(IDENTIFIER, name) else None


def _static_only(repo: Path, asm: Assembly) -> None:
    """The checks that need no complete submission, for a team whose zip cannot be built."""
    from esr_validator.intake.check import check_package_sources
    from esr_validator.intake.checkpoint import check_checkpoint
    from esr_validator.intake.packages import load_packages
    from esr_validator.intake.source import check_source

    if asm.package is not None:
        class_name = _class_name(asm)
        asm.findings += check_package_sources(
            repo,
            asm.package,
            asm.package_files,
            entry=asm.model,
            class_name=class_name,
            environment=load_packages("cuda"),
        )
    elif asm.model is not None:
        class_name = _class_name(asm)
        found = check_source(
            (repo / asm.model).read_bytes().decode("utf-8", errors="replace"),
            path=asm.model,
            class_name=class_name or "_",
            environment=load_packages("cuda"),
        )
        asm.findings += [f for f in found if class_name or not is_code(f, "source-class-missing")]
    if asm.checkpoint is not None:
        spec = asm.manifest.checkpoint if asm.manifest is not None else CheckpointSpec()
        report = check_checkpoint(repo / asm.checkpoint, spec=spec, display_path=asm.checkpoint)
        asm.findings += report.findings


def _missing_manifest(asm: Assembly) -> Finding:
    anchor = next(iter(asm.files.models or asm.team.changed), None)
    return finding(
        "manifest-missing",
        f"{asm.manifest_file} is missing: the check cannot tell how to load the model",
        path=anchor,
        hint=f"Add {asm.manifest_file} (the schema of submission.toml: team_id, team_name, "
        "model_name, class_name, data_range); see docs/github.md.",
    )


def _from_select_model(repo: Path, asm: Assembly) -> bool:
    """No manifest: fall back to the team's branch of ``test_demo.py``'s select_model()."""
    from esr_validator.importer import team_manifest

    found = team_manifest(repo, asm.team.team_id)
    if found is None:
        return False
    row, manifest = found
    asm.findings += row.findings
    asm.manifest_file = "test_demo.py"
    if manifest is None:
        return True
    asm.manifest = manifest
    asm.model, asm.checkpoint = row.model_file, row.checkpoint
    if row.package_files and row.model_file:
        asm.package = "/".join(PurePosixPath(row.model_file).parts[:2])
        asm.package_files = row.package_files
    asm.findings.append(
        finding(
            "import-from-select-model",
            f"{asm.team.label} has no {manifest_path(asm.team.team_id)}: its loading was read "
            f"from select_model()'s branch at test_demo.py line {row.line}",
            path="test_demo.py",
            line=row.line,
        )
    )
    return True


def assemble(repo: Path, team: TeamChange, files: TeamFiles, out_dir: Path) -> Assembly:
    """Read the team's files, build ``out_dir/teamNN.zip`` when possible."""
    asm = Assembly(team=team, files=files, manifest_file=manifest_path(team.team_id))
    asm.findings += team.findings
    if asm.removed:
        asm.findings.append(
            finding(
                "unexpected-file",
                f"the pull request removes {team.label}'s files; nothing to check",
                severity=Severity.INFO,
                hint="Nothing to do if the removal is intended.",
            )
        )
        return asm
    if files.manifest is None and _from_select_model(repo, asm):
        pass  # the repository's own select_model() branch says how to load the model
    elif files.manifest is None:
        asm.findings.append(_missing_manifest(asm))
        _pick_files(repo, asm)
    else:
        _load_manifest(repo, asm)
        _pick_files(repo, asm)
    m = asm.manifest
    if m is None or asm.model is None or asm.checkpoint is None:
        _static_only(repo, asm)
        return asm
    suffix = Path(asm.checkpoint).suffix.lower()
    asm.members = {
        MANIFEST_NAME: asm.manifest_file,
        f"model_zoo/{m.stem}{suffix}": asm.checkpoint,
    }
    model, only = repo / asm.model, None
    if asm.package is not None:
        only = [Path(f).relative_to(asm.package) for f in asm.package_files]
        model = repo / asm.package
        asm.members |= {
            f"models/{m.stem}/{r.as_posix()}": f
            for r, f in zip(only, asm.package_files, strict=True)
        }
    else:
        asm.members[f"models/{m.stem}.py"] = asm.model
    asm.zip_path = out_dir / f"{team.label}.zip"
    write_submission(
        asm.zip_path, manifest=m, model=model, checkpoint=repo / asm.checkpoint, only=only
    )
    return asm
