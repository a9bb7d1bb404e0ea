"""A model package, models/teamNN_<Name>/: the layout, the manifest's module and the static
rules across its files (the 2022 entries were packages; see docs/manifest.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tomli_w

from esr_validator.intake.check import run_intake
from esr_validator.intake.source_package import Package, imported_files
from esr_validator.schemas.findings import Finding, Severity
from tests import subs

P = subs.PACKAGE
FILES = subs.PACKAGE_FILES


def _intake(make_zip: Callable[..., Path], members: dict[str, bytes]) -> list[Finding]:
    with run_intake(make_zip(members)) as intake:
        return list(intake.findings)


def _codes(found: list[Finding], severity: Severity = Severity.ERROR) -> set[str]:
    return {f.code for f in found if f.severity is severity}


def test_a_package_is_a_submission(make_zip: Callable[..., Path]) -> None:
    with run_intake(make_zip(subs.package_members())) as intake:
        assert intake.ok and intake.runnable, intake.findings
        assert intake.model_file == f"{P}/net.py"
        assert intake.model_package == P
        assert intake.package_files == sorted(f"{P}/{f}" for f in FILES)
        assert not [f for f in intake.findings if f.severity is not Severity.INFO]


def test_module_missing_names_the_files(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["submission.toml"] = tomli_w.dumps(subs.manifest()).encode()  # no module
    found = _intake(make_zip, members)
    (f,) = [f for f in found if f.code == "ESR220"]
    assert "defines TinySR" in f.message and "net.py" in f.message
    assert f.path == "submission.toml:module"


def test_module_naming_no_file(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["submission.toml"] = tomli_w.dumps(subs.manifest(module="network")).encode()
    found = _intake(make_zip, members)
    assert "ESR220" in _codes(found)
    assert any("network" in f.message and "net.py" in f.message for f in found)


def test_module_may_name_a_subpackage_module(make_zip: Callable[..., Path]) -> None:
    files = {**FILES, "ops/model.py": FILES["net.py"].replace("from .ops.act", "from .act")}
    members = subs.package_members(files)
    members["submission.toml"] = tomli_w.dumps(subs.manifest(module="ops.model")).encode()
    with run_intake(make_zip(members)) as intake:
        assert intake.ok, intake.findings
        assert intake.model_file == f"{P}/ops/model.py"


def test_module_on_a_one_file_model(make_zip: Callable[..., Path]) -> None:
    found = _intake(make_zip, subs.good_members(module="net"))
    (f,) = [f for f in found if f.code == "ESR220"]
    assert "not a package" in f.message


def test_module_cannot_climb(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["submission.toml"] = tomli_w.dumps(subs.manifest(module="..net")).encode()
    assert "ESR203" in _codes(_intake(make_zip, members))  # the schema's pattern refuses it


def test_two_packages(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["models/team16_Other/net.py"] = b"x = 1\n"
    found = _intake(make_zip, members)
    assert "ESR210" in _codes(found)
    assert "ESR219" not in _codes(found)  # reported once, not per file


def test_a_file_and_a_package(make_zip: Callable[..., Path]) -> None:
    members = {**subs.good_members(), f"{P}/blocks.py": FILES["blocks.py"].encode()}
    assert "ESR219" in _codes(_intake(make_zip, members))


def test_package_name_needs_a_team(make_zip: Callable[..., Path]) -> None:
    members = {k.replace(P, "models/tiny"): v for k, v in subs.package_members().items()}
    assert "ESR211" in _codes(_intake(make_zip, members))


def test_checkpoint_named_like_the_package(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["model_zoo/team16_Other.pth"] = members.pop("model_zoo/team16_TinySR.pth")
    assert "ESR215" in _codes(_intake(make_zip, members), Severity.WARNING)


def test_bytecode_or_extension_in_the_package(make_zip: Callable[..., Path]) -> None:
    for planted in (f"{P}/__pycache__/blocks.cpython-311.pyc", f"{P}/blocks.so", f"{P}/w.npy"):
        members = {**subs.package_members(), planted: b"\x00" * 16}
        found = _intake(make_zip, members)
        assert [f.path for f in found if f.code == "ESR219"] == [planted]


def test_an_import_leaving_the_package(make_zip: Callable[..., Path]) -> None:
    """``models.basicblock`` was a file of the organizers' repository, not of the entry."""
    files = {**FILES, "blocks.py": "import models.basicblock as BB\n" + FILES["blocks.py"]}
    found = _intake(make_zip, subs.package_members(files))
    (f,) = [f for f in found if f.code == "ESR403"]
    assert f.path == f"{P}/blocks.py" and f.line == 1
    assert "models.basicblock is not part of the submission" in f.message
    assert f.severity is Severity.ERROR


