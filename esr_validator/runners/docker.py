"""The docker runner: one process in a locked-down container of the evaluation image.

Why each setting (docs/container.md has the table):
- ``network_mode="none"``: submission code cannot phone home or fetch anything;
- ``read_only`` root and a size-limited ``/tmp`` tmpfs: it cannot alter the harness or the
  Python packages, and scratch space is bounded (and counted against memory);
- user 65534, ``cap_drop=ALL``, ``no-new-privileges``: no root, no setuid escalation;
- ``pids_limit``, ``mem_limit`` (= memswap), ``nano_cpus``: a fork bomb, a memory blow-up or
  a spinning thread stays inside its own limits; ``init``: children are reaped and killed;
- mounts exactly as the spec says: submission and LR read-only, one capped output directory
  (``_outdir``); HR never enters the worker's view;
- a host-side wall-clock timeout kills the container; it is always removed afterwards, also
  when starting fails partway or the user presses Ctrl-C (``_Container``);
- logs are capped on disk (json-file rotation), and only their last bytes are kept.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from esr_validator import owner
from esr_validator.errors import EnvironmentProblem
from esr_validator.runners import _engine
from esr_validator.runners._outdir import CapMode, OutputDir
from esr_validator.runners.base import Mount, ProcessOutcome, ProcessSpec
from esr_validator.runners.image import ImageInfo

LABEL_MANAGED = "io.esr-validator.managed"
LABEL_ROLE = "io.esr-validator.role"
WORKDIR = "/opt/esr"
SCRATCH = "/tmp"  # noqa: S108  (inside the container: its own tmpfs)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sandbox:
    """Limits of the container; the spec's own fields (timeout, memory, gpu) come on top."""

    user: str = "65534:65534"
    memory_mb: int = 8192  # when the spec names no limit
    cpus: float | None = None  # None: as many as the host has
    pids_limit: int = 1024  # threads count too: torch starts one per core and more
    tmp_mb: int = 512
    shm_mb: int = 256
    output_mb: int = 4096
    output_cap: CapMode = "auto"
    pythonpath: tuple[str, ...] = ()  # tests only: where their probe modules are mounted


def container_name(role: str) -> str:
    return f"esr-{role}-{uuid.uuid4().hex}"


