"""Owner records: every resource a run creates names its run and the process that owns it.

A run killed with -9 cannot clean up after itself; the next ``batch`` (or ``esr-validator
cleanup``) does it. On a shared machine another esr-validator may be running at the same time,
so a resource is removed only when its owner is provably gone, never for its name or age:

- a folder holds ``.esr-owner`` (JSON :class:`Owner`), written before anything else goes in;
- a container carries the record as the label ``io.esr-validator.owner``;
- a loop device is judged by the record in its backing file's folder;
- a sandbox process carries it in ``ESR_OWNER`` (a label, not a secret).

The owner is a pid *and* that process's start time (``/proc/PID/stat`` field 22), so a
recycled pid is not taken for the owner. A record from another boot is gone; one from another
pid namespace (a validator in a container sharing the engine) cannot be judged and is kept.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

OWNER_FILE = ".esr-owner"
ENV_OWNER = "ESR_OWNER"
LABEL_OWNER = "io.esr-validator.owner"
LABEL_RUN = "io.esr-validator.run"
_MAX_RECORD = 4096  # a record is ~200 bytes; anything larger is not ours
State = Literal["alive", "gone", "unknown"]


class Owner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    run: str  # one id per validator process
    pid: int
    start: int  # clock ticks after boot at which ``pid`` started
    boot: str
    pidns: str


def _read_small(path: str) -> str:
    with open(path, encoding="ascii", errors="replace") as handle:
        return handle.read(_MAX_RECORD).strip()


def boot_id() -> str:
    try:
        return _read_small("/proc/sys/kernel/random/boot_id")
    except OSError:
        return "unknown"


def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "unknown"


def process_start(pid: int) -> int | None:
    """When ``pid`` started (clock ticks after boot), or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ')'.
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of stat(5); fields[0] here is field 3
    except (IndexError, ValueError):
        return None


@cache
def _owner_of(pid: int) -> Owner:
    return Owner(
        run=uuid.uuid4().hex,
        pid=pid,
        start=process_start(pid) or 0,
        boot=boot_id(),
        pidns=pid_namespace(),
    )


def current() -> Owner:
    """This process's record (a forked child gets its own: the cache is keyed by pid)."""
    return _owner_of(os.getpid())


def state(owner: Owner) -> State:
    if owner.boot != boot_id():
        return "gone"  # the machine rebooted since
    if owner.pidns != pid_namespace():
        return "unknown"  # its pids are not ours to look up
    return "alive" if process_start(owner.pid) == owner.start else "gone"


def parse(text: str | bytes | None) -> Owner | None:
    if not text or len(text) > _MAX_RECORD:
        return None
    try:
        return Owner.model_validate_json(text)
    except ValidationError:
        return None


def labels() -> dict[str, str]:
    """Container labels naming this run and its owner."""
    me = current()
    return {LABEL_OWNER: me.model_dump_json(), LABEL_RUN: me.run}


def env_value() -> str:
    return current().model_dump_json()


def write_record(folder: Path) -> None:
    fd = os.open(folder / OWNER_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(env_value())


def read_record(folder: Path) -> Owner | None:
    """The folder's record; None when absent, a link, not a plain file or not a record."""
    try:
        fd = os.open(folder / OWNER_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return parse(handle.read(_MAX_RECORD + 1))


def owned_tempdir(prefix: str, *, dir: Path | None = None) -> Path:
    """``tempfile.mkdtemp`` with this process's record inside."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    try:
        write_record(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


@contextlib.contextmanager
def owned_temporary(prefix: str, *, dir: Path | None = None) -> Iterator[Path]:
    """``tempfile.TemporaryDirectory`` with this process's record inside."""
    folder = owned_tempdir(prefix, dir=dir)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
