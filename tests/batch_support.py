"""Submission folders for batch tests and the batch benchmark, and report comparison."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests import subs

_FORWARD = "    def forward(self, x):"


def _forward(body: str) -> bytes:
    return (subs.TINY_MODEL.split(_FORWARD)[0] + f"{_FORWARD}\n        {body}\n").encode()


def good(team_id: int, num_feat: int = 8, seed: int = 0) -> dict[str, bytes]:
    members = subs.good_members(
        team_id=team_id, team_name=f"Team {team_id:02d}", kwargs={"num_feat": num_feat}
    )
    return {
        f"models/team{team_id:02d}_TinySR.py": subs.TINY_MODEL.encode(),
        f"model_zoo/team{team_id:02d}_TinySR.pth": subs.checkpoint_bytes(
            subs.tiny_state_dict(num_feat=num_feat, seed=seed)
        ),
        "submission.toml": members["submission.toml"],
    }


def invalid() -> dict[str, bytes]:
    members = good(3)
    del members["submission.toml"]
    return members


def broken(team_id: int, body: str) -> dict[str, bytes]:
    members = good(team_id)
    members[f"models/team{team_id:02d}_TinySR.py"] = _forward(body)
    return members


def crash() -> dict[str, bytes]:
    return broken(4, "raise ValueError('boom in forward')")


def nan() -> dict[str, bytes]:
    return broken(5, "return self.shuffle(self.tail(self.head(x))) * float('nan')")


def hang() -> dict[str, bytes]:
    return broken(6, "while True:\n            pass")


def write_folder(folder: Path, zoo: dict[str, dict[str, bytes]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, members in zoo.items():
        subs.write_zip(folder / f"{name}.zip", members)
    return folder


def good_zoo(count: int) -> dict[str, dict[str, bytes]]:
    """``count`` distinct good entries: different widths give different FLOPs and params."""
    return {f"team{10 + i:02d}": good(10 + i, num_feat=4 + 2 * i, seed=i) for i in range(count)}


# Fields that measure time or depend on it: they differ between any two runs.
_VOLATILE = {
    "started_at",
    "finished_at",
    "official_ms",
    "stable_ms",
    "official_runtime_ms",
    "official_runtime_ms_per_run",
    "stable_runtime_ms",
    "stable_iqr_ms",
    "official",
    "stable",
    "scoring",
    "official_memory_mb",
    "stable_memory_mb",
    # The per-run audit trail: round trips, the subtracted overhead, in-worker figures,
    # each run's wall time and memory readings.
    "runs",
    "outer_ms",
    "overhead_ms",
    "event_ms",
    "null_ms",
    "reference_ms",
    "confirm_ms",
    "confirm_reference_ms",
    "confirm_cv",
    "confirm_machine_cv",
    "confirm_factor",
    "machine_cv",
    "machine_noisy",
    "machine_factor",
    "official_memory_mb_per_run",
    "stable_memory_mb_per_run",
}
# timing-noisy, timing-below-resolution, machine-noisy: the run's
_VOLATILE_CODES = {"ESR509", "ESR519", "ESR521"}


def stable_content(value: Any) -> Any:
    """A report's JSON without timings and timestamps (and findings about timing noise)."""
    if isinstance(value, dict):
        return {k: stable_content(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [
            stable_content(v)
            for v in value
            if not (isinstance(v, dict) and v.get("code") in _VOLATILE_CODES)
        ]
    if isinstance(value, str):
        return _normalise(value)
    return value


def lenient_ruleset(path: Path, *, gate_db: float) -> Path:
    """The 2024 ruleset with both PSNR gates at ``gate_db``, so tiny models can rank."""
    from esr_validator.ruleset import _packaged

    text = _packaged()["ntire2024_esr"]
    text = text.replace('name = "ntire2024_esr"', 'name = "test_lenient"')
    text = text.replace("min_psnr = 26.90", f"min_psnr = {gate_db}")
    text = text.replace("min_psnr = 26.99", f"min_psnr = {gate_db}")
    path.write_text(text)
    return path


def copy_smoke(dest: Path) -> Path:
    """The smoke images as an ordinary data folder: gates then decide (not smoke data)."""
    import shutil

    from esr_validator.data import SMOKE_DIR

    for split in SMOKE_DIR.glob("DIV2K_LSDIR_*"):
        shutil.copytree(split, dest / split.name)
    return dest


def mixed_zoo() -> dict[str, dict[str, bytes]]:
    """Two entries that pass a 17 dB gate, one below it, and one of each failure."""
    return {
        "team10": good(10, num_feat=8, seed=0),  # ~18.9 / 19.3 dB
        "team12": good(12, num_feat=6, seed=2),
        "team11": good(11, num_feat=12, seed=1),  # ~15.7 / 16.4 dB: below the gate
        "team03": invalid(),
        "team04": crash(),
        "team05": nan(),
        "team06": hang(),
    }


_TMP_PATH = re.compile(r"/tmp/[^/\s\"':]+")


def _normalise(text: str) -> str:
    # Temporary folders (the extracted submission's, in tracebacks) get a new name each run.
    return _TMP_PATH.sub("<tmp>", text)


def report_content(path: Path) -> Any:
    from esr_validator.signing import read_report

    return stable_content(read_report(path).model_dump(mode="json"))


# Leaderboard columns that follow from timings; the rest must match between two runs.
_TIMED_COLUMNS = {"runtime_ms", "score", "rank_main", "rank_runtime"}


def board_content(csv_file: Path) -> list[dict[str, str]]:
    import csv

    rows = list(csv.DictReader(csv_file.open()))
    return [
        {
            k: (("ranked" if v else "") if k in ("rank_main", "rank_runtime") else _normalise(v))
            for k, v in row.items()
            if k not in _TIMED_COLUMNS or k.startswith("rank_")
        }
        for row in sorted(rows, key=lambda r: r["entry"])
    ]


@dataclass(frozen=True)
class MixedRun:
    """The mixed folder, its data and ruleset, and an uninterrupted local batch of it."""

    subs: Path
    data: Path
    ruleset: Path
    key: Path
    out: Path
    exit_code: int

    def args(self, out: Path, *extra: str) -> list[str]:
        return [
            "batch",
            str(self.subs),
            "--out",
            str(out),
            "--data-dir",
            str(self.data),
            "--ruleset",
            str(self.ruleset),
            "--key",
            str(self.key),
            # Our own test entries on the local runner: signing there must be asked for.
            "--allow-unsandboxed-signing",
            *RUN_ARGS,
            *extra,
        ]


RUN_ARGS = ("--runs", "1", "--warmup", "0", "--runner", "local", "--timeout", "60")
_MIXED: list[MixedRun] = []


def mixed_run(factory: Any) -> MixedRun:
    """Built once per test session (several modules compare against it)."""
    if _MIXED:
        return _MIXED[0]
    from esr_validator.cli import main
    from esr_validator.signing import write_keypair

    base = Path(factory.mktemp("mixed"))
    key = base / "org.key"
    write_keypair(key)
    run = MixedRun(
        subs=write_folder(base / "subs", mixed_zoo()),
        data=copy_smoke(base / "data"),
        ruleset=lenient_ruleset(base / "lenient.toml", gate_db=17.0),
        key=key,
        out=base / "out",
        exit_code=0,
    )
    code = main(run.args(run.out, "--no-progress"))
    run = MixedRun(**{**run.__dict__, "exit_code": code})
    _MIXED.append(run)
    return run


def sample_board() -> Any:
    """A small leaderboard without running anything: four ranked entries, one failure."""
    from esr_validator.batch.leaderboard import Board, Entry, TrackBoard
    from esr_validator.scoring import LeaderboardRow

    figures = {  # name: (runtime ms, params M, PSNR valid, main rank)
        "team21": (9.0, 0.30, 26.95, 1),
        "team22": (11.0, 0.20, 27.01, 2),
        "team23": (14.0, 0.40, 27.10, 3),
        "team24": (16.5, 0.10, 26.92, 4),
    }
    entries = [
        Entry(
            name=name,
            report=f"reports/{name}.json",
            team_id=int(name[-2:]),
            team_name=f"Team {name[-2:]}",
            status="evaluated",
            psnr={"valid": psnr, "test": psnr + 0.1},
            runtime_ms=ms,
            flops_g=params * 60,
            params_m=params,
            score=float(rank),
            ranks={"main": rank},
            notes={"main": ""},
        )
        for name, (ms, params, psnr, rank) in figures.items()
    ]
    entries.append(
        Entry(
            name="team25",
            report="reports/team25.json",
            status="failed",
            failure="crashed",
            failure_message="ESR601: boom",
            psnr={"valid": None, "test": None},
            ranks={"main": None},
            notes={"main": "not ranked: crashed"},
        )
    )
    rows = [
        LeaderboardRow(track="main", entry=e.name, rank=e.ranks["main"], value=e.score)
        for e in entries
    ]
    return Board(
        ruleset="ntire2024_esr",
        ruleset_version="1.0.0",
        title="Sample leaderboard",
        splits=["valid", "test"],
        higher_is_better=False,
        tracks=[TrackBoard(name="main", title="Main", rank_by="score", rows=rows)],
        entries=entries,
    )
