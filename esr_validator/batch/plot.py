"""Runtime against PSNR as an inline SVG: no script, no fonts or images from elsewhere."""

from __future__ import annotations

import math
from html import escape
from urllib.parse import quote

from esr_validator.batch.leaderboard import Board, Entry
from esr_validator.text import for_html

W, H = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 64, 20, 20, 48


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering [lo, hi] (1, 2 or 5 times a power of ten)."""
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 10))
    return ticks


def _points(board: Board) -> list[tuple[Entry, float, float]]:
    return [
        (e, e.runtime_ms, e.psnr_mean)
        for e in board.entries
        if e.runtime_ms is not None and e.psnr_mean is not None
    ]


def _label(value: float) -> str:
    return f"{value:g}"


def scatter_svg(board: Board) -> str:
    points = _points(board)
    if not points:
        return '<p class="empty">No evaluated entry has both a runtime and a PSNR.</p>'
    xs = nice_ticks(0.0, max(x for _, x, _ in points))
    ys = nice_ticks(min(y for *_, y in points), max(y for *_, y in points))

    def sx(x: float) -> float:
        return LEFT + (x - xs[0]) / (xs[-1] - xs[0]) * (W - LEFT - RIGHT)

    def sy(y: float) -> float:
        return H - BOTTOM - (y - ys[0]) / (ys[-1] - ys[0]) * (H - TOP - BOTTOM)

    main = board.tracks[0].name
    parts = [
        f'<svg id="scatter" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
        f'width="{W}" height="{H}" role="img" aria-label="Runtime versus PSNR">',
        f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" '
        'class="frame"/>',
    ]
    for x in xs:
        parts.append(
            f'<line x1="{sx(x):.1f}" y1="{TOP}" x2="{sx(x):.1f}" y2="{H - BOTTOM}" class="grid"/>'
            f'<text x="{sx(x):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{_label(x)}</text>'
        )
    for y in ys:
        parts.append(
            f'<line x1="{LEFT}" y1="{sy(y):.1f}" x2="{W - RIGHT}" y2="{sy(y):.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{_label(y)}</text>'
        )
    parts.append(
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle" class="axis">'
        "runtime (ms, official protocol)</text>"
        f'<text transform="translate(16 {(TOP + H - BOTTOM) / 2}) rotate(-90)" '
        'text-anchor="middle" class="axis">PSNR (dB, mean over splits)</text>'
    )
    for entry, x, y in points:
        ranked = entry.ranks.get(main) is not None
        title = f"{entry.name} — {entry.team_name or ''}: {x:.3f} ms, {y:.3f} dB"
        href = escape(quote(entry.report))
        parts.append(
            f'<a href="{href}"><circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" '
            f'class="{"ranked" if ranked else "unranked"}" data-entry="{for_html(entry.name)}">'
            f"<title>{for_html(title)}</title></circle></a>"
        )
    parts.append("</svg>")
    return "\n".join(parts)
