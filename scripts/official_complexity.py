"""The organizers' own complexity figures for every entry of their challenge repositories.

    python scripts/official_complexity.py YEAR=GITDIR [YEAR=GITDIR ...]
        [--out docs/data/official-complexity.json] [--teams 0,4] [--timeout S] [--image TAG]

The reference that ``scripts/real_entries.py --validate`` compares the validator with where the
organizers published no per-team figures (2024, 2025: only the baselines are in their
repositories). Each GITDIR is a bare mirror; its HEAD is written to a scratch checkout (blobs the
mirror lacks left out, as ``real_entries.py`` does). For every team id that the repository's
``select_model()`` handles and whose files are present (the ids come from ``esr-validator
import``, which reads the branches with the AST), one container of the CPU evaluation image
(no network, the checkout read-only) runs the organizers' code from the checkout itself:

1. ``select_model(args, device)`` from their ``test_demo.py``, ``device`` the CPU;
2. one forward of a random LR image through their ``forward()``, with their ``tile``, standing
   in for the validation loop their ``main()`` runs before it counts;
3. the complexity lines of their ``main()``: ``get_model_activation(model, (3, 256, 256))``
   from their ``utils/model_summary.py``, fvcore's ``FlopCountAnalysis`` on
   ``torch.rand(1, 3, 256, 256)``, and the sum of the parameters' ``numel()``.

Nothing of theirs is copied here: the container imports it from the checkout. So that their
code runs on a CPU, this trusted harness (never the validator) makes ``.cuda()`` the identity
and maps ``torch.load`` to the CPU with ``weights_only=False`` (checkpoints the organizers
published, loaded in a container without network).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_entries import checkout

from esr_validator import owner
from esr_validator.importer import import_repo

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "data" / "official-complexity.json"

# Runs inside the container, in the checkout; argv[1] is the team id. Prints one JSON line.
PROBE = textwrap.dedent(
    """
    import argparse, json, os, sys, traceback
    import torch

    def _identity(self, *args, **kwargs):
        return self

    torch.nn.Module.cuda = _identity
    torch.Tensor.cuda = _identity
    _load = torch.load

    def _cpu_load(*args, **kwargs):
        kwargs["map_location"] = "cpu"
        kwargs["weights_only"] = False
        return _load(*args, **kwargs)

    torch.load = _cpu_load
    team = int(sys.argv[1])
    out = {"team_id": team}
    try:
        sys.path.insert(0, os.getcwd())
        import test_demo
        from fvcore.nn import FlopCountAnalysis
        from utils.model_summary import get_model_activation

        args = argparse.Namespace(model_id=team, data_dir="", save_dir="/tmp", include_test=False,
                                  ssim=False, fp16=False)
        torch.manual_seed(0)
        model, name, data_range, tile = test_demo.select_model(args, torch.device("cpu"))
        with torch.no_grad():
            lr = torch.rand(1, 3, 64, 64) * data_range
            test_demo.forward(lr, model, tile)
        activations, conv = get_model_activation(model, (3, 256, 256))
        flops = FlopCountAnalysis(model, torch.rand(1, 3, 256, 256)).total()
        params = sum(p.numel() for p in model.parameters())
        out.update(name=name, params=int(params), flops=int(flops),
                   activations=int(activations), conv=int(conv))
    except BaseException as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        out["trace"] = traceback.format_exc()[-1500:]
    print("@@" + json.dumps(out))
    """
)


def image_tag() -> str:
    from esr_validator.runners.image import image_tag as tag

    return tag("cpu")


def probe(repo: Path, team: int, image: str, timeout_s: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as handle:
        handle.write(PROBE)
    script = Path(handle.name)
    script.chmod(0o644)
    labels = [f"--label={k}={v}" for k, v in owner.labels().items()]
    cmd = ["docker", "run", "--rm", "--network=none", *labels, "-e", "HF_HUB_OFFLINE=1"]
    cmd += ["-v", f"{repo}:/repo:ro", "-v", f"{script}:/probe.py:ro", "-w", "/repo"]
    cmd += [image, "python", "/probe.py", str(team)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"team_id": team, "error": f"no result within {timeout_s} s"}
    finally:
        script.unlink()
    for line in done.stdout.splitlines():
        if line.startswith("@@"):
            row: dict[str, Any] = json.loads(line[2:])
            return row
    tail = " ".join(done.stderr.strip().splitlines()[-3:])
    return {"team_id": team, "error": f"exit {done.returncode}: {tail}"[:300]}


def year_rows(
    year: int, gitdir: Path, teams: frozenset[int] | None, image: str, timeout_s: int
) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory() as zips:
        repo = Path(scratch)
        repo.chmod(0o755)
        commit, _ = checkout(gitdir, repo)
        for path in repo.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        for entry in import_repo(repo, Path(zips)):  # the zips are not kept
            if not entry.zip or (teams is not None and entry.team_id not in teams):
                continue
            row = probe(repo, entry.team_id, image, timeout_s)
            row = {"year": year, "commit": commit, **row}
            print(f"[{year} team {entry.team_id:02d}] {row.get('error', 'ok')}", file=sys.stderr)
            rows.append(row)
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("repos", nargs="+", metavar="YEAR=GITDIR")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--teams", help="only these team ids, comma-separated")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per entry")
    parser.add_argument("--image", help="evaluation image (default: the CPU image's tag)")
    args = parser.parse_args(argv)
    teams = frozenset(int(t) for t in args.teams.split(",")) if args.teams else None
    image = args.image or image_tag()
    out = Path(args.out)
    kept = json.loads(out.read_text()) if out.exists() else []
    for spec in args.repos:
        year_text, _, gitdir = spec.partition("=")
        year = int(year_text)
        fresh = year_rows(year, Path(gitdir), teams, image, args.timeout)
        done = {(r["year"], r["team_id"]) for r in fresh}
        kept = [r for r in kept if (r["year"], r["team_id"]) not in done] + fresh
    kept.sort(key=lambda r: (r["year"], r["team_id"]))
    for row in kept:
        row.pop("trace", None) if "error" not in row else None
    out.write_text(json.dumps(kept, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
