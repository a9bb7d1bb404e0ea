"""Start-up cost of one sandboxed process, against a plain local subprocess.

    python benchmarks/container_overhead.py [N]

Runs the no-op probe (tests/fixtures/docker_probe) N times through the LocalRunner, the
DockerRunner with the loop-mounted output cap, and the DockerRunner with the plain bind
("check" mode), and prints the median and spread of the host-side wall time per run.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from esr_validator.runners.base import Mount, ProcessSpec, Runner
from esr_validator.runners.docker import DockerRunner, Sandbox
from esr_validator.runners.image import ensure_image
from esr_validator.runners.local import LocalRunner

PROBE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "docker_probe"


def _time(runner: Runner, module: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        ws = Path(tempfile.mkdtemp(prefix="esr-bench-"))
        for name in ("sub", "lr", "out"):
            (ws / name).mkdir()
        (ws / "out" / "config.json").write_text("{}")
        out = Mount(ws / "out", "/out", read_only=False)
        mounts = (
            Mount(ws / "sub", "/submission"),
            Mount(ws / "lr", "/lr"),
            Mount(PROBE, "/probe"),
            out,
        )
        spec = ProcessSpec(
            role="worker",
            module=module,
            args=("noop", runner.path_in_view(out)),
            mounts=mounts,
            timeout_s=60,
        )
        started = time.perf_counter()
        outcome = runner.run(spec)
        times.append(time.perf_counter() - started)
        shutil.rmtree(ws)
        assert outcome.exit_code == 0, outcome
    return times


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    image = ensure_image("cpu", build=False)
    runners: list[tuple[str, Runner, str]] = [
        ("local subprocess", LocalRunner(), "tests.fixtures.docker_probe.esr_probe"),
        (
            "docker, loop cap",
            DockerRunner(image, sandbox=Sandbox(pythonpath=("/probe",), output_cap="loop")),
            "esr_probe",
        ),
        (
            "docker, bind+check",
            DockerRunner(image, sandbox=Sandbox(pythonpath=("/probe",), output_cap="check")),
            "esr_probe",
        ),
    ]
    for label, runner, module in runners:
        times = _time(runner, module, n)
        median = statistics.median(times)
        print(f"{label:20s} median {median:.3f}s  min {min(times):.3f}s  max {max(times):.3f}s")


if __name__ == "__main__":
    main()
