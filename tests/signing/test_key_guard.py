"""The signing key stays out of an unsandboxed entry's reach.

The attack: with the local runner the model runs as the organizer's user, so it can read the
key path from its parent's command line (/proc/PPID/cmdline) or environment, then the key.
The defence: signing with an unsandboxed runner is refused before anything runs, unless the
organizer passes --allow-unsandboxed-signing, which the signed report then records.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from esr_validator.cli import main
from esr_validator.errors import EXIT_USAGE
from esr_validator.signing import read_report
from tests.scripts import ROOT

SAMPLE = ROOT / "sample_submission" / "team01_TinyESR.zip"

@pytest.fixture
def key(tmp_path: Path) -> Path:
    assert main(["keygen", str(tmp_path / "org.key")]) == 0
    return tmp_path / "org.key"


def test_signing_with_the_local_runner_is_refused_before_anything_runs(
    key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESR_VALIDATOR_KEY", raising=False)
    out = tmp_path / "report.json"
    argv = ["validate", str(SAMPLE), "--runner", "local", "--key", str(key), "--out", str(out)]
    assert main(argv) == EXIT_USAGE
    assert "refusing to sign" in capsys.readouterr().err
    assert not out.exists()  # nothing was evaluated, nothing written


def test_a_key_from_the_environment_is_refused_too(
    key: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESR_VALIDATOR_KEY", str(key))
    assert main(["validate", str(SAMPLE), "--runner", "local"]) == EXIT_USAGE
    assert "--allow-unsandboxed-signing" in capsys.readouterr().err


def test_batch_refuses_as_validate_does(
    key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESR_VALIDATOR_KEY", raising=False)
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "team01.zip").write_bytes(SAMPLE.read_bytes())
    argv = ["batch", str(subs), "--out", str(tmp_path / "o"), "--runner", "local"]
    assert main([*argv, "--key", str(key), "--no-progress"]) == EXIT_USAGE
    assert not (tmp_path / "o" / "reports").exists()


@pytest.mark.slow
def test_allowed_unsandboxed_signing_is_recorded_in_the_signed_report(
    key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ESR_VALIDATOR_KEY", raising=False)
    out = tmp_path / "report.json"
    argv = ["validate", str(SAMPLE), "--runner", "local", "--key", str(key), "--out", str(out)]
    assert main([*argv, "--allow-unsandboxed-signing", "--runs", "1", "--no-progress"]) == 0
    report = read_report(out)
    assert report.options is not None and report.options.unsandboxed_signing
    assert main(["verify", str(out), "--pubkey", f"{key}.pub"]) == 0
