"""Group a pull request's changes per team, in the organizers' repository layout.

    models/teamNN_<Name>.py          the model file
    model_zoo/teamNN_<Name>.<ext>    its checkpoint (.pth, .pt, .ckpt, .safetensors)
    submissions/teamNN.toml          the team's manifest, the schema of submission.toml

A team is checked when the pull request adds, changes or removes any of its files; the check
then looks at all of the team's files as they are in the checked-out head. A changed path in
these folders that names no team, or breaks the layout, is a finding on that path. Paths
elsewhere are not part of a submission and are listed as notes for the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from esr_validator.codes import finding
from esr_validator.github.gitdiff import Change
from esr_validator.intake.layout import CHECKPOINT_SUFFIXES
from esr_validator.schemas.findings import Finding, Severity
from esr_validator.schemas.manifest import TEAM_FILE

MODELS, ZOO, MANIFESTS = "models", "model_zoo", "submissions"
FOLDERS = (MODELS, ZOO, MANIFESTS)
_MANIFEST_FILE = re.compile(r"^team(?P<id>\d+)\.toml$")
_TEAM_PREFIX = re.compile(r"^team(?P<id>\d+)(?:_|\.|$)")


def team_label(team_id: int) -> str:
    return f"team{team_id:02d}"


def manifest_path(team_id: int) -> str:
    return f"{MANIFESTS}/{team_label(team_id)}.toml"


@dataclass
class TeamChange:
    team_id: int
    changed: list[str] = field(default_factory=list)  # added or modified, repo paths
    deleted: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # layout problems of changed paths

    @property
    def label(self) -> str:
        return team_label(self.team_id)


@dataclass
class Grouping:
    teams: dict[int, TeamChange] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)  # paths that name no team
    other: list[str] = field(default_factory=list)  # changed paths outside the folders


def _two_digit_team(name: str, path: str) -> int | Finding | None:
    """The team id a file name starts with; a finding when it is not two digits."""
    m = _TEAM_PREFIX.match(name)
    if m is None:
        return None
    if len(m.group("id")) != 2:
        return finding(
            "team-id-invalid",
            f"team id '{m.group('id')}' in '{path}' must have exactly two digits",
            path=path,
        )
    return int(m.group("id"))


def _layout_problem(folder: str, parts: tuple[str, ...], path: str) -> Finding | None:
    """What is wrong with a team's file in ``folder`` (None: nothing)."""
    name = parts[1]
    if len(parts) > 2 and folder == MODELS and TEAM_FILE.match(name):  # a model package
        if path.endswith(".py"):
            return None
        return finding(
            "models-dir-extra-file",
            f"'{path}' is not Python source: a model package holds .py files only",
            path=path,
        )
    if len(parts) > 2:
        if folder == MODELS and path.endswith(".py"):
            return finding(
                "extra-python-file", f"'{path}': helper modules are not allowed", path=path
            )
        return finding("unexpected-file", f"'{path}' must sit directly in {folder}/", path=path)
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    if folder == MODELS:
        if suffix != ".py":
            return finding("unexpected-file", f"'{path}' is not a model file", path=path)
        if not TEAM_FILE.match(stem):
            return finding("model-file-name", f"'{path}' is not named teamNN_<Name>.py", path=path)
    elif folder == ZOO:
        if suffix.lower() not in CHECKPOINT_SUFFIXES:
            return finding(
                "checkpoint-extension", f"'{path}' has an unsupported extension", path=path
            )
        if not TEAM_FILE.match(stem):
            return finding(
                "unexpected-file", f"'{path}' is not named teamNN_<Name>{suffix}", path=path
            )
    elif not _MANIFEST_FILE.match(name):
        return finding("unexpected-file", f"'{path}' is not named teamNN.toml", path=path)
    return None


def _unnamed(folder: str, path: str) -> Finding:
    expected = {
        MODELS: "models/teamNN_<Name>.py",
        ZOO: "model_zoo/teamNN_<Name>.pth",
        MANIFESTS: "submissions/teamNN.toml",
    }[folder]
    code = "model-file-name" if folder == MODELS else "unexpected-file"
    return finding(code, f"'{path}' belongs to no team: expected {expected}", path=path)


def _not_utf8(path: str) -> Finding | None:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return finding("unexpected-file", f"a changed file name is not UTF-8: {path!a}")
    return None


def group_changes(changes: list[Change] | tuple[Change, ...]) -> Grouping:
    out = Grouping()
    for change in changes:
        if bad := _not_utf8(change.path):
            out.findings.append(bad)
            continue
        parts = PurePosixPath(change.path).parts
        if len(parts) < 2 or parts[0] not in FOLDERS:
            out.other.append(change.path)
            continue
        team = _two_digit_team(parts[1], change.path)
        if team is None:
            if not change.deleted:
                out.findings.append(_unnamed(parts[0], change.path))
            continue
        if isinstance(team, Finding):
            if not change.deleted:
                out.findings.append(team)
            continue
        entry = out.teams.setdefault(team, TeamChange(team))
        if change.deleted:
            entry.deleted.append(change.path)
            continue
        entry.changed.append(change.path)
        if problem := _layout_problem(parts[0], parts, change.path):
            entry.findings.append(problem)
    return out


def other_files_note(paths: list[str]) -> list[Finding]:
    """Files outside the submission folders are for a person to review, not for this check."""
    return [
        finding(
            "unexpected-file",
            f"'{p}' is outside {', '.join(f + '/' for f in FOLDERS)}: not checked here",
            path=p,
            severity=Severity.INFO,
            hint="A pull request that adds a model should change only its team's files.",
        )
        for p in paths
    ]


@dataclass
class TeamFiles:
    """A team's files in the checked-out head, as repository paths."""

    team_id: int
    manifest: str | None
    models: list[str]  # models/teamNN_X.py files and models/teamNN_X package folders
    checkpoints: list[str]


def locate(repo: Path, team_id: int) -> TeamFiles:
    label = team_label(team_id)

    def listing(folder: str, keep: Callable[[Path], bool]) -> list[str]:
        base = repo / folder
        if not base.is_dir() or base.is_symlink():
            return []
        return sorted(f"{folder}/{p.name}" for p in base.glob(f"{label}_*") if keep(p))

    def named(suffixes: tuple[str, ...]) -> Callable[[Path], bool]:
        return lambda p: p.suffix.lower() in suffixes and bool(TEAM_FILE.match(p.stem))

    def package(p: Path) -> bool:  # a model package: models/teamNN_X/
        return p.is_dir() and not p.is_symlink() and bool(TEAM_FILE.match(p.name))

    manifest = manifest_path(team_id)
    return TeamFiles(
        team_id=team_id,
        manifest=manifest if (repo / manifest).exists() or (repo / manifest).is_symlink() else None,
        models=listing(MODELS, named((".py",))) + listing(MODELS, package),
        checkpoints=listing(ZOO, named(CHECKPOINT_SUFFIXES)),
    )
