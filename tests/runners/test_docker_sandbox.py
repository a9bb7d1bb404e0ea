"""The sandbox against a hostile worker (tests/fixtures/docker_probe/esr_probe.py).

Each test runs the probe in the real CPU image through DockerRunner and checks both what the
probe saw and that no container is left behind.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from esr_validator.runners.base import Mount, ProcessOutcome, ProcessSpec
from esr_validator.runners.docker import LABEL_MANAGED, DockerRunner, Sandbox
from tests.docker_support import PROBE_DIR, ProbeWorkspace

pytestmark = pytest.mark.docker

SANDBOX = Sandbox(pythonpath=("/probe",), memory_mb=512, pids_limit=64, output_mb=64)


def _spec(ws: ProbeWorkspace, mode: str, **kw: Any) -> ProcessSpec:
    mounts = (
        Mount(ws.sub, "/submission"),
        Mount(ws.lr, "/lr"),
        Mount(PROBE_DIR, "/probe"),
        Mount(ws.out, "/out", read_only=False),
    )
    fields: dict[str, Any] = {"timeout_s": 60.0, "log_limit_bytes": 100_000, **kw}
    return ProcessSpec(
        role="worker", module="esr_probe", args=(mode, "/out"), mounts=mounts, **fields
    )


def _managed(engine: Any) -> list[Any]:
    return list(engine.containers.list(all=True, filters={"label": f"{LABEL_MANAGED}=1"}))


def _probe(
    engine: Any, image: Any, ws: ProbeWorkspace, mode: str, *, sandbox: Sandbox = SANDBOX, **kw: Any
) -> tuple[ProcessOutcome, dict[str, Any] | None]:
    before = {c.name for c in _managed(engine)}
    outcome = DockerRunner(image, sandbox=sandbox, client=engine).run(_spec(ws, mode, **kw))
    assert {c.name for c in _managed(engine)} <= before, "the container was left behind"
    report = ws.out / "probe.json"
    return outcome, json.loads(report.read_text()) if report.exists() else None


def test_image_labels(cpu_image: Any, docker_engine: Any) -> None:
    labels = docker_engine.images.get(cpu_image.tag).labels
    from esr_validator import __version__
    from esr_validator.runners.image import lock_sha256

    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["io.esr-validator.lock.sha256"] == lock_sha256("cpu") == cpu_image.lock_sha256
    # The tag's hex is the content label's prefix (sources may change during a long session).
    assert cpu_image.tag == f"esr-validator:cpu-{labels['io.esr-validator.content'][:12]}"
    assert re.fullmatch(r"[0-9a-f]{64}", labels["io.esr-validator.content"])
    assert labels["org.opencontainers.image.base.digest"] == cpu_image.base_digest
    assert docker_engine.images.get(cpu_image.tag).attrs["Config"]["User"] == "65534:65534"


def test_host_config_in_effect(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    """Read the flags back from the engine while the container runs, not from our kwargs."""
    seen: dict[str, Any] = {}

    def grab() -> None:
        for _ in range(200):
            for container in _managed(docker_engine):
                seen.update(container.attrs)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=grab)
    watcher.start()
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "identity")
    watcher.join()
    host = seen["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["PidsLimit"] == 64
    assert host["Memory"] == host["MemorySwap"] == 512 * 1024 * 1024
    assert host["NanoCpus"] > 0
    assert host["Init"] is True
    assert "size=512m" in host["Tmpfs"]["/tmp"]
    assert host["LogConfig"]["Type"] == "json-file"
    binds = {m["Target"]: m.get("ReadOnly", False) for m in host["Mounts"]}
    assert binds == {"/submission": True, "/lr": True, "/probe": True, "/out": False}
    assert seen["Config"]["User"] == "65534:65534"
    assert outcome.exit_code == 0 and report is not None
    assert (report["uid"], report["gid"]) == (65534, 65534)
    assert int(report["cap_eff"], 16) == 0 and int(report["cap_bnd"], 16) == 0
    assert report["no_new_privs"] == "1"
    assert report["seccomp"] == "2"  # the engine's default filter
    assert report["interfaces"] == ["lo"]


def test_network_is_unreachable(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "network")
    assert outcome.exit_code == 0 and report is not None
    for attempt in ("tcp_1.1.1.1_53", "tcp_pypi", "dns", "udp", "docker_sock"):
        assert report[attempt]["ok"] is False, attempt


def test_writes_outside_output_fail(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "write")
    assert outcome.exit_code == 0 and report is not None
    for target in ("root", "etc_passwd", "harness", "venv", "submission", "lr", "probe"):
        assert report[target]["ok"] is False, target
    assert report["tmp"]["ok"] and report["out"]["ok"]
    assert report["mknod"]["ok"] is False
    # A link planted in the output is never followed back on the host.
    assert not (probe_workspace.out / "shadow").exists()
    assert (probe_workspace.out / "fine").read_bytes() == b"x"
    assert not list(probe_workspace.sub.glob("evil*"))


def test_hr_is_not_visible(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "hr")
    assert outcome.exit_code == 0 and report is not None
    assert report["hits"] == [] and report["env_hits"] == []
    assert report["lr"] == ["val"]


def test_fork_bomb_hits_pids_limit(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "forkbomb")
    assert report is not None and report["error"] == "EAGAIN"
    assert report["children"] < 64
    assert outcome.exit_code == 0 and not outcome.timed_out


def test_memory_blowup_is_oom_killed(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "oom")
    assert outcome.oom_killed is True
    assert outcome.exit_code == 137 and outcome.signal == 9
    assert report is None


def test_infinite_loop_is_killed_at_timeout(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    started = time.perf_counter()
    outcome, _ = _probe(docker_engine, cpu_image, probe_workspace, "spin", timeout_s=3.0)
    assert outcome.timed_out is True and outcome.exit_code is None and outcome.signal == 9
    assert 3.0 <= outcome.wall_s < 15 and time.perf_counter() - started < 30


def test_stdout_flood_is_truncated(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(
        docker_engine, cpu_image, probe_workspace, "flood", log_limit_bytes=10_000
    )
    assert outcome.exit_code == 0 and report == {"flooded": True}
    assert outcome.log_truncated is True
    assert len(outcome.log_tail.encode()) <= 10_000
    assert outcome.log_tail.rstrip().endswith("THE-END")


def test_output_is_capped(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "bigout")
    assert report is not None
    assert report["written_mb"] <= 64
    if outcome.details["output_cap"] == "loop":
        assert report["error"] == "ENOSPC"
    else:  # no loop devices: the file-size limit stops the writer (SIGXFSZ or EFBIG)
        assert report.get("error") == "EFBIG" or outcome.signal == 25
    assert (probe_workspace.out / "config.json").read_text() == "{}"


def test_removed_when_start_fails(
    cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace
) -> None:
    """A mount source that does not exist makes create or start fail: nothing is left."""
    from esr_validator.errors import EnvironmentProblem

    spec = _spec(probe_workspace, "noop")
    broken = ProcessSpec(
        **{**spec.__dict__, "mounts": (*spec.mounts, Mount(Path("/nonexistent/esr"), "/nope"))}
    )
    with pytest.raises(EnvironmentProblem):
        DockerRunner(cpu_image, sandbox=SANDBOX, client=docker_engine).run(broken)
    assert _managed(docker_engine) == []
    assert sorted(p.name for p in probe_workspace.out.iterdir()) == ["config.json"]


def test_removed_on_keyboard_interrupt(
    cpu_image: Any,
    docker_engine: Any,
    probe_workspace: ProbeWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C while waiting for the process: the container goes, the output dir comes back."""
    runner = DockerRunner(cpu_image, sandbox=SANDBOX, client=docker_engine)
    real = runner._supervise

    def interrupted(container: Any, spec: ProcessSpec) -> ProcessOutcome:
        container.start()
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "_supervise", interrupted)
    with pytest.raises(KeyboardInterrupt):
        runner.run(_spec(probe_workspace, "spin"))
    assert _managed(docker_engine) == []
    assert sorted(p.name for p in probe_workspace.out.iterdir()) == ["config.json"]
    assert real is not None


def test_noop_overhead(cpu_image: Any, docker_engine: Any, probe_workspace: ProbeWorkspace) -> None:
    outcome, report = _probe(docker_engine, cpu_image, probe_workspace, "noop")
    assert outcome.exit_code == 0 and report is not None
    assert outcome.wall_s < 30
