"""The command blocks of the README and docs/ run as written.

Every ```bash block carries a marker on the line before it: ``<!-- docs-test: run -->`` or
``<!-- docs-test: skip (reason) -->``. A block without one fails the test, so no new command
goes unchecked. Blocks marked ``run`` execute, in order per file, with ``bash -euo pipefail``
in a scratch copy of the tracked files (the project's ``.venv`` linked in, file times kept so
that make does not reinstall it); blocks marked ``skip`` must say why.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scripts import ROOT

BLOCK = re.compile(
    r"(?:<!--\s*docs-test:\s*(?P<marker>[^>]*?)\s*-->\n)?```bash\n(?P<body>.*?)```", re.S
)
# Pages whose command blocks this test holds to the marker rule.
PAGES = ("README.md", "docs/codabench.md")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    marker: str | None
    body: str


def blocks(page: str) -> list[Block]:
    text = (ROOT / page).read_text("utf-8")
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m.group("marker"), m.group("body"))
        for m in BLOCK.finditer(text)
    ]


def _all() -> list[Block]:
    return [b for page in PAGES for b in blocks(page)]


@pytest.mark.parametrize("block", _all(), ids=lambda b: f"{b.page}:{b.line}")
def test_every_block_says_whether_it_runs(block: Block) -> None:
    assert block.marker is not None, "mark it <!-- docs-test: run --> or skip (reason)"
    assert block.marker == "run" or re.fullmatch(r"skip \(.{10,}\)", block.marker), block.marker


def test_the_parser_reads_markers() -> None:
    found = BLOCK.findall("<!-- docs-test: skip (no GPU on this machine) -->\n```bash\nls\n```\n")
    assert found == [("skip (no GPU on this machine)", "ls\n")]


def _scratch(tmp: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    copy = tmp / "checkout"
    for name in filter(None, files):
        src, dst = ROOT / name.decode(), copy / name.decode()
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)  # times kept: the venv stamp stays newer than pyproject
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


@pytest.mark.slow
@pytest.mark.parametrize("page", ["README.md"])
def test_run_blocks_run(page: str, tmp_path: Path) -> None:
    runnable = [b for b in blocks(page) if b.marker == "run"]
    assert runnable, f"{page} has no runnable block"
    copy = _scratch(tmp_path)
    for block in runnable:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.body],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, (
            f"{page}:{block.line}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