def create_kwargs(spec: ProcessSpec, *, image: str, name: str, sandbox: Sandbox) -> dict[str, Any]:
    """The ``containers.create`` arguments for ``spec``: pure, so unit tests can read them."""
    types = _engine.sdk().types
    memory = f"{spec.memory_limit_mb or sandbox.memory_mb}m"
    fsize = sandbox.output_mb * 1024 * 1024
    log_mb = f"{spec.log_limit_bytes // 1_000_000 + 1}m"  # on-disk cap, twice this at most
    # /tmp is the container's private tmpfs, not the host's: S108 does not apply.
    env = {"HOME": SCRATCH, "TMPDIR": SCRATCH, "PYTHONDONTWRITEBYTECODE": "1"}
    if sandbox.pythonpath:
        env["PYTHONPATH"] = ":".join(sandbox.pythonpath)
    kwargs: dict[str, Any] = {
        "image": image,
        "command": ["python", "-m", spec.module, *spec.args],
        "name": name,
        "labels": {LABEL_MANAGED: "1", LABEL_ROLE: spec.role, **owner.labels()},
        "hostname": "sandbox",
        "user": sandbox.user,
        "working_dir": WORKDIR,
        "environment": env,
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {SCRATCH: f"rw,nosuid,nodev,size={sandbox.tmp_mb}m,mode=1777"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "privileged": False,
        "ipc_mode": "private",
        "init": True,
        "pids_limit": sandbox.pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,  # no swap beyond the memory limit
        "nano_cpus": int((sandbox.cpus or os.cpu_count() or 1) * 1e9),
        "shm_size": f"{sandbox.shm_mb}m",
        "oom_score_adj": 500,  # under host memory pressure, the sandbox goes first
        "ulimits": [
            types.Ulimit(name="fsize", soft=fsize, hard=fsize),  # second line of the output cap
            types.Ulimit(name="core", soft=0, hard=0),
        ],
        "mounts": [
            types.Mount(m.target, str(m.host), type="bind", read_only=m.read_only)
            for m in spec.mounts
        ],
        "log_config": types.LogConfig(
            type="json-file",
            config={
                "max-size": log_mb,
                "max-file": "2",
            },
        ),
    }
    if spec.gpu is not None:  # `--gpus device=N`: inside, that GPU is cuda:0
        kwargs["device_requests"] = [
            types.DeviceRequest(device_ids=[str(spec.gpu)], capabilities=[["gpu"]])
        ]
    return kwargs


class _Container:
    """Creates the container; removes it on exit whatever happened, by its unique name."""

    def __init__(self, client: Any, kwargs: dict[str, Any]) -> None:
        self.client, self.kwargs, self.name = client, kwargs, kwargs["name"]

    def __enter__(self) -> Any:
        try:
            return self.client.containers.create(**self.kwargs)
        except BaseException:
            self.remove()  # the engine may have made it before the call failed
            raise

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def remove(self) -> None:
        errors = _engine.sdk().errors
        for _ in range(5):
            try:
                self.client.api.remove_container(self.name, force=True, v=True)
                return
            except errors.NotFound:
                return
            except errors.APIError as exc:  # e.g. "removal already in progress"
                log.warning("removing container %s: %s", self.name, exc)
                time.sleep(0.5)
        log.error("container %s could not be removed", self.name)


class DockerRunner:
    kind: Literal["local", "docker"] = "docker"
    sandboxed = True

    def __init__(self, image: ImageInfo, *, sandbox: Sandbox | None = None, client: Any = None):
        self.image = image
        self.sandbox = sandbox or Sandbox()
        self.client = client or _engine.client()

    def path_in_view(self, mount: Mount) -> str:
        return mount.target

    def describe(self) -> dict[str, str | None]:
        return {
            "image": self.image.tag,
            "image_id": self.image.image_id,
            "base_image": self.image.base_image,
            "base_digest": self.image.base_digest,
            "lock_sha256": self.image.lock_sha256,
        }

    def run(self, spec: ProcessSpec) -> ProcessOutcome:
        uid, gid = (int(p) for p in self.sandbox.user.split(":"))
        kwargs = create_kwargs(
            spec, image=self.image.tag, name=container_name(spec.role), sandbox=self.sandbox
        )
        outs = [
            OutputDir(
                m.host,
                limit_mb=self.sandbox.output_mb,
                uid=uid,
                gid=gid,
                mode=self.sandbox.output_cap,
            )
            for m in spec.mounts
            if not m.read_only
        ]
        errors = _engine.sdk().errors
        details = {"container": kwargs["name"]}
        try:
            with contextlib.ExitStack() as stack:
                for out in outs:
                    stack.enter_context(out)
                with _Container(self.client, kwargs) as container:
                    outcome = self._supervise(container, spec)
                for out in outs:  # after removal: nothing holds the output mount any more
                    details.update(out.collect())
        except errors.APIError as exc:
            raise EnvironmentProblem(
                f"the Docker engine refused to run {spec.role}: {exc}",
                hint="check the image (make image) and, with a GPU, the NVIDIA container toolkit",
            ) from exc
        outcome.details.update(details)
        return outcome

    def _supervise(self, container: Any, spec: ProcessSpec) -> ProcessOutcome:
        requests_exc = _engine.requests_errors()
        container.start()
        started = time.perf_counter()
        timed_out = False
        try:
            code: int | None = int(container.wait(timeout=spec.timeout_s)["StatusCode"])
        except requests_exc:
            timed_out, code = True, None
            _kill(container)
            container.wait(timeout=60)
        wall = time.perf_counter() - started
        # Read once, after the exit: json-file rotation (max-size >= the limit, two files)
        # already bounds what the engine kept, so more than the limit means truncated.
        raw: bytes = container.logs(stdout=True, stderr=True)
        container.reload()
        state = container.attrs.get("State", {})
        sig = code - 128 if code is not None and 128 < code <= 128 + 64 else None
        return ProcessOutcome(
            exit_code=code,
            timed_out=timed_out,
            signal=9 if timed_out else sig,
            oom_killed=bool(state.get("OOMKilled", False)),
            log_tail=raw[-spec.log_limit_bytes :].decode("utf-8", errors="replace"),
            log_truncated=len(raw) > spec.log_limit_bytes,
            wall_s=wall,
        )


def _kill(container: Any) -> None:
    try:
        container.kill()
    except _engine.sdk().errors.APIError as exc:  # it exited on its own meanwhile
        log.debug("kill: %s", exc)
