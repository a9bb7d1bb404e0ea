"""The leaderboard as one static HTML page: inline CSS and JS, nothing fetched.

Every text from a submission (team and model names, failure messages) goes through
:func:`esr_validator.text.for_html` (control and bidi characters neutralised, then
``html.escape``); links point at the report files beside the page (``reports/...``).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from esr_validator.batch.leaderboard import Board, Entry
from esr_validator.batch.plot import scatter_svg
from esr_validator.batch.tables import first_line as _first_line
from esr_validator.batch.tables import fmt
from esr_validator.text import clean, for_html

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px;margin:0 0 4px}p.meta{color:#666;margin:0 0 16px}
table{border-collapse:collapse;margin:12px 0}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:right;white-space:nowrap}
td.t,th.t{text-align:left}th{cursor:pointer;background:#f4f4f4;user-select:none}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
tr.failed td{color:#999}
td.note{color:#777;white-space:normal;min-width:18em;max-width:30em;text-align:left}
svg text{font-size:11px;fill:#444}svg .axis{font-size:12px}
svg .frame{fill:none;stroke:#999}svg .grid{stroke:#eee}
circle.ranked{fill:#1f77b4;stroke:#fff}circle.unranked{fill:#bbb;stroke:#666}
"""

# Sorts the table by the clicked column: numbers by value, text by locale, blanks last.
JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var num = th.dataset.type === 'num', body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
        if (x === '' || y === '') { return (x === '') - (y === ''); }
        var c = num ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _th(label: str, *, num: bool) -> str:
    cls = "" if num else ' class="t"'
    return f'<th{cls} data-type="{"num" if num else "text"}">{escape(label)}</th>'


def _td(text: str, sort: object, *, num: bool, extra: str = "") -> str:
    cls = extra or ("" if num else "t")
    attr = f' class="{cls}"' if cls else ""
    return f'<td{attr} data-v="{for_html("" if sort is None else sort)}">{text}</td>'


def _href(path: str) -> str:
    return escape(quote(clean(path)))


def _row(e: Entry, board: Board) -> str:
    main = board.tracks[0].name
    team = "" if e.team_name is None else for_html(e.team_name)
    outcome = e.failure or ("ok" if e.status == "evaluated" else e.status)
    cells = [
        _td(str(e.ranks.get(main) or "–"), e.ranks.get(main), num=True),
        _td(f'<a href="{_href(e.report)}">{for_html(e.name)}</a>', e.name, num=False),
        _td(team, e.team_name or "", num=False),
        _td(for_html(outcome), outcome, num=False),
    ]
    cells += [_td(fmt(e.psnr.get(s)), e.psnr.get(s), num=True) for s in board.splits]
    cells += [
        _td(fmt(e.runtime_ms, 3), e.runtime_ms, num=True),
        _td(fmt(e.flops_g), e.flops_g, num=True),
        _td(fmt(e.params_m), e.params_m, num=True),
        _td(fmt(e.score, 4), e.score, num=True),
    ]
    cells += [
        _td(str(e.ranks.get(t.name) or "–"), e.ranks.get(t.name), num=True)
        for t in board.tracks[1:]
    ]
    failed = e.failure not in (None, "below_gate")
    note = _first_line(e.failure_message) if failed else e.notes.get(main, "")
    note = note if len(note) <= 140 else note[:139] + "…"
    cells.append(_td(for_html(note), note, num=False, extra="note"))
    cls = ' class="failed"' if failed else ""
    return f"<tr{cls}>" + "".join(cells) + "</tr>"


def _header(board: Board) -> str:
    heads = [_th("rank", num=True), _th("entry", num=False), _th("team", num=False)]
    heads.append(_th("status", num=False))
    heads += [_th(f"PSNR {s}", num=True) for s in board.splits]
    heads += [_th(x, num=True) for x in ("runtime ms", "FLOPs G", "params M", "score")]
    heads += [_th(f"rank {t.name}", num=True) for t in board.tracks[1:]]
    heads.append(_th("note", num=False))
    return "<tr>" + "".join(heads) + "</tr>"


def html_text(board: Board) -> str:
    rows = "\n".join(_row(e, board) for e in board.entries)
    better = "higher" if board.higher_is_better else "lower"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{for_html(board.title)}</title>
<style>{CSS}</style></head>
<body>
<h1>{for_html(board.title)}</h1>
<p class="meta">Ruleset {for_html(board.ruleset)} {for_html(board.ruleset_version)};
{len(board.entries)} submissions; the main-track score is {better} is better.
Click a column header to sort, an entry for its report.</p>
<table id="board" class="sortable"><thead>{_header(board)}</thead>
<tbody>
{rows}
</tbody></table>
<h2>Runtime versus PSNR</h2>
{scatter_svg(board)}
<script>{JS}</script>
</body></html>
"""
