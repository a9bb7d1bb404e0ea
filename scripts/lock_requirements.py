#!/usr/bin/env python3
"""Write docker/requirements-<variant>.lock from docker/requirements-<variant>.in.

    python scripts/lock_requirements.py [--variant cpu|cuda|all] [--isolated] [-- PIP ARGS]

Every file is pinned by sha256, for the variant's interpreter and glibc (docker/pins.toml),
without downloading the wheels: pip resolves from index metadata (PEP 658) and the report
carries each file's hash. That is what makes the CUDA lock (about 4 GB of nvidia-* wheels)
possible on a machine that never downloads them.

Packages named on a ``# lock: sdist NAME...`` line of the .in file exist only as source
archives; pip cannot resolve those for a foreign platform, so they are locked by their own
archive's hash (downloaded, they are small) and their dependencies must be named in the .in.

Both variants take PyPI's files (the CPU image runs PyPI's CUDA build of torch on the CPU,
so that it can offer torchvision: docs/container.md). The CPU variant uses the machine's pip
configuration, which on this project's build machines also has those files on disk (same
hashes); ``--isolated`` ignores it (the CUDA variant uses it by default).

``# lock: nodeps NAME...``: wheels resolved without their declared dependencies, which the .in
names instead (mmcv-lite and mmengine declare opencv-python, the GUI build, where the image
has opencv-python-headless). ``# lock: late NAME...``: sdists whose build needs the installed
environment (basicsr's setup_requires names torch); the lock lists them after a ``LATE``
marker line, and the image installs them in a second step with ``--no-build-isolation``.
Every package of the lock is installed with ``--no-deps``: the lock is the whole closure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _platforms(glibc: str) -> list[str]:
    major, minor = (int(p) for p in glibc.split("."))
    tags = [f"manylinux_{major}_{m}_x86_64" for m in range(minor, 4, -1)]
    tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


LATE = "# --- late: built against the installed packages (pip --no-build-isolation) ---"


def _read_in(path: Path) -> tuple[list[str], dict[str, set[str]]]:
    reqs: list[str] = []
    marks: dict[str, set[str]] = {"sdist": set(), "nodeps": set(), "late": set()}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("# lock: "):
            kind, *names = line.split()[2:]
            marks[kind].update(_canon(n) for n in names)
        elif line and not line.startswith("#"):
            reqs.append(line)
    marks["sdist"] |= marks["late"]
    return reqs, marks


def _name(req: str) -> str:
    return _canon(re.split(r"[=<>!~ ;\[]", req)[0])


def _pip_report(reqs: list[str], pip_args: list[str], *, no_deps: bool = False) -> list[Any]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", *pip_args[:1], "install", "--dry-run", "-q"]
        cmd += ["--ignore-installed", "--report", str(report), *pip_args[1:], *reqs]
        if no_deps:
            cmd.append("--no-deps")
        subprocess.run(cmd, check=True)
        data: list[Any] = json.loads(report.read_text())["install"]
        return data


def _version(item: Any) -> str:
    # Normalized (PEP 440): thop's metadata says 0.1.1-2209072238 for 0.1.1.post2209072238.
    return str(Version(item["metadata"]["version"]))


def _sha256(item: Any) -> str:
    info = item["download_info"]
    hashes = info.get("archive_info", {}).get("hashes", {})
    if "sha256" in hashes:
        return str(hashes["sha256"])
    url: str = info["url"]
    if url.startswith("file://"):  # a find-links file: hash it here, it is local
        return hashlib.sha256(Path(url[len("file://") :]).read_bytes()).hexdigest()
    raise SystemExit(f"no sha256 for {url}")


def _sdist_hash(name_version: str, pip_args: list[str]) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", *pip_args[:1], "download", "-q", "--no-deps"]
        # No build isolation: reading an sdist's metadata must not install its setup_requires
        # (basicsr names torch, which --no-binary would try to build from source).
        cmd += ["--no-binary=:all:", "--no-build-isolation", "-d", tmp, name_version]
        subprocess.run(cmd, check=True)
        (archive,) = Path(tmp).iterdir()
        return hashlib.sha256(archive.read_bytes()).hexdigest()


def lock(variant: str, *, isolated: bool, extra: list[str]) -> Path:
    pins = tomllib.loads((ROOT / "docker" / "pins.toml").read_text())[variant]
    in_path = ROOT / "docker" / f"requirements-{variant}.in"
    reqs, marks = _read_in(in_path)
    source = [r for r in reqs if _name(r) in marks["sdist"]]
    nodeps = [r for r in reqs if _name(r) in marks["nodeps"]]
    binary = [r for r in reqs if r not in source and r not in nodeps]
    head = ["--isolated"] if isolated else ["--no-cache-dir"]
    target = ["--only-binary=:all:", "--implementation", "cp", "--python-version", pins["python"]]
    args = [*head, *target, *_platforms(pins["glibc"]), *extra]
    found = _pip_report(binary, args)
    if nodeps:
        found += _pip_report(nodeps, args, no_deps=True)
    pinned = {_canon(i["metadata"]["name"]): (_version(i), _sha256(i)) for i in found}
    for req in source:
        name, _, version = req.partition("==")
        if not version:
            raise SystemExit(f"sdist-only {req!r} must be pinned with == in {in_path.name}")
        pinned[_canon(name)] = (version, _sdist_hash(req, [*head, *extra]))
    lines = [
        f"# Generated by scripts/lock_requirements.py --variant {variant}; do not edit.",
        f"# Target: CPython {pins['python']}, linux x86_64, glibc {pins['glibc']}.",
        f"# in-sha256: {hashlib.sha256(in_path.read_bytes()).hexdigest()}",
        "",
    ]
    late = sorted(n for n in pinned if n in marks["late"])
    for name in [*sorted(n for n in pinned if n not in marks["late"]), *late]:
        if late and name == late[0]:
            lines.append(LATE)
        version, digest = pinned[name]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{digest}")
    out: Path = ROOT / str(pins["lock"])
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out.relative_to(ROOT)}: {len(pinned)} packages")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--isolated", action="store_true", help="ignore pip configuration")
    parser.add_argument("pip_args", nargs="*", help="after --: extra pip arguments")
    args = parser.parse_args(argv)
    for variant in ("cpu", "cuda") if args.variant == "all" else (args.variant,):
        lock(variant, isolated=args.isolated or variant == "cuda", extra=args.pip_args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