def test_imports_of_missing_package_modules(make_zip: Callable[..., Path]) -> None:
    cases = {
        "from . import missing\n": "no module missing",  # the package has __init__.py...
        "from .missing import x\n": "not a file",
        "import models.team16_TinySR.missing\n": "not a file",
        "from ... import x\n": "climbs above",
        "from .ops import nothing\n": "",  # ...and so has ops: a name it may define, fine
    }
    for line, expected in cases.items():
        files = {**FILES, "blocks.py": line + FILES["blocks.py"]}
        if line.startswith("from . import"):
            files.pop("__init__.py")  # without __init__.py, only submodules can be imported
        found = [f for f in _intake(make_zip, subs.package_members(files)) if f.code == "ESR403"]
        if expected:
            assert len(found) == 1 and expected in found[0].message, (line, found)
        else:
            assert not found, (line, found)


def test_every_file_is_checked(make_zip: Callable[..., Path]) -> None:
    files = {**FILES, "ops/act.py": FILES["ops/act.py"] + "\nrelu2 = eval('lambda x: x')\n"}
    found = _intake(make_zip, subs.package_members(files))
    assert any(f.path == f"{P}/ops/act.py" and f.severity is Severity.ERROR for f in found)


def test_a_helper_nothing_calls_is_a_warning(make_zip: Callable[..., Path]) -> None:
    """A ``torch.save`` in a helper module's function: a warning while no file of the package
    names the function, an error once one does."""
    save = "\n\ndef dump(m):\n    import torch\n    torch.save(m, 'x.pth')\n"
    files = {**FILES, "blocks.py": FILES["blocks.py"] + save}
    found = _intake(make_zip, subs.package_members(files))
    writes = [f for f in found if f.path == f"{P}/blocks.py" and "torch.save" in f.message]
    assert writes and all(f.severity is Severity.WARNING for f in writes)
    assert "never calls" in writes[0].message
    files["net.py"] = FILES["net.py"].replace(
        "return self.shuffle", "B.dump(self)\n        return self.shuffle"
    )
    found = _intake(make_zip, subs.package_members(files))
    writes = [f for f in found if f.path == f"{P}/blocks.py" and "torch.save" in f.message]
    assert writes and all(f.severity is Severity.ERROR for f in writes)


def test_class_must_be_in_the_module(make_zip: Callable[..., Path]) -> None:
    members = subs.package_members()
    members["submission.toml"] = tomli_w.dumps(subs.manifest(module="blocks")).encode()
    found = _intake(make_zip, members)
    (f,) = [f for f in found if f.code == "ESR402"]
    assert f.path == f"{P}/blocks.py"


def test_imported_files_follow_the_imports() -> None:
    """What the importer packs: the files importing the module runs, nothing else."""
    import ast

    files = {**FILES, "unused.py": "import models.basicblock\n"}
    paths = tuple(f"{P}/{f}" for f in files)
    trees = {f"{P}/{f}": ast.parse(t) for f, t in files.items()}
    got = imported_files(Package(P, paths), f"{P}/net.py", trees)
    assert got == sorted(f"{P}/{f}" for f in FILES)
    got = imported_files(Package(P, paths), f"{P}/blocks.py", trees)
    assert got == [f"{P}/__init__.py", f"{P}/blocks.py"]
