"""Turn each ``select_model()`` branch into a manifest and, where its files exist, a zip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.codes import finding
from esr_validator.importer.branch import BranchReader, BranchSpec, branch_env
from esr_validator.importer.repo import DEMO, Branch, Demo, pad_multiple, read_demo, tile_for
from esr_validator.importer.signature import default_of, name_arguments
from esr_validator.importer.values import Unsupported
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import TEAM_FILE, Manifest

LFS_HEAD = b"version https://git-lfs.github.com/spec/"


class ImportRow(BaseModel):
    """One branch: what was read, the zip written (if any) and why not."""

    model_config = ConfigDict(extra="forbid")

    team_id: int
    line: int = Field(description="Line of the branch in test_demo.py.")
    model_file: str | None = None
    class_name: str | None = None
    checkpoint: str | None = None
    zip: str | None = None
    manifest: dict[str, Any] | None = None
    findings: list[Finding] = Field(default_factory=list)


class _Skip(Exception):
    def __init__(self, found: Finding) -> None:
        super().__init__(found.message)
        self.finding = found


def _unsupported(exc: Unsupported, branch: Branch) -> Finding:
    line = exc.line or branch.line
    return finding(
        "import-branch-unsupported",
        f"team {branch.team_id:02d}: {exc.why} (test_demo.py line {line})",
        path=DEMO,
        line=line,
    )


def _model_name(model_file: str) -> str:
    stem = Path(model_file).stem
    match = TEAM_FILE.match(stem)
    return match.group("name") if match else stem.replace(".", "_")


def _kwargs(spec: BranchSpec, source: str) -> tuple[list[Any], dict[str, Any]]:
    """Constructor arguments as TOML can hold them: a None equal to the default is dropped."""
    args, kwargs = name_arguments(source, spec.model.cls.name, spec.model.args, spec.model.kwargs)
    kept: dict[str, Any] = {}
    for key, value in kwargs.items():
        if value is None and default_of(source, spec.model.cls.name, key) is None:
            continue
        if _has_none(value) or any(_has_none(a) for a in args):
            raise _Skip(
                finding(
                    "import-branch-unsupported",
                    f"constructor argument {key}=None differs from the default and a "
                    "manifest (TOML) cannot hold None",
                    path=DEMO,
                    line=spec.model.line,
                )
            )
        kept[key] = value
    return args, kept


def _has_none(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_none(v) for v in value)
    if isinstance(value, dict):
        return any(_has_none(v) for v in value.values())
    return value is None


def _file(repo: Path, rel: str, *, kind: str, team: int) -> Path:
    path = repo / rel
    name = "import-checkpoint-missing" if kind == "checkpoint" else "import-model-missing"
    if not path.is_file():
        raise _Skip(finding(name, f"team {team:02d}: {kind} {rel} is not in the repository"))
    with path.open("rb") as handle:
        if handle.read(len(LFS_HEAD)) == LFS_HEAD:
            raise _Skip(finding(name, f"team {team:02d}: {kind} {rel} is a Git LFS pointer"))
    return path


def manifest_for(spec: BranchSpec, demo: Demo, *, team: int, source: str) -> Manifest:
    args, kwargs = _kwargs(spec, source)
    state = spec.state
    checkpoint: dict[str, Any] = {"strict": spec.strict}
    if state is not None and len(state.keys) == 1 and not state.else_file:
        checkpoint["key"] = state.keys[0]
    elif state is not None and state.keys:
        checkpoint.update(keys=list(state.keys), file_if_no_key=state.else_file)
    if state is not None and state.strip:
        checkpoint["strip_prefix"] = state.strip
    checkpoint.update(loader_method=spec.loader_method, post_load=spec.post_load)
    checkpoint["post_load_scope"] = spec.post_load_scope
    if spec.warmup:
        checkpoint.update(warmup_forwards=spec.warmup[0], warmup_size=spec.warmup[1])
    inference: dict[str, Any] = {}
    tile = tile_for(demo, team)
    if tile is not None:
        inference.update(tile=tile, tile_overlap=demo.tile_overlap)
    special = demo.special_forwards.get(team)
    if special is not None:
        inference["pad_multiple"] = pad_multiple(special)
    return Manifest.model_validate(
        {
            "team_id": team,
            "team_name": f"Team {team:02d}",
            "model_name": _model_name(spec.model.cls.file),
            "class_name": spec.model.cls.name,
            "args": args,
            "kwargs": kwargs,
            "data_range": spec.data_range,
            "checkpoint": checkpoint,
            "inference": inference,
        }
    )


def _one(repo: Path, demo: Demo, branch: Branch, out: Path | None) -> ImportRow:
    row = ImportRow(team_id=branch.team_id, line=branch.line)
    if all(type(s).__name__ == "Pass" for s in branch.body):
        row.findings.append(finding("import-no-model", f"team {branch.team_id:02d}: `pass` only"))
        return row
    try:
        spec = BranchReader(branch_env(demo.globals, branch.team_id)).run(branch.body, branch.line)
        row.model_file, row.class_name = spec.model.cls.file, spec.model.cls.name
        row.checkpoint = spec.checkpoint
        if len(Path(spec.model.cls.file).parts) != 2:
            raise _Skip(
                finding(
                    "import-model-missing",
                    f"team {branch.team_id:02d}: {spec.model.cls.file} is inside a package; "
                    "a submission carries one model file",
                )
            )
        model = _file(repo, spec.model.cls.file, kind="model file", team=branch.team_id)
        source = model.read_text(errors="replace")
        manifest = manifest_for(spec, demo, team=branch.team_id, source=source)
        row.manifest = manifest.model_dump(mode="json", exclude_defaults=True)
        ckpt = _file(repo, spec.checkpoint, kind="checkpoint", team=branch.team_id)
    except Unsupported as exc:
        row.findings.append(_unsupported(exc, branch))
        return row
    except _Skip as exc:
        row.findings.append(exc.finding)
        return row
    except ValidationError as exc:
        problems = "; ".join(e["msg"] for e in exc.errors(include_url=False))[:500]
        message = f"team {branch.team_id:02d}: no valid manifest: {problems}"
        found = finding("import-manifest-invalid", message, path=DEMO, line=branch.line)
        row.findings.append(found)
        return row
    if out is not None:
        from esr_validator.pack import write_submission

        target = out / f"team{branch.team_id:02d}.zip"
        write_submission(target, manifest=manifest, model=model, checkpoint=ckpt)
        row.zip = str(target)
    return row


def import_repo(repo: Path, out: Path | None) -> list[ImportRow]:
    """One row per branch of ``repo``'s ``select_model()``; zips go to ``out``."""
    demo_file = repo / DEMO
    if not demo_file.is_file():
        message = f"{repo.name} has no {DEMO} with a select_model(): nothing to import"
        return [
            ImportRow(team_id=-1, line=1, findings=[finding("import-branch-unsupported", message)])
        ]
    try:
        demo = read_demo(demo_file.read_text(errors="replace"))
    except Unsupported as exc:
        message = f"{exc.why} (line {exc.line})" if exc.line else exc.why
        found = finding("import-branch-unsupported", message, path=DEMO, line=exc.line)
        return [ImportRow(team_id=-1, line=1, findings=[found])]
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    return [_one(repo, demo, branch, out) for branch in demo.branches]


def team_manifest(repo: Path, team_id: int) -> tuple[ImportRow, Manifest | None] | None:
    """The manifest ``select_model()``'s branch for ``team_id`` implies; None without one.

    Used by ``pr`` for a team that commits no manifest: the repository's own branch says
    how to load the model. The row carries the model file, checkpoint and any finding.
    """
    demo_file = repo / DEMO
    if not demo_file.is_file():
        return None
    try:
        demo = read_demo(demo_file.read_text(errors="replace"))
    except (Unsupported, SyntaxError):
        return None
    branch = next((b for b in demo.branches if b.team_id == team_id), None)
    if branch is None:
        return None
    row = _one(repo, demo, branch, None)
    if row.findings or row.manifest is None:
        return row, None
    return row, Manifest.model_validate(row.manifest)
