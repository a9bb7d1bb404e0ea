"""Drive the intake stages and gather every finding at once.

Nothing of the submission is imported or executed here. Stages that depend on an earlier
one (the source check needs the manifest's class name) are skipped, not failed, when that
stage could not produce its input; its own findings already explain why.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from esr_validator.codes import code_of, finding
from esr_validator.digests import sha256_file
from esr_validator.intake import zipread
from esr_validator.intake.layout import check_layout
from esr_validator.intake.manifest import MANIFEST_NAME, parse_manifest
from esr_validator.intake.packages import PackageList
from esr_validator.intake.source_package import Package, mentioned_names
from esr_validator.owner import owned_tempdir
from esr_validator.schemas.findings import Finding, Severity, has_errors
from esr_validator.schemas.manifest import Manifest


@dataclass
class Intake:
    """What intake learnt. ``root`` is a private temporary directory owned by this object."""

    zip_path: Path
    zip_sha256: str
    findings: list[Finding] = field(default_factory=list)
    root: Path | None = None
    manifest: Manifest | None = None
    model_file: str | None = None  # the file that defines the class
    checkpoint_file: str | None = None
    model_package: str | None = None  # models/teamNN_X when the model is a package
    package_files: list[str] = field(default_factory=list)
    holder: Path | None = None  # root's parent, with the owner record beside the submission

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)

    @property
    def runnable(self) -> bool:
        """Everything evaluation needs is present and no error was found."""
        return self.ok and None not in (
            self.root,
            self.manifest,
            self.model_file,
            self.checkpoint_file,
        )

    def file_sha256(self, rel: str | None) -> str | None:
        if rel is None or self.root is None or not (self.root / rel).is_file():
            return None
        return sha256_file(self.root / rel)

    def cleanup(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.holder or self.root, ignore_errors=True)
            self.root = self.holder = None

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _common_prefix(members: list[zipread.Member]) -> str:
    """``team16/`` when everything sits in one folder (zipping a folder does that)."""
    tops = {PurePosixPath(m.name).parts[0] for m in members}
    if len(tops) != 1:
        return ""
    top = next(iter(tops))
    if any(m.name == top and not m.is_dir for m in members):
        return ""
    if any(m.name == f"{top}/{MANIFEST_NAME}" for m in members):
        return f"{top}/"
    return ""


def _static_checks(intake: Intake, variant: str) -> None:
    # Imported here so that a broken optional stage never hides the zip and layout findings.
    from esr_validator.intake.checkpoint import check_checkpoint
    from esr_validator.intake.packages import load_packages
    from esr_validator.intake.source import check_source

    assert intake.root is not None and intake.manifest is not None
    environment = load_packages(variant)
    if intake.model_package:
        intake.findings += _check_package(intake, environment)
    elif intake.model_file:
        intake.findings += check_source(
            _text(intake.root / intake.model_file),
            path=intake.model_file,
            class_name=intake.manifest.class_name,
            environment=environment,
        )
    if intake.checkpoint_file:
        report = check_checkpoint(
            intake.root / intake.checkpoint_file,
            spec=intake.manifest.checkpoint,
            display_path=intake.checkpoint_file,
        )
        intake.findings += report.findings


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _check_package(intake: Intake, environment: PackageList) -> list[Finding]:
    assert intake.root is not None and intake.manifest and intake.model_package
    return check_package_sources(
        intake.root,
        intake.model_package,
        intake.package_files,
        entry=intake.model_file,
        class_name=intake.manifest.class_name,
        environment=environment,
    )


def check_package_sources(
    root: Path,
    folder: str,
    files: list[str],
    *,
    entry: str | None,
    class_name: str | None,
    environment: PackageList,
) -> list[Finding]:
    """Every file of a model package (paths relative to ``root``), each with the package's
    imports resolved; ``entry``, the manifest's module (None when unknown: ESR220 or no
    manifest), must define ``class_name``."""
    from esr_validator.intake.source import check_source, parse_quietly

    package = Package(folder, tuple(files))
    texts = {f: _text(root / f) for f in files}
    trees = [t for t in map(parse_quietly, texts.values()) if t is not None]
    callers = frozenset(mentioned_names(trees))
    found: list[Finding] = []
    for path, text in texts.items():
        found += check_source(
            text,
            path=path,
            class_name=class_name if path == entry else None,
            environment=environment,
            package=package,
            callers=callers,
        )
    return found


def run_intake(
    zip_path: Path,
    *,
    limits: zipread.Limits | None = None,
    variant: str = "cuda",
    scales: tuple[int, ...] = (4,),
    workdir: Path | None = None,
) -> Intake:
    """Check ``zip_path`` completely; extract it into a fresh private directory."""
    intake = Intake(zip_path=zip_path, zip_sha256=sha256_file(zip_path))
    scan = zipread.scan(zip_path, limits=limits or zipread.Limits())
    intake.findings += scan.findings
    if scan.junk:
        intake.findings.append(
            finding(
                "unexpected-file",
                f"skipped {len(scan.junk)} OS metadata entries ({scan.junk[0]}, ...)",
                severity=Severity.WARNING,
                hint="Zip with `esr-validator pack` or `zip -r -X` to leave them out.",
            )
        )
    if any(code_of(f).blocks_extraction for f in scan.findings):
        return intake
    prefix = _common_prefix(scan.members)
    if prefix:
        intake.findings.append(
            finding(
                "unexpected-file",
                f"everything sits in '{prefix}'; it is treated as the root",
                severity=Severity.INFO,
                hint="Zip the folder's contents, not the folder.",
            )
        )
    # The owner record sits beside the submission, never among its files.
    intake.holder = owned_tempdir("esr-submission-", dir=workdir)
    intake.root = intake.holder / "submission"
    intake.root.mkdir(mode=0o700)  # private, as mkdtemp made it before
    intake.findings += zipread.extract(zip_path, scan.members, intake.root, strip_prefix=prefix)
    files = sorted(
        m.name[len(prefix) :] for m in scan.members if not m.is_dir and m.name != prefix.rstrip("/")
    )
    manifest_path = intake.root / MANIFEST_NAME
    if manifest_path.is_file():
        intake.manifest, problems = parse_manifest(manifest_path.read_bytes())
        intake.findings += problems
    layout = check_layout(files, intake.manifest, scales=scales)
    intake.findings += layout.findings
    intake.model_file, intake.checkpoint_file = layout.model_file, layout.checkpoint_file
    intake.model_package, intake.package_files = layout.model_package, layout.package_files
    if intake.manifest is not None:
        _static_checks(intake, variant)
    return intake
