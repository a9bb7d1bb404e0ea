"""The leaderboard page in a real headless Chromium: sorting by a header click, the plot.

Marked ``browser``: skips without chromium or websocket-client, unless ``ESR_REQUIRE`` names
``browser`` (CI that installed them): then it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from esr_validator.batch.page import html_text
from tests import batch_support as bs
from tests.cdp import Page, chromium

pytestmark = pytest.mark.browser

FIRST_COLUMN = "[...document.querySelectorAll('#board tbody tr')].map(r => r.cells[1].textContent)"


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    chromium()
    html = tmp_path / "leaderboard.html"
    html.write_text(html_text(bs.sample_board()))
    opened = Page(html.as_uri(), tmp_path / "profile")
    try:
        yield opened
    finally:
        opened.close()


def _header(page: Page, label: str) -> str:
    index = page.eval(
        f"[...document.querySelectorAll('#board th')].findIndex(t => t.textContent === '{label}')"
    )
    assert index >= 0, label
    return f"#board th:nth-child({index + 1})"


def test_clicking_a_header_sorts_the_rows(page: Page) -> None:
    by_rank = ["team21", "team22", "team23", "team24", "team25"]
    assert page.eval(FIRST_COLUMN) == by_rank
    params = _header(page, "params M")
    page.click(params)
    page.wait_for(f"document.querySelector('{params}').getAttribute('aria-sort') === 'ascending'")
    # By parameters, smallest first; the failed entry has none and goes last.
    assert page.eval(FIRST_COLUMN) == ["team24", "team22", "team21", "team23", "team25"]
    page.click(params)
    page.wait_for(f"document.querySelector('{params}').getAttribute('aria-sort') === 'descending'")
    assert page.eval(FIRST_COLUMN) == ["team23", "team21", "team22", "team24", "team25"]
    page.click(_header(page, "team"))
    assert page.eval(FIRST_COLUMN) == by_rank  # by team name; the one without a name last
    assert page.eval("document.querySelectorAll('#board th[aria-sort]').length") == 1


def test_the_scatter_plot_renders(page: Page) -> None:
    assert page.eval("document.querySelectorAll('#scatter circle').length") == 4
    sizes = page.eval(
        "[...document.querySelectorAll('#scatter circle')]"
        ".map(c => c.getBoundingClientRect().width)"
    )
    assert all(s > 0 for s in sizes)
    links = page.eval(
        "[...document.querySelectorAll('#scatter a')].map(a => a.getAttribute('href'))"
    )
    assert links == [f"reports/team2{i}.json" for i in range(1, 5)]
    # Faster entries lie further left.
    xs = page.eval(
        "[...document.querySelectorAll('#scatter circle')].map(c => +c.getAttribute('cx'))"
    )
    assert xs == sorted(xs)
