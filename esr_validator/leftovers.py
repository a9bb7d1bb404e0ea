"""Removing what runs killed with -9 left behind, and nothing else.

Only resources with an owner record (:mod:`esr_validator.owner`) whose owner is gone are
touched; the rest, a live run's or anything unlabelled, is left alone. The order matters:
processes first (they hold files and sockets), then containers (they hold mounts), then loop
devices with their mounts, then folders (a folder is never removed with a mount inside).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from esr_validator import owner
from esr_validator.owner import Owner

log = logging.getLogger(__name__)


@dataclass
class Swept:
    processes: list[int] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)
    mounts: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.processes) + len(self.containers) + len(self.loops) + len(self.folders)


def _gone(record: Owner | None) -> bool:
    return record is not None and owner.state(record) == "gone"


# -- processes ---------------------------------------------------------------------------
def process_owner(pid: int) -> Owner | None:
    """The ``ESR_OWNER`` record in a process's environment, if it has one."""
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read(1 << 20)
    except OSError:
        return None
    prefix = f"{owner.ENV_OWNER}=".encode()
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return owner.parse(entry[len(prefix) :])
    return None


def labelled_processes() -> dict[int, Owner]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            record = process_owner(int(entry))
            if record is not None:
                found[int(entry)] = record
    return found


def _sweep_processes(swept: Swept) -> None:
    for _ in range(20):  # a fork bomb replaces killed members: until none is left
        victims = [pid for pid, rec in labelled_processes().items() if _gone(rec)]
        if not victims:
            return
        for pid in victims:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            if pid not in swept.processes:
                swept.processes.append(pid)


# -- containers --------------------------------------------------------------------------
def labelled_containers() -> list[tuple[str, Owner | None]]:
    """(name, record) of every container with an owner label; [] without an engine."""
    from esr_validator.errors import EnvironmentProblem
    from esr_validator.runners import _engine

    try:
        client = _engine.client(timeout=10)
    except EnvironmentProblem:
        return []
    listed = client.api.containers(all=True, filters={"label": owner.LABEL_OWNER})
    return [
        (c["Names"][0].lstrip("/"), owner.parse(c.get("Labels", {}).get(owner.LABEL_OWNER)))
        for c in listed
    ]


def _sweep_containers(swept: Swept) -> None:
    victims = [name for name, rec in labelled_containers() if _gone(rec)]
    if not victims:
        return
    from esr_validator.runners import _engine

    client = _engine.client(timeout=30)
    for name in victims:
        try:
            client.api.remove_container(name, force=True, v=True)
            swept.containers.append(name)
        except _engine.sdk().errors.APIError as exc:
            log.warning("could not remove container %s: %s", name, exc)


# -- mounts and loop devices -------------------------------------------------------------
def mounts() -> list[tuple[str, str]]:
    """(source, mount point) of this namespace's mounts, innermost last."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            left, _, right = line.partition(" - ")
            point = left.split()[4].encode().decode("unicode_escape")
            found.append((right.split()[1], point))
    return found


def loop_devices() -> dict[str, Path]:
    """Attached loop devices and their backing files."""
    found = {}
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        with contextlib.suppress(OSError):
            found[f"/dev/{backing.parent.parent.name}"] = Path(backing.read_text().strip())
    return found


def _umount(point: str, swept: Swept) -> None:
    for cmd in (["umount", point], ["umount", "-l", point]):
        if subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0:
            swept.mounts.append(point)
            return
    log.warning("could not unmount %s", point)


def _sweep_loops(swept: Swept) -> None:
    for device, backing in loop_devices().items():
        if not _gone(owner.read_record(backing.parent)):
            continue
        for source, point in reversed(mounts()):
            if source == device:
                _umount(point, swept)
        if device in loop_devices():  # a loop mount detaches its device on unmount
            subprocess.run(["losetup", "-d", device], capture_output=True, timeout=60)
        swept.loops.append(device)


# -- folders -----------------------------------------------------------------------------
def labelled_folders(root: Path) -> list[tuple[Path, Owner]]:
    found = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            if entry.is_dir(follow_symlinks=False):
                record = owner.read_record(Path(entry.path))
                if record is not None:
                    found.append((Path(entry.path), record))
    return found


def _sweep_folders(root: Path, swept: Swept) -> None:
    for folder, record in labelled_folders(root):
        if not _gone(record):
            continue
        inside = f"{folder}/"
        for _source, point in reversed(mounts()):
            if point.startswith(inside):
                _umount(point, swept)
        shutil.rmtree(folder, ignore_errors=True)
        swept.folders.append(str(folder))


def sweep(*, root: Path | None = None, containers: bool = True) -> Swept:
    """Remove every resource whose owner is gone; ``root`` is the temporary folder."""
    swept = Swept()
    _sweep_processes(swept)
    if containers:
        _sweep_containers(swept)
    _sweep_loops(swept)
    _sweep_folders(root or Path(tempfile.gettempdir()), swept)
    return swept
