"""What a pull request changed: ``git diff --name-status`` against the merge base.

git runs as a subprocess with fixed options: ``-z`` so that no path is quoted or split,
``--no-renames`` so that a renamed model shows as the file it now is, and no external diff
or textconv drivers, so that nothing the repository configures runs. A shallow clone has no
merge base; the error says to check out with ``fetch-depth: 0``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from esr_validator.errors import EnvironmentProblem, UsageError

_TIMEOUT_S = 120


@dataclass(frozen=True)
class Change:
    status: str  # A added, M modified, D deleted, T type changed (see git diff --name-status)
    path: str

    @property
    def deleted(self) -> bool:
        return self.status == "D"


@dataclass(frozen=True)
class Diff:
    base: str
    merge_base: str
    head: str
    changes: tuple[Change, ...]


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat"}
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            env=env,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise EnvironmentProblem("git is not installed", hint="install git") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"git {args[0]} took over {_TIMEOUT_S} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise UsageError(
            f"git {args[0]} failed in {repo}: {message[-1] if message else done.returncode}",
            hint="--repo must be a git checkout that holds the --base commit",
        )
    return done.stdout.decode("utf-8", errors="surrogateescape")


def _commit(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise UsageError(f"--base {ref!r} is not a commit")
    return _git(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}").strip()


def merge_base(repo: Path, base: str, head: str = "HEAD") -> str:
    try:
        return _git(repo, "merge-base", base, head).strip()
    except UsageError:
        raise UsageError(
            f"no merge base between {base} and {head}",
            hint="check out the full history (actions/checkout with fetch-depth: 0)",
        ) from None


def parse_name_status(raw: str) -> list[Change]:
    """Parse ``git diff --name-status -z``: status, NUL, path, NUL (two paths for R/C)."""
    fields = raw.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    changes: list[Change] = []
    i = 0
    while i < len(fields):
        status = fields[i]
        if status[:1] in ("R", "C"):  # only without --no-renames; keep the new path
            changes.append(Change("A", fields[i + 2]))
            i += 3
            continue
        changes.append(Change(status[:1], fields[i + 1]))
        i += 2
    return changes


def pr_diff(repo: Path, base: str) -> Diff:
    """Files the checked-out ``HEAD`` adds, changes or removes relative to ``base``."""
    base_sha = _commit(repo, base)
    head = _commit(repo, "HEAD")
    mb = merge_base(repo, base_sha, head)
    raw = _git(
        repo,
        "diff",
        "--name-status",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "-z",
        f"{mb}...{head}",
        "--",
    )
    return Diff(base=base_sha, merge_base=mb, head=head, changes=tuple(parse_name_status(raw)))
