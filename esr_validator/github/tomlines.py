"""Find the line of a key in a TOML text, so a manifest finding lands on its line.

Manifest findings name a key (``submission.toml:data_range``, ``checkpoint.key``), not a
line. This scan is deliberately simple: it follows ``[table]`` headers and ``key = value``
lines, and falls back to the nearest enclosing key (an inline table) or table header.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_SIMPLE = r"""[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'"""
_ASSIGN = re.compile(rf"^((?:{_SIMPLE})(?:\s*\.\s*(?:{_SIMPLE}))*)\s*=")
_PART = re.compile(r"""[A-Za-z0-9_\-]+|"([^"]*)"|'([^']*)'""")


def _split(dotted: str) -> tuple[str, ...]:
    parts: list[str] = []
    for m in _PART.finditer(dotted):
        quoted = m.group(1) if m.group(1) is not None else m.group(2)
        parts.append(quoted if quoted is not None else m.group(0))
    return tuple(parts)


def key_line(text: str, dotted: str) -> int | None:
    """1-based line of ``dotted`` (``a.b.c``) in ``text``; None when it is not written."""
    want = tuple(p for p in dotted.split(".") if p)
    if not want:
        return None
    table: tuple[str, ...] = ()
    best: tuple[int, int] | None = None  # (depth matched, line)
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if m := _HEADER.match(line):
            table = _split(m.group(1))
            key = table
        elif m := _ASSIGN.match(line):
            key = table + _split(m.group(1))
        else:
            continue
        if key == want:
            return n
        if key and want[: len(key)] == key and (best is None or len(key) > best[0]):
            best = (len(key), n)
    return best[1] if best else None
