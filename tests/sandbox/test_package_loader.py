"""Loading a model package as the official code imports it: ``models.<folder>.<module>``,
from source, with the package's own files and nothing else."""

from __future__ import annotations

import os
import py_compile
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from esr_validator.sandbox.loader import LoadError, import_model_module, load_model
from esr_validator.schemas.manifest import Manifest
from esr_validator.signing.statement import report_subjects
from tests.factories import evaluate
from tests.subs import (
    PACKAGE_FILES,
    TINY_MODEL,
    checkpoint_bytes,
    manifest,
    package_members,
    tiny_state_dict,
    write_zip,
)


@pytest.fixture(autouse=True)
def _own_import_state() -> Iterator[None]:
    """The loader installs a finder and a ``models`` module, as the sandbox process does; a
    test leaves the interpreter's import state as it found it."""
    finders, modules = list(sys.meta_path), set(sys.modules)
    yield
    sys.meta_path[:] = finders
    for name in set(sys.modules) - modules:
        if name == "models" or name.startswith("models."):
            del sys.modules[name]


def _write(root: Path, files: dict[str, str]) -> Path:
    folder = root / "models" / "team16_TinySR"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_package_loads_and_matches_the_one_file_model(tmp_path: Path) -> None:
    folder = _write(tmp_path, PACKAGE_FILES)
    ckpt = tmp_path / "w.pth"
    ckpt.write_bytes(checkpoint_bytes(tiny_state_dict()))
    spec = Manifest.model_validate(manifest(module="net"))
    model = load_model(folder / "net.py", ckpt, spec, package=folder)
    assert type(model).__module__ == "models.team16_TinySR.net"  # the official name
    one = tmp_path / "team16_TinySR.py"
    one.write_text(TINY_MODEL)
    reference = load_model(one, ckpt, Manifest.model_validate(manifest()))
    x = torch.rand(1, 3, 12, 12)
    assert torch.equal(model(x), reference(x))
    assert not list(tmp_path.rglob("__pycache__")), "no bytecode is written"


def test_a_package_file_shadows_no_installed_module(tmp_path: Path) -> None:
    """A ``torch.py`` or ``math.py`` in the package stays inside it: ``import torch`` in the
    model still gets torch."""
    files = {
        **PACKAGE_FILES,
        "torch.py": "raise SystemExit('the package shadowed torch')\n",
        "math.py": "raise SystemExit('the package shadowed math')\n",
    }
    folder = _write(tmp_path, files)
    module = import_model_module(folder / "net.py", package=folder)
    assert module.nn is torch.nn  # type: ignore[attr-defined]


def test_only_the_package_is_importable(tmp_path: Path) -> None:
    """Another folder beside the package, under models/, cannot be reached through it."""
    folder = _write(tmp_path, {**PACKAGE_FILES, "net.py": "import models.team17_other.x\n"})
    other = tmp_path / "models" / "team17_other"
    other.mkdir()
    (other / "x.py").write_text("raise SystemExit('reached a folder outside the package')\n")
    with pytest.raises(ModuleNotFoundError):
        import_model_module(folder / "net.py", package=folder)


def test_planted_bytecode_is_never_read(tmp_path: Path) -> None:
    """A cached .pyc that a plain import would trust (same size and mtime as the source)
    differs from the source the intake checked: the loader compiles the source."""
    folder = _write(tmp_path, {**PACKAGE_FILES, "blocks.py": "VALUE = 'source'\n"})
    blocks = folder / "blocks.py"
    stat = blocks.stat()
    blocks.write_text("VALUE = 'cached'\n")
    py_compile.compile(str(blocks), doraise=True)  # writes __pycache__/blocks.*.pyc
    blocks.write_text("VALUE = 'source'\n")
    os.utime(blocks, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.utime(blocks.with_name("blocks.py"), ns=(stat.st_atime_ns, stat.st_mtime_ns))
    (folder / "net.py").write_text("from .blocks import VALUE\n")
    module = import_model_module(folder / "net.py", package=folder)
    assert module.VALUE == "source"  # type: ignore[attr-defined]


def test_model_file_outside_the_package(tmp_path: Path) -> None:
    folder = _write(tmp_path, PACKAGE_FILES)
    stray = tmp_path / "stray.py"
    stray.write_text("x = 1\n")
    with pytest.raises(LoadError, match="not inside the model package"):
        import_model_module(stray, package=folder)


def test_a_package_submission_end_to_end(tmp_path: Path) -> None:
    """Intake, the sandbox worker and the report: the same figures as the one-file model,
    and every file of the package named and signed in the report."""
    zip_path = write_zip(tmp_path / "pkg.zip", package_members())
    report = evaluate(zip_path)
    assert report.status == "evaluated" and report.failure is None, report.findings
    info = report.submission
    assert info.model_file == "models/team16_TinySR/net.py"
    assert info.model_package == "models/team16_TinySR"
    assert sorted(info.package_sha256) == sorted(f"models/team16_TinySR/{f}" for f in PACKAGE_FILES)
    subjects = [s.name for s in report_subjects(report)]
    assert subjects.count("models/team16_TinySR/net.py") == 1
    assert set(info.package_sha256) <= set(subjects)
    from tests.subs import good_members

    one = evaluate(write_zip(tmp_path / "one.zip", good_members()))
    assert report.complexity is not None and one.complexity is not None
    assert report.complexity.params == one.complexity.params
    assert report.complexity.flops == one.complexity.flops
    assert [s.psnr for s in report.splits] == [s.psnr for s in one.splits]
