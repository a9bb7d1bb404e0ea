"""Layout rules: which files a submission holds and how they are named.

The layout is the one the organizers' repositories use, so an accepted submission drops into
``models/`` and ``model_zoo/`` of the official code unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from esr_validator.codes import finding
from esr_validator.intake.manifest import MANIFEST_NAME
from esr_validator.schemas.findings import Finding
from esr_validator.schemas.manifest import Manifest

CHECKPOINT_SUFFIXES = (".pth", ".pt", ".ckpt", ".safetensors")
_TEAM_STEM = re.compile(r"^team(?P<id>\d+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_\-]*)$")
_README = re.compile(r"^(readme|license)(\.(md|txt|rst))?$", re.IGNORECASE)


@dataclass
class Layout:
    model_file: str | None = None  # the file that defines the class (in a package: its module)
    checkpoint_file: str | None = None
    model_package: str | None = None  # models/teamNN_X, when the model is a package
    package_files: list[str] = field(default_factory=list)  # its .py files, the model's too
    findings: list[Finding] = field(default_factory=list)


def _is_extra(name: str) -> bool:
    """A README, LICENSE or factsheet PDF may accompany the submission at the root."""
    path = PurePosixPath(name)
    if len(path.parts) != 1:
        return False
    return bool(_README.match(path.name)) or path.suffix.lower() == ".pdf"


def _team_stem(stem: str, path: str, layout: Layout) -> tuple[int, str] | None:
    m = _TEAM_STEM.match(stem)
    if not m:
        layout.findings.append(
            finding("model-file-name", f"'{path}' is not named teamNN_<Name>", path=path)
            if path.startswith("models/")
            else finding(
                "checkpoint-name-differs", f"'{path}' is not named teamNN_<Name>", path=path
            )
        )
        return None
    if len(m.group("id")) != 2:
        layout.findings.append(
            finding(
                "team-id-invalid",
                f"team id '{m.group('id')}' in '{path}' must have exactly two digits",
                path=path,
            )
        )
        return None
    return int(m.group("id")), m.group("name")


def _pick_model(files: list[str], layout: Layout, manifest: Manifest | None) -> None:
    """One source file directly in models/, or else one package folder models/teamNN_X/."""
    direct = [f for f in files if _in_models(f) and len(PurePosixPath(f).parts) == 2]
    models = [f for f in direct if f.endswith(".py")]
    nested = [f for f in files if _in_models(f) and len(PurePosixPath(f).parts) > 2]
    packages = sorted({PurePosixPath(f).parts[1] for f in nested})
    if not models and len(packages) == 1:
        _pick_package(files, f"models/{packages[0]}", layout, manifest)
        return
    if not models and len(packages) > 1:
        shown = ", ".join(f"models/{p}/" for p in packages)
        layout.findings.append(
            finding("model-file-multiple", f"{len(packages)} model packages: {shown}")
        )
        return
    if not models:
        layout.findings.append(finding("model-file-missing", "no models/teamNN_<Name>.py found"))
    elif len(models) > 1:
        layout.findings.append(
            finding("model-file-multiple", f"{len(models)} model files: {', '.join(models)}")
        )
    else:
        layout.model_file = models[0]
        if manifest is not None and manifest.module is not None:
            layout.findings.append(
                finding(
                    "model-module",
                    f"module = '{manifest.module}', but the model is the one file "
                    f"{models[0]}, not a package",
                    path=f"{MANIFEST_NAME}:module",
                    hint="Remove module from submission.toml: it names a file inside a "
                    "model package (models/teamNN_<Name>/).",
                )
            )


def _in_models(name: str) -> bool:
    return name.startswith("models/")


def _pick_package(
    files: list[str], package: str, layout: Layout, manifest: Manifest | None
) -> None:
    """A model package: its .py files travel together; the manifest's ``module`` names the
    file that defines the class, as ``from models.teamNN_X.<module> import <class>`` would."""
    inside = [f for f in files if f.startswith(f"{package}/")]
    sources = sorted(f for f in inside if f.endswith(".py"))
    if not sources:
        layout.findings.append(
            finding("model-file-missing", f"{package}/ holds no .py file", path=package)
        )
        return
    layout.model_package, layout.package_files = package, sources
    if manifest is None:
        return  # the manifest's own findings say why; the entry module cannot be known
    shown = ", ".join(s[len(package) + 1 :] for s in sources[:8])
    if manifest.module is None:
        layout.findings.append(
            finding(
                "model-module",
                f"{package}/ is a model package, and submission.toml does not say which of "
                f"its files defines {manifest.class_name} ({shown})",
                path=f"{MANIFEST_NAME}:module",
            )
        )
        return
    rel = manifest.module.replace(".", "/")
    candidates = (
        [f"{package}/__init__.py"]
        if manifest.module == "__init__"
        else [f"{package}/{rel}.py", f"{package}/{rel}/__init__.py"]
    )
    found = next((c for c in candidates if c in sources), None)
    if found is None:
        layout.findings.append(
            finding(
                "model-module",
                f"module = '{manifest.module}' names no file of {package}/ (it holds {shown})",
                path=f"{MANIFEST_NAME}:module",
            )
        )
        return
    layout.model_file = found


def _pick_checkpoint(files: list[str], layout: Layout) -> None:
    ckpts = [f for f in files if f.startswith("model_zoo/")]
    if not ckpts:
        stray = [f for f in files if f.lower().endswith((*CHECKPOINT_SUFFIXES, ".pkl", ".bin"))]
        hint = f"found {stray[0]}: move it into model_zoo/" if stray else None
        layout.findings.append(
            finding("checkpoint-missing", "model_zoo/ holds no checkpoint", hint=hint)
        )
        return
    if len(ckpts) > 1:
        layout.findings.append(
            finding("checkpoint-multiple", f"{len(ckpts)} files in model_zoo/: {', '.join(ckpts)}")
        )
        return
    name = ckpts[0]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in CHECKPOINT_SUFFIXES:
        hint = (
            "a .pkl written by torch.save loads the same: rename it .pth"
            if suffix == ".pkl"
            else None
        )
        layout.findings.append(
            finding(
                "checkpoint-extension", f"'{name}' has extension '{suffix}'", path=name, hint=hint
            )
        )
    layout.checkpoint_file = name


def _models_dir(files: list[str], layout: Layout) -> None:
    """Only model source may sit in models/: the sandbox imports it from source, and anything
    beside it (bytecode, an extension, a stray subfolder, a look-alike name with trailing
    spaces) could be picked up instead of, or next to, the code the intake checked."""
    packages = {PurePosixPath(f).parts[1] for f in files if len(PurePosixPath(f).parts) > 2}
    for name in files:
        if not _in_models(name) or name == layout.model_file or name in layout.package_files:
            continue
        parts = PurePosixPath(name).parts
        if name.endswith(".py") and len(parts) == 2:
            continue  # a second model source: reported once as model-file-multiple
        if (
            layout.model_package is None
            and len(packages) > 1
            and not any(len(PurePosixPath(f).parts) == 2 and f.endswith(".py") for f in files)
        ):
            continue  # several packages: reported once as model-file-multiple
        what = "the model's source" if layout.model_package else "the model source file"
        layout.findings.append(
            finding("models-dir-extra-file", f"{name!r} is not {what}", path=name)
        )


def _stray_files(files: list[str], layout: Layout) -> None:
    for name in files:
        if name in (MANIFEST_NAME, layout.model_file, layout.checkpoint_file):
            continue
        if name in layout.package_files:
            continue
        if name.startswith(("models/", "model_zoo/")) and not name.endswith(".py"):
            continue  # already reported by the model/checkpoint pickers
        if name.endswith((".py", ".pyc", ".pyd", ".so")):
            if (
                name.startswith("models/")
                and len([f for f in files if f.startswith("models/")]) > 1
            ):
                continue  # reported once as model-file-multiple
            layout.findings.append(
                finding("extra-python-file", f"'{name}' is code outside models/", path=name)
            )
        elif not _is_extra(name):
            layout.findings.append(
                finding("unexpected-file", f"'{name}' is not allowed", path=name)
            )


def _names_agree(layout: Layout, manifest: Manifest | None) -> None:
    model = ckpt = None
    # The name that must carry teamNN_<Name>: the one file, or the package folder.
    named = layout.model_package or layout.model_file
    model_stem = None
    if named:
        path = PurePosixPath(named)
        model_stem = path.name if layout.model_package else path.stem
        model = _team_stem(model_stem, named, layout)
    if layout.checkpoint_file:
        stem = PurePosixPath(layout.checkpoint_file).stem
        ckpt = _TEAM_STEM.match(stem)
        if model and stem != model_stem:
            layout.findings.append(
                finding(
                    "checkpoint-name-differs",
                    f"checkpoint '{layout.checkpoint_file}' and model '{named}' "
                    "have different names",
                    path=layout.checkpoint_file,
                )
            )
    if manifest is None:
        return
    for label, parsed in (("model file", model), ("checkpoint", ckpt)):
        team = (
            (parsed[0] if isinstance(parsed, tuple) else int(parsed.group("id")))
            if parsed
            else None
        )
        if team is not None and team != manifest.team_id:
            layout.findings.append(
                finding(
                    "team-id-mismatch",
                    f"{label} says team {team:02d}, the manifest says {manifest.team_id:02d}",
                )
            )
    if model and model[1] != manifest.model_name:
        layout.findings.append(
            finding(
                "model-name-mismatch",
                f"model_name '{manifest.model_name}' differs from '{model[1]}' in the file name",
                path=MANIFEST_NAME,
            )
        )


def check_layout(
    files: list[str], manifest: Manifest | None, *, scales: tuple[int, ...] = (4,)
) -> Layout:
    """Apply every layout rule to the extracted file list (posix paths from the root)."""
    layout = Layout()
    if MANIFEST_NAME not in files:
        layout.findings.append(finding("manifest-missing", f"no {MANIFEST_NAME} at the zip root"))
    _pick_model(files, layout, manifest)
    _pick_checkpoint(files, layout)
    _models_dir(files, layout)
    _stray_files(files, layout)
    _names_agree(layout, manifest)
    if manifest is not None and manifest.scale not in scales:
        layout.findings.append(
            finding(
                "scale-invalid",
                f"scale {manifest.scale} is not evaluated by this ruleset (expects {scales})",
                path=f"{MANIFEST_NAME}:scale",
                hint=None
                if scales == (4,)
                else f"Set scale to one of {', '.join(map(str, scales))}.",
            )
        )
    return layout
