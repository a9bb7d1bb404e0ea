"""What a person sees during a batch: an overall bar, one bar per running submission, a
line per finished one, and the summary table drawn from the same outcomes as the exit code.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from esr_validator.reporters.base import UNDONE, BatchEntry
from esr_validator.text import for_terminal

Outcome = BatchEntry  # one submission's outcome, as the reporters draw it


class Display:
    """Thread-safe: executors may report start and progress from worker threads."""

    def __init__(self, console: Console, *, live: bool) -> None:
        self.console = console
        self.live = live
        self.lock = threading.Lock()
        self.bar = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not live,
        )
        self.overall: TaskID | None = None
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> Display:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(None, None, None)

    def begin(self, total: int, *, skipped: int) -> None:
        note = f"{skipped} already done" if skipped else ""
        self.overall = self.bar.add_task("submissions", total=total, note=note)

    def started(self, name: str, *, where: str) -> None:
        with self.lock:
            label = for_terminal(name[:26])
            self.tasks[name] = self.bar.add_task(f"  {label}", total=None, note=for_terminal(where))

    def progress(self, name: str, done: int, total: int) -> None:
        with self.lock:
            task = self.tasks.get(name)
            if task is not None:
                self.bar.update(task, completed=done, total=total)

    def ended(self, outcome: Outcome) -> None:
        with self.lock:
            task = self.tasks.pop(outcome.name, None)
            if task is not None:
                self.bar.remove_task(task)
            if self.overall is not None:
                self.bar.advance(self.overall)
        mark = {"ok": "[green]ok[/]", UNDONE: "[yellow]undone[/]"}.get(
            outcome.category, f"[red]{outcome.category}[/]"
        )
        lines = outcome.message.strip().splitlines()
        first = for_terminal(lines[0][:120]) if lines else ""
        detail = f": {first}" if first else ""
        self.console.print(
            f"{for_terminal(outcome.name)}: {mark}{detail}",
            markup=True,
            highlight=False,
            no_wrap=True,
            overflow="ellipsis",
        )
