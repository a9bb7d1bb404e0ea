"""The writable output directory of a sandboxed process, with a size cap that really holds.

A bind-mounted host directory has no size limit of its own, and a tmpfs inside the container
is lost when the container goes. So, where the host allows it (root, loop devices), the
directory becomes a small ext4 filesystem of its own for the length of the run:

- a sparse file of ``limit_mb`` is formatted (few inodes, owned by the sandbox user) and
  loop-mounted over the host directory, after moving the directory's files (the worker's
  config) into it; the host sees the worker's files live (progress) at the usual path;
- the container gets the directory bind-mounted; a write past the cap fails with ENOSPC;
- afterwards the files are copied back to plain disk, the filesystem unmounted and deleted.

Without root or loop devices the directory is bind-mounted as it is (``check`` mode): the
per-file size limit (RLIMIT_FSIZE, set by the runner) and a host-side size check after the
run are then the only lines, and the outcome says so.

Copying back reads the untrusted filesystem as root: only regular files and directories are
taken, never followed through symbolic links, and FIFOs or devices are skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Literal

from esr_validator.owner import owned_tempdir

CapMode = Literal["auto", "loop", "check"]
MAX_FILES = 32768  # inodes of the capped filesystem: also a cap on the number of files
log = logging.getLogger(__name__)


def loop_supported() -> bool:
    return (
        hasattr(os, "geteuid")
        and os.geteuid() == 0
        and os.path.exists("/dev/loop-control")
        and all(shutil.which(tool) for tool in ("mount", "umount", "mkfs.ext4"))
    )


def tree_size(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class OutputDir:
    """Context manager around one writable mount's host directory."""

    def __init__(self, host: Path, *, limit_mb: int, uid: int, gid: int, mode: CapMode) -> None:
        self.host = host
        self.limit_bytes = limit_mb * 1024 * 1024
        self.uid, self.gid = uid, gid
        if mode == "auto":
            mode = "loop" if loop_supported() else "check"
        elif mode == "loop" and not loop_supported():
            raise RuntimeError("the loop output cap needs root, /dev/loop-control and mkfs.ext4")
        self.mode: CapMode = mode
        self._scratch: Path | None = None
        self._mounted = False

    def __enter__(self) -> OutputDir:
        if self.mode == "check":
            self.host.chmod(0o777)  # the sandbox user must be able to write here
            return self
        # The record lets `cleanup` judge the loop device whose backing file sits here.
        self._scratch = owned_tempdir(".esr-cap-", dir=self.host.parent)
        try:
            self._mount()
        except BaseException:
            self._teardown()
            raise
        return self

    def _mount(self) -> None:
        assert self._scratch is not None
        image, staging = self._scratch / "fs.img", self._scratch / "staging"
        with image.open("wb") as f:
            f.truncate(self.limit_bytes)
        owner = f"root_owner={self.uid}:{self.gid}"
        _run(
            "mkfs.ext4",
            "-q",
            "-F",
            "-m",
            "0",
            "-N",
            str(MAX_FILES),
            "-O",
            "^has_journal",
            "-E",
            owner,
            str(image),
        )
        self.host.rename(staging)  # keep the caller's files (config) aside meanwhile
        self.host.mkdir()
        _run("mount", "-o", "loop,nosuid,nodev,noexec", str(image), str(self.host))
        self._mounted = True
        shutil.rmtree(self.host / "lost+found", ignore_errors=True)
        _copy_tree(staging, self.host, owner=(self.uid, self.gid))
        shutil.rmtree(staging)

    def collect(self) -> dict[str, str]:
        """Bring the files back to plain disk; returns facts for the outcome's details."""
        details = {"output_cap": self.mode, "output_limit_bytes": str(self.limit_bytes)}
        self._bring_back()
        size = tree_size(self.host)
        details["output_bytes"] = str(size)
        if size > self.limit_bytes:
            details["output_limit_exceeded"] = "true"
        return details

    def _bring_back(self) -> None:
        if self.mode != "loop" or not self._mounted:
            return
        assert self._scratch is not None
        back = self._scratch / "back"
        back.mkdir(exist_ok=True)
        _copy_tree(self.host, back, owner=None)
        self._unmount()
        for entry in back.iterdir():
            entry.rename(self.host / entry.name)

    def _unmount(self) -> None:
        if not self._mounted:
            return
        try:
            _run("umount", str(self.host))
        except subprocess.CalledProcessError:
            _run("umount", "-l", str(self.host))  # still busy: detach now, free when idle
        self._mounted = False

    def _teardown(self) -> None:
        try:
            try:  # also after a failure or Ctrl-C: leave the caller's directory as plain files
                self._bring_back()
            finally:
                self._unmount()
        finally:
            if self._scratch is not None:
                staging = self._scratch / "staging"
                if staging.is_dir():  # failed between moving the files aside and mounting
                    if self.host.is_dir() and not any(self.host.iterdir()):
                        self.host.rmdir()
                    if not self.host.exists():
                        staging.rename(self.host)
                shutil.rmtree(self._scratch, ignore_errors=True)

    def __exit__(self, *exc: object) -> None:
        if self.mode == "loop":
            self._teardown()


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def _copy_tree(src: Path, dst: Path, *, owner: tuple[int, int] | None) -> None:
    """Copy regular files and directories only; never follow a link; skip anything else."""
    for dirpath, dirs, files in os.walk(src, followlinks=False):
        rel = Path(dirpath).relative_to(src)
        for name in dirs:
            if stat.S_ISDIR(os.lstat(os.path.join(dirpath, name)).st_mode):
                (dst / rel / name).mkdir(exist_ok=True)
                if owner:
                    os.chown(dst / rel / name, *owner)
        for name in files:
            _copy_file(Path(dirpath) / name, dst / rel / name, owner)


def _copy_file(src: Path, dst: Path, owner: tuple[int, int] | None) -> None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
    try:
        fd = os.open(src, flags)
    except OSError:  # a symbolic link (ELOOP) or gone
        log.warning("not copying %s: not a plain file", src)
        return
    with os.fdopen(fd, "rb") as reader:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            log.warning("not copying %s: not a plain file", src)
            return
        with dst.open("xb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    if owner:
        os.chown(dst, *owner)
