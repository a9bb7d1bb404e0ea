"""A batch run from top to bottom: find the zips, key them, skip what is done, run the rest,
commit each report as it arrives, then draw the leaderboard from every current report.

Only this module writes to the output folder, and only from the calling thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from esr_validator.batch.display import Display, Outcome
from esr_validator.batch.events import Executor
from esr_validator.batch.jobs import Job
from esr_validator.batch.keys import RunIdentity, run_key
from esr_validator.batch.leaderboard import Board, build_board
from esr_validator.batch.page import html_text
from esr_validator.batch.state import OutDir
from esr_validator.batch.tables import csv_text, md_text
from esr_validator.digests import sha256_file
from esr_validator.errors import InputError
from esr_validator.reporters.base import UNDONE
from esr_validator.schemas.report import Report
from esr_validator.schemas.ruleset import Ruleset
from esr_validator.signing import read_report
from esr_validator.signing.files import atomic_write


def find_zips(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".zip" and p.is_file())


def plan(zips: list[Path], identity: RunIdentity) -> list[Job]:
    jobs = []
    for path in zips:
        digest = sha256_file(path)
        jobs.append(Job(path, digest, run_key(identity, zip_name=path.name, zip_sha256=digest)))
    return jobs


def category(report: Report) -> str:
    return report.failure.category if report.failure else "ok"


@dataclass
class BatchResult:
    outcomes: list[Outcome]
    board: Board
    wall_s: float
    worker_s: dict[str, float] = field(default_factory=dict)
    reports: dict[str, Report] = field(default_factory=dict)  # every current report, by zip

    @property
    def undone(self) -> int:
        return sum(o.category == UNDONE for o in self.outcomes)


class _Driver:
    """Receives the executor's events and commits each finished report."""

    def __init__(self, out: OutDir, key_pair: Ed25519PrivateKey | None, display: Display):
        self.out, self.key_pair, self.display = out, key_pair, display
        self.outcomes: dict[str, Outcome] = {}
        self.worker_s: dict[str, float] = {}

    def started(self, job: Job, *, where: str) -> None:
        self.display.started(job.name, where=where)

    def progress(self, job: Job, done: int, total: int) -> None:
        self.display.progress(job.name, done, total)

    def finished(self, job: Job, report: Report, *, worker_s: float) -> None:
        if report.submission.zip_sha256 != job.zip_sha256:
            self.undone(job, "the zip changed while it was validated; rerun to validate it")
            return
        self.out.commit(job.key, report, key_pair=self.key_pair)
        self.worker_s[job.name] = worker_s
        message = report.failure.message if report.failure else ""
        self._end(Outcome(job.name, category(report), report.status, True, message))

    def undone(self, job: Job, reason: str) -> None:
        self._end(Outcome(job.name, UNDONE, UNDONE, False, reason))

    def _end(self, outcome: Outcome) -> None:
        self.outcomes[outcome.name] = outcome
        self.display.ended(outcome)


def _board(out: OutDir, reports: dict[str, tuple[str, Report]], ruleset: Ruleset) -> Board:
    board = build_board(reports, ruleset)
    atomic_write(out.root / "leaderboard.csv", csv_text(board).encode())
    atomic_write(out.root / "leaderboard.md", md_text(board).encode())
    atomic_write(out.root / "leaderboard.html", html_text(board).encode())
    return board


def run_batch(
    zips_dir: Path,
    out: OutDir,
    *,
    identity: RunIdentity,
    ruleset: Ruleset,
    executor: Executor,
    key_pair: Ed25519PrivateKey | None,
    display: Display,
) -> BatchResult:
    t0 = time.perf_counter()
    out.prepare()
    with out.locked():
        out.drop_temporaries()
        jobs = plan(find_zips(zips_dir), identity)
        earlier = {j.name: m for j in jobs if (m := out.done(j.key)) is not None}
        todo = [j for j in jobs if j.name not in earlier]
        driver = _Driver(out, key_pair, display)
        with display:
            display.begin(len(todo), skipped=len(earlier))
            if todo:
                executor.run(todo, driver)
        outcomes = []
        for job in jobs:
            if job.name in earlier:
                m = earlier[job.name]
                outcomes.append(Outcome(job.name, m.failure or "ok", m.status, False))
            else:
                outcomes.append(
                    driver.outcomes.get(job.name, Outcome(job.name, UNDONE, UNDONE, False))
                )
        markers = {j.name: m for j in jobs if (m := out.done(j.key)) is not None}
        reports = {n: (m.report, read_report(out.root / m.report)) for n, m in markers.items()}
        board = _board(out, reports, ruleset)
    current = {name: report for name, (_, report) in reports.items()}
    return BatchResult(outcomes, board, time.perf_counter() - t0, driver.worker_s, current)
