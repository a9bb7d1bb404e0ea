"""Pull-request mode: nothing the worker prints reaches the step log raw, and the worker
never sees the job's ``GITHUB_*`` variables (tokens, the env and summary files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.runners.base import ProcessSpec
from esr_validator.runners.docker import Sandbox, create_kwargs
from esr_validator.runners.local import LocalRunner
from tests import pr_support as ps

# A model that prints workflow commands on every call, then fails, so that its output is
# quoted in the crash finding the reporter draws.
HOSTILE_MODEL = ps.GOOD_MODEL.replace(
    "        base = F.interpolate(",
    "        print('::error::pwned by the entry')\n"
    "        print('::set-output name=ok::true')\n"
    "        print('::add-mask::x')\n"
    "        print('::stop-commands::guess')\n"
    "        raise RuntimeError('::warning file=README.md::forged %0A::error::again')\n"
    "        base = F.interpolate(",
)
_FENCE = re.compile(r"^::stop-commands::(?P<token>[0-9a-f]{16,})$")
# Ours: annotations titled with a finding code, and the per-team log groups.
_OURS = re.compile(
    r"^::((error|warning|notice) [^:]*title=ESR\d{3}[^:]*::|group::team\d+: |endgroup::$)"
)


def _raw_commands(out: str) -> list[str]:
    """Workflow-command lines outside a stop-commands fence that are not our annotations."""
    raw, token = [], None
    for line in out.splitlines():
        if token is not None:
            token = None if line == f"::{token}::" else token
            continue
        fence = _FENCE.match(line)
        if fence:
            token = fence.group("token")
        elif line.startswith("::") and not _OURS.match(line):
            raw.append(line)
    return raw


_GITHUB = {
    "GITHUB_ENV": "github_env",
    "GITHUB_OUTPUT": "github_output",
    "GITHUB_STEP_SUMMARY": "step_summary.md",
    "GITHUB_PATH": "github_path",
}


@pytest.mark.slow
def test_worker_output_never_reaches_the_step_log_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "challenge"
    ps.challenge_repo(repo)
    ps.git(repo, "checkout", "-q", "-b", "pr")
    ps.write(repo, ps.team_files(20, "Loud", model=HOSTILE_MODEL))
    ps.commit(repo, "team20: prints workflow commands")
    for name, file in _GITHUB.items():
        (tmp_path / file).write_text("")
        monkeypatch.setenv(name, str(tmp_path / file))
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    args = ["pr", "--repo", str(repo), "--base", "main", "--out", str(tmp_path / "out")]

    code = main([*args, "--runner", "local", "--format", "github"])

    out = capsys.readouterr().out
    assert code == 1
    report = (tmp_path / "out" / "team20.report.json").read_text()
    assert "forged %0A::error::again" in report  # the entry's text is quoted in its finding
    assert "pwned by the entry" not in out  # what it printed stays in the captured log
    assert _raw_commands(out) == []
    quoted = [line for line in out.splitlines() if "title=ESR601" in line]
    assert quoted and "forged %250A::error::again" in quoted[0]  # escaped, within one line
    for name in ("GITHUB_ENV", "GITHUB_OUTPUT", "GITHUB_PATH"):
        assert (tmp_path / _GITHUB[name]).read_text() == "", name
    assert "::error::pwned" not in (tmp_path / _GITHUB["GITHUB_STEP_SUMMARY"]).read_text()


def test_the_local_worker_sees_no_github_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    monkeypatch.setenv("GITHUB_ENV", str(tmp_path / "env"))
    monkeypatch.setenv("ACTIONS_RUNTIME_TOKEN", "runtime-secret")
    spec = ProcessSpec(
        role="worker",
        module="tests.fixtures.processes.envdump",
        args=(),
        mounts=(),
        timeout_s=60,
    )
    outcome = LocalRunner().run(spec)
    assert outcome.exit_code == 0, outcome.log_tail
    names = set(outcome.log_tail.split())
    assert "HOME" in names  # the probe ran and printed its environment
    assert not {n for n in names if n.startswith(("GITHUB_", "ACTIONS_"))}
    assert "secret" not in outcome.log_tail


def test_the_docker_worker_sees_no_github_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The container's environment is built from nothing of the host's."""
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_secret_token_value")
    monkeypatch.setenv("GITHUB_ENV", "/home/runner/work/_temp/env")
    spec = ProcessSpec(role="worker", module="m", args=(), mounts=(), timeout_s=1)
    env = create_kwargs(spec, image="x", name="n", sandbox=Sandbox())["environment"]
    assert not [k for k in env if k.startswith(("GITHUB_", "ACTIONS_"))]
    assert "secret" not in str(env)
