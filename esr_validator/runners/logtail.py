"""Drain a child's output pipe, keeping only its tail."""

from __future__ import annotations

import threading
from collections import deque


class TailReader(threading.Thread):
    """Drain a pipe, keeping only the last ``limit`` bytes, so a flood cannot fill memory."""

    def __init__(self, stream: object, limit: int) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.limit = limit
        self.chunks: deque[bytes] = deque()
        self.kept = 0
        self.total = 0

    def run(self) -> None:
        read = self.stream.read1  # type: ignore[attr-defined]
        while chunk := read(65536):
            self.total += len(chunk)
            self.chunks.append(chunk)
            self.kept += len(chunk)
            while self.kept - len(self.chunks[0]) >= self.limit:
                self.kept -= len(self.chunks.popleft())

    def text(self) -> str:
        return b"".join(self.chunks)[-self.limit :].decode("utf-8", errors="replace")
