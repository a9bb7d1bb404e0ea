"""Turn each ``select_model()`` branch into a manifest and, where its files exist, a zip."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from esr_validator.codes import finding
from esr_validator.importer.branch import BranchReader, BranchSpec, branch_env
from esr_validator.importer.repo import DEMO, Branch, Demo, pad_multiple, read_demo, tile_for
from esr_validator.importer.signature import default_of, name_arguments
from esr_validator.importer.values import Unsupported
from esr_validator.intake.source import parse_quietly
from esr_validator.intake.source_package import Package, imported_files
from esr_validator.pack import package_sources
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import TEAM_FILE, Manifest

LFS_HEAD = b"version https://git-lfs.github.com/spec/"


class ImportRow(BaseModel):
    """One branch: what was read, the zip written (if any) and why not."""

    model_config = ConfigDict(extra="forbid")

    team_id: int
    line: int = Field(description="Line of the branch in test_demo.py.")
    model_file: str | None = None
    package_files: list[str] = Field(
        default_factory=list,
        description="A model package's files the zip carries (the ones importing the model "
        "runs), repository paths; empty for a one-file model.",
    )
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
    build = native_build(branch.body)
    if build is not None:  # say what the branch needs, not only where reading stopped
        line, how = build
        why = (
            f"builds a native (CUDA/C++) extension at run time ({how}): a submission carries "
            "no compiled code, so the evaluation image must provide the extension"
        )
    else:
        line, why = exc.line or branch.line, exc.why
    return finding(
        "import-branch-unsupported",
        f"team {branch.team_id:02d}: {why} (test_demo.py line {line})",
        path=DEMO,
        line=line,
    )


_BUILD_WORDS = ("build_ext", "bdist_wheel", "nvcc")
_BUILD_CALLS = ("load", "load_inline")  # torch.utils.cpp_extension.<...>


def native_build(body: list[ast.stmt]) -> tuple[int, str] | None:
    """The first statement of a branch that compiles an extension: a command naming
    ``setup.py build_ext`` (or ``nvcc``, a ``pip install`` of a local folder), or
    ``torch.utils.cpp_extension.load``/``load_inline``. With its line and what it runs."""
    for node in (n for stmt in body for n in ast.walk(stmt)):
        if not isinstance(node, ast.Call):
            continue
        words = [
            c.value
            for arg in [*node.args, *(k.value for k in node.keywords)]
            for c in ast.walk(arg)
            if isinstance(c, ast.Constant) and isinstance(c.value, str)
        ]
        hit = next((w for w in words for b in _BUILD_WORDS if b in w.split()), None)
        if hit is not None:
            shown = " ".join(w for w in words if not w.startswith("-"))[:60]
            return node.lineno, f"`{shown}`"
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in _BUILD_CALLS
            and "cpp_extension" in ast.unparse(func.value)
        ):
            return node.lineno, f"`{ast.unparse(func)}()`"
    return None


def _model_name(model_file: str, *, package: bool = False) -> str:
    """``<Name>`` of ``teamNN_<Name>``: from the file's stem, or a package's folder."""
    stem = Path(model_file).parts[1] if package else Path(model_file).stem
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


@dataclass(frozen=True)
class _Imported:
    """A model package as imported: its folder, the entry's module, the files it runs."""

    folder: Path
    module: str
    files: list[Path]  # relative to folder
    trees: dict[str, ast.Module]  # zip path -> tree, for the files read


def _package(repo: Path, model_file: str) -> _Imported | None:
    """The package ``models/<folder>/...`` the branch imports its class from; None for a
    one-file model. Only the files importing the entry module runs travel (an unused helper
    of the organizers' repository, importing files of theirs, stays behind)."""
    parts = PurePosixPath(model_file).parts
    if len(parts) <= 2:
        return None
    folder_rel = "/".join(parts[:2])
    folder = repo / folder_rel
    sources = [f"{folder_rel}/{p.as_posix()}" for p in package_sources(folder)]
    trees = {}
    for rel in sources:
        tree = parse_quietly((repo / rel).read_text(errors="replace"))
        if tree is not None:
            trees[rel] = tree
    package = Package(folder_rel, tuple(sources))
    files = imported_files(package, model_file, trees)
    module = ".".join(PurePosixPath(model_file).with_suffix("").parts[2:])
    return _Imported(
        folder=folder,
        module=module,
        files=[Path(f).relative_to(folder_rel) for f in files],
        trees={f: trees[f] for f in files if f in trees},
    )


def _imports_itself_by_name(package: _Imported, manifest: Manifest, team: int) -> None:
    """A package renamed to ``teamNN_<Name>`` breaks imports of its own former name."""
    if package.folder.name == manifest.stem:
        return
    own = f"models.{package.folder.name}"
    for path, tree in sorted(package.trees.items()):
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            if any(n == own or n.startswith(own + ".") for n in names):
                raise _Skip(
                    finding(
                        "import-model-missing",
                        f"team {team:02d}: {path} imports its package by its folder name "
                        f"{own} (line {getattr(node, 'lineno', 0)}), and a submission's "
                        f"package is named {manifest.stem}",
                        path=path,
                        line=getattr(node, "lineno", None),
                    )
                )


def manifest_for(
    spec: BranchSpec, demo: Demo, *, team: int, source: str, module: str | None = None
) -> Manifest:
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
            "model_name": _model_name(spec.model.cls.file, package=module is not None),
            "class_name": spec.model.cls.name,
            "module": module,
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
        entry = _file(repo, spec.model.cls.file, kind="model file", team=branch.team_id)
        source = entry.read_text(errors="replace")
        package = _package(repo, spec.model.cls.file)
        manifest = manifest_for(
            spec,
            demo,
            team=branch.team_id,
            source=source,
            module=package.module if package else None,
        )
        if package is not None:
            _imports_itself_by_name(package, manifest, branch.team_id)
            folder = "/".join(PurePosixPath(spec.model.cls.file).parts[:2])
            row.package_files = [f"{folder}/{f.as_posix()}" for f in package.files]
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
        model, only = (package.folder, package.files) if package else (entry, None)
        write_submission(target, manifest=manifest, model=model, checkpoint=ckpt, only=only)
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
