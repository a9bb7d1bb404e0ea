"""The container side without an engine: image tags, create arguments, runner choice."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from esr_validator.errors import EnvironmentProblem, UsageError
from esr_validator.runners import _outdir, image, select
from esr_validator.runners.base import Mount, ProcessSpec
from esr_validator.settings import resolve

docker = pytest.importorskip("docker")

from esr_validator.runners.docker import Sandbox, container_name, create_kwargs  # noqa: E402

PINS = """
[cpu]
base_image = "local-base:1"
digest = ""
python = "3.11"
glibc = "2.36"
lock = "docker/requirements-cpu.lock"

[cuda]
base_image = "nvidia/cuda:13"
digest = "sha256:abc"
python = "3.12"
glibc = "2.39"
lock = "docker/requirements-cuda.lock"
"""


@pytest.fixture
def src(tmp_path: Path) -> Path:
    files = {
        "docker/Dockerfile": "FROM scratch\n",
        "docker/pins.toml": PINS,
        "docker/requirements-cpu.lock": "numpy==2 --hash=sha256:00\n",
        "docker/requirements-cuda.lock": "numpy==2 --hash=sha256:11\n",
        "esr_validator/__init__.py": "__version__ = '0'\n",
        "esr_validator/runners/docker.py": "# runner\n",
        "esr_validator/schemas/worker.py": "# schema\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_tag_format_and_stability(src: Path) -> None:
    tag = image.image_tag("cpu", src)
    assert re.fullmatch(r"esr-validator:cpu-[0-9a-f]{12}", tag)
    assert image.image_tag("cpu", src) == tag
    assert image.image_tag("cuda", src).startswith("esr-validator:cuda-")


@pytest.mark.parametrize(
    "rel",
    [
        "docker/Dockerfile",
        "docker/requirements-cpu.lock",
        "esr_validator/runners/docker.py",
        "esr_validator/schemas/worker.py",
    ],
)
def test_tag_follows_every_input(src: Path, rel: str) -> None:
    before = image.image_tag("cpu", src)
    (src / rel).write_text((src / rel).read_text() + "# changed\n")
    assert image.image_tag("cpu", src) != before


def test_tag_ignores_bytecode_and_other_variants_lock(src: Path) -> None:
    before = image.image_tag("cpu", src)
    (src / "esr_validator" / "__pycache__").mkdir()
    (src / "esr_validator" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (src / "docker" / "requirements-cuda.lock").write_text("other\n")
    assert image.image_tag("cpu", src) == before


def test_new_harness_file_changes_tag(src: Path) -> None:
    before = image.image_tag("cpu", src)
    (src / "esr_validator" / "extra.py").write_text("")
    assert image.image_tag("cpu", src) != before


def test_pins_base_ref(src: Path) -> None:
    assert image.load_pins("cuda", src).base_ref == "nvidia/cuda:13@sha256:abc"
    assert image.load_pins("cpu", src).base_ref == "local-base:1"


def test_real_pins_are_digest_pinned() -> None:
    cuda = image.load_pins("cuda")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", cuda.digest)
    dockerfile = (image.source_root() / "docker" / "Dockerfile").read_text()
    assert f"ARG BASE_IMAGE={cuda.base_ref}\n" in dockerfile


def test_stage_context_needs_wheelhouse(src: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="wheelhouse"):
        image.stage_context("cpu", src / "ctx", src)


def test_stage_context_layout(src: Path, tmp_path: Path) -> None:
    wheels = src / ".cache" / "wheelhouse" / "cpu"
    wheels.mkdir(parents=True)
    (wheels / "numpy-2-py3-none-any.whl").write_bytes(b"w")
    ctx = image.stage_context("cpu", tmp_path / "ctx", src)
    found = sorted(p.relative_to(ctx).as_posix() for p in ctx.rglob("*") if p.is_file())
    assert found == [
        "docker/Dockerfile",
        "docker/requirements-cpu.lock",
        "esr_validator/__init__.py",
        "esr_validator/runners/docker.py",
        "esr_validator/schemas/worker.py",
        "wheels/numpy-2-py3-none-any.whl",
    ]


def _spec(**kw: object) -> ProcessSpec:
    base: dict[str, object] = {
        "role": "worker",
        "module": "esr_validator.sandbox",
        "args": ("/out/config.json",),
        "mounts": (
            Mount(Path("/h/sub"), "/submission"),
            Mount(Path("/h/lr"), "/lr"),
            Mount(Path("/h/out"), "/out", read_only=False),
        ),
        "timeout_s": 60.0,
    }
    base.update(kw)
    return ProcessSpec(**base)  # type: ignore[arg-type]


def test_create_kwargs_lock_down() -> None:
    kw = create_kwargs(_spec(), image="img:1", name="esr-worker-x", sandbox=Sandbox())
    assert kw["command"] == ["python", "-m", "esr_validator.sandbox", "/out/config.json"]
    assert kw["network_mode"] == "none"
    assert kw["read_only"] is True
    assert kw["cap_drop"] == ["ALL"]
    assert kw["security_opt"] == ["no-new-privileges"]
    assert kw["privileged"] is False
    assert kw["user"] == "65534:65534"
    assert kw["init"] is True
    assert kw["pids_limit"] == 1024
    assert kw["mem_limit"] == kw["memswap_limit"] == "8192m"
    assert kw["nano_cpus"] == (os.cpu_count() or 1) * 10**9
    assert "size=512m" in kw["tmpfs"]["/tmp"]
    assert "device_requests" not in kw
    assert kw["labels"]["io.esr-validator.managed"] == "1"
    mounts = {m["Target"]: (m["Source"], m["ReadOnly"]) for m in kw["mounts"]}
    assert mounts == {
        "/submission": ("/h/sub", True),
        "/lr": ("/h/lr", True),
        "/out": ("/h/out", False),
    }
    assert kw["log_config"]["Type"] == "json-file"
    assert {u["Name"] for u in kw["ulimits"]} == {"fsize", "core"}


def test_create_kwargs_spec_limits_and_gpu() -> None:
    sandbox = Sandbox(cpus=2.5, pids_limit=64, pythonpath=("/probe",))
    kw = create_kwargs(_spec(gpu=3, memory_limit_mb=1000), image="i", name="n", sandbox=sandbox)
    assert kw["mem_limit"] == kw["memswap_limit"] == "1000m"
    assert kw["nano_cpus"] == 2_500_000_000
    assert kw["pids_limit"] == 64
    assert kw["environment"]["PYTHONPATH"] == "/probe"
    (request,) = kw["device_requests"]
    assert request["DeviceIDs"] == ["3"] and request["Capabilities"] == [["gpu"]]


def test_container_names_are_unique() -> None:
    names = {container_name("worker") for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"esr-worker-[0-9a-f]{32}", n) for n in names)


def test_unit_tests_cannot_start_containers() -> None:
    client = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    with pytest.raises(RuntimeError, match=r"mark it @pytest\.mark\.docker"):
        client.create_container("busybox")


class _Fake:
    kind = "fake"


def test_select_local_requested(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select, "_local", _Fake)
    chosen = select.select_runner(resolve({}, env={"RUNNER": "local"}, gpu=None).runner)
    assert isinstance(chosen.runner, _Fake) and "requested" in (chosen.unsandboxed_reason or "")


def test_select_auto_falls_back_loudly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def no_engine(variant: str, *, build: bool) -> None:
        raise EnvironmentProblem("no Docker engine answers")

    monkeypatch.setattr(select, "_docker", no_engine)
    monkeypatch.setattr(select, "_local", _Fake)
    chosen = select.select_runner("auto")
    assert isinstance(chosen.runner, _Fake)
    assert "no Docker engine answers" in (chosen.unsandboxed_reason or "")
    assert "unsandboxed" in caplog.text
    with pytest.raises(EnvironmentProblem):  # asked for docker: no silent fallback
        select.select_runner("docker")
    with pytest.raises(EnvironmentProblem):  # CI that set up docker: no fallback either
        select.select_runner("auto", require_docker=True)
    settings = resolve({}, env={"ESR_REQUIRE": "docker,browser"}, gpu=None)
    with pytest.raises(EnvironmentProblem):  # the setting comes from ESR_REQUIRE
        select.select_runner(settings.runner, require_docker=settings.require_docker)


def test_select_docker_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(select, "_docker", lambda variant, *, build: _Fake())
    chosen = select.select_runner(None)
    assert isinstance(chosen.runner, _Fake) and chosen.unsandboxed_reason is None


def test_select_rejects_unknown() -> None:
    with pytest.raises(UsageError):
        select.select_runner("podman")


def test_output_copy_skips_links_and_fifos(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "sr" / "val").mkdir(parents=True)
    dst.mkdir()
    (src / "result.json").write_text("{}")
    (src / "sr" / "val" / "0001.npy").write_bytes(b"npy")
    (src / "secret").symlink_to("/etc/hostname")
    (src / "linkdir").symlink_to("/etc")
    os.mkfifo(src / "fifo")
    _outdir._copy_tree(src, dst, owner=None)
    found = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*"))
    assert found == ["result.json", "sr", "sr/val", "sr/val/0001.npy"]


def test_output_check_mode_flags_excess(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with _outdir.OutputDir(out, limit_mb=1, uid=65534, gid=65534, mode="check") as area:
        (out / "big").write_bytes(b"\0" * (2 << 20))
        details = area.collect()
    assert details["output_cap"] == "check"
    assert details["output_limit_exceeded"] == "true"
