"""Leftovers of runs killed with -9 are removed when, and only when, their owner is gone.

Another esr-validator may run on the same machine at the same time: its resources (a live
owner), and anything that merely looks like ours (no record, a forged or linked record), must
survive every sweep.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from esr_validator import leftovers, owner
from esr_validator.owner import OWNER_FILE, Owner
from tests.proc_support import alive

_CHILD = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from esr_validator import owner\n"
    "folder = owner.owned_tempdir('esr-eval-', dir=Path(sys.argv[1]))\n"
    "print(folder, flush=True)\n"
    "print(owner.env_value(), flush=True)\n"
    "time.sleep(120)\n"
)


def _owner_child(root: Path) -> tuple[subprocess.Popen[str], Path, Owner]:
    """A validator-like process that made a labelled folder under ``root``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    record = owner.parse(proc.stdout.readline().strip())
    assert record is not None and folder.is_dir()
    return proc, folder, record


@pytest.fixture
def dead(tmp_path: Path) -> Iterator[tuple[Path, Owner]]:
    """A labelled folder and the record of its owner, a process started and killed here."""
    proc, folder, record = _owner_child(tmp_path)
    proc.kill()
    proc.wait()
    yield folder, record


def _sweep(root: Path) -> leftovers.Swept:
    return leftovers.sweep(root=root, containers=False)


def test_a_dead_owners_folder_is_removed(tmp_path: Path, dead: tuple[Path, Owner]) -> None:
    folder, _ = dead
    (folder / "out" / "sr").mkdir(parents=True)
    (folder / "out" / "sr" / "x.npy").write_bytes(b"\0" * 1024)
    swept = _sweep(tmp_path)
    assert not folder.exists()
    assert str(folder) in swept.folders


def test_a_live_owners_folder_is_kept(tmp_path: Path) -> None:
    proc, theirs, _ = _owner_child(tmp_path)  # another validator, still running
    try:
        mine = owner.owned_tempdir("esr-chan-", dir=tmp_path)
        swept = _sweep(tmp_path)
        assert theirs.is_dir() and mine.is_dir() and not swept.folders
    finally:
        proc.kill()
        proc.wait()
    _sweep(tmp_path)
    assert not theirs.exists() and mine.is_dir()


def test_a_recycled_pid_is_not_the_owner(tmp_path: Path) -> None:
    """A record naming a live pid that started at another time: that process is not ours."""
    me = owner.current()
    folder = tmp_path / "esr-eval-recycled"
    folder.mkdir()
    forged = me.model_copy(update={"start": me.start + 12345})
    (folder / OWNER_FILE).write_text(forged.model_dump_json())
    _sweep(tmp_path)
    assert not folder.exists()


def test_look_alikes_without_a_usable_record_are_untouched(
    tmp_path: Path, dead: tuple[Path, Owner]
) -> None:
    _, record = dead
    no_record = tmp_path / "esr-eval-nolabel"
    garbage = tmp_path / "esr-worker-home-garbage"
    linked = tmp_path / "esr-chan-linked"
    foreign = tmp_path / "esr-eval-other-namespace"
    for folder in (no_record, garbage, linked, foreign):
        folder.mkdir()
        (folder / "keep").write_text("x")
    (garbage / OWNER_FILE).write_text("{not json")
    real = tmp_path / "dead-record.json"  # a dead record, reached only through a link
    real.write_text(record.model_dump_json())
    (linked / OWNER_FILE).symlink_to(real)
    other = record.model_copy(update={"pidns": "pid:[1]"})  # pids we cannot look up
    (foreign / OWNER_FILE).write_text(other.model_dump_json())
    _sweep(tmp_path)
    for folder in (no_record, garbage, linked, foreign):
        assert (folder / "keep").is_file(), folder


def test_a_record_from_an_earlier_boot_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "esr-eval-rebooted"
    folder.mkdir()
    old = owner.current().model_copy(update={"boot": "00000000-0000-0000-0000-000000000000"})
    (folder / OWNER_FILE).write_text(old.model_dump_json())
    _sweep(tmp_path)
    assert not folder.exists()


def test_a_sweep_never_follows_a_link_out_of_the_folder(
    tmp_path: Path, dead: tuple[Path, Owner]
) -> None:
    folder, _ = dead
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data").write_text("keep me")
    (folder / "escape").symlink_to(precious)
    _sweep(tmp_path)
    assert not folder.exists() and (precious / "data").read_text() == "keep me"


def _sleeper(record: Owner) -> subprocess.Popen[bytes]:
    env = {**os.environ, owner.ENV_OWNER: record.model_dump_json()}
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env)


def test_a_dead_owners_process_is_killed_a_live_ones_kept(
    tmp_path: Path, dead: tuple[Path, Owner]
) -> None:
    _, record = dead
    orphan, ours = _sleeper(record), _sleeper(owner.current())
    try:
        time.sleep(0.3)  # exec done: /proc/PID/environ is the sleeper's
        swept = _sweep(tmp_path)
        assert orphan.wait(timeout=10) == -signal.SIGKILL
        assert orphan.pid in swept.processes
        assert ours.poll() is None and ours.pid not in swept.processes
    finally:
        for proc in (orphan, ours):
            proc.kill()
            proc.wait()


_VALIDATOR = (
    "import sys\n"
    "from esr_validator.runners.base import ProcessSpec\n"
    "from esr_validator.runners.local import LocalRunner\n"
    "spec = ProcessSpec(role='worker', module='tests.fixtures.processes.escaper',\n"
    "                   args=(sys.argv[1], 'hang'), mounts=(), timeout_s=300)\n"
    "LocalRunner().run(spec)\n"
)


def test_kill_9_of_the_validator_leaves_no_local_runner_process(tmp_path: Path) -> None:
    """The reaper's parent-death signal ends the tree; the home folder is then swept."""
    pidfile = tmp_path / "grandchild.pid"
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    validator = subprocess.Popen([sys.executable, "-c", _VALIDATOR, str(pidfile)], env=env)
    deadline = time.monotonic() + 60
    while not pidfile.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    validator.send_signal(signal.SIGKILL)
    validator.wait()
    deadline = time.monotonic() + 15
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(grandchild), "the escaped grandchild outlived its validator"
    homes = list(tmp_path.glob("esr-worker-home-*"))
    assert homes and all((h / OWNER_FILE).is_file() for h in homes)
    _sweep(tmp_path)
    assert not list(tmp_path.glob("esr-worker-home-*"))


needs_loop = pytest.mark.skipif(
    not (os.geteuid() == 0 and shutil.which("losetup") and shutil.which("mkfs.ext4")),
    reason="loop devices need root, losetup and mkfs.ext4",
)


def _loop_mount(image: Path, point: Path) -> str | None:
    with image.open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
    point.mkdir()
    done = subprocess.run(["mount", "-o", "loop", str(image), str(point)], capture_output=True)
    if done.returncode != 0:
        return None
    for device, backing in leftovers.loop_devices().items():
        if backing == image:
            return device
    return None


@needs_loop
def test_a_dead_owners_loop_mount_is_unmounted_and_detached(
    tmp_path: Path, dead: tuple[Path, Owner]
) -> None:
    folder, _ = dead
    scratch = folder / ".esr-cap-x"  # as the docker runner's output cap lays it out
    scratch.mkdir()
    (scratch / OWNER_FILE).write_text((folder / OWNER_FILE).read_text())
    device = _loop_mount(scratch / "fs.img", folder / "out")
    if device is None:
        pytest.skip("this machine refuses loop mounts")
    live = owner.owned_tempdir("esr-eval-", dir=tmp_path)
    live_device = _loop_mount(live / "fs.img", live / "out")
    try:
        swept = _sweep(tmp_path)
        points = [point for _, point in leftovers.mounts()]
        assert device in swept.loops and str(folder / "out") not in points
        assert device not in leftovers.loop_devices()
        assert not folder.exists()
        assert str(live / "out") in points and live_device in leftovers.loop_devices()
    finally:
        subprocess.run(["umount", "-l", str(live / "out")], capture_output=True)
