"""Untrusted text made safe to draw: one normalisation, then each reporter's own escaping.

Team and model names, zip names, paths and messages (which quote the entry's exceptions and
source) come from submissions. Before any reporter draws them, :func:`clean` removes what
could change how the output is read rather than what it says:

- line structure: CR, LF, NEL, VT, FF, U+2028/U+2029 split a CSV row for some readers, add
  rows to a Markdown table, forge a line in a terminal or a log;
- terminal control: ESC (ANSI sequences that recolour, move the cursor or retitle the
  window), BEL, backspace, DEL, and every other C0 and C1 control;
- bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F,
  U+061C), which display text in another order than it is stored ("Trojan Source").

Line breaks and tabs become one space; every other such character becomes a visible
``\\xNN``/``\\uNNNN`` escape, so a reader sees that something was there. Then each format
escapes its own markup: :func:`for_terminal` (rich markup), :func:`for_markdown`,
:func:`for_html`, :func:`for_csv` (whose formula guard runs on the normalised text, so a
leading CR cannot hide a ``=``).
"""

from __future__ import annotations

import html
import re

from rich.markup import escape as _rich_escape

_SPACES = "\t\n\r\x0b\x0c\x85\u2028\u2029"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f" + _BIDI + "]"
)  # after the spaces are replaced: C0, DEL, C1, bidi
_SPACE_RUN = re.compile("[" + _SPACES + "]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")
_FORMULA_START = ("=", "+", "-", "@")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object, *, multiline: bool = False) -> str:
    """``text`` as one line (or, with ``multiline``, lines split at LF only), with every
    control and bidi character made visible or, for line breaks and tabs, a space."""
    value = "" if text is None else str(text)
    if multiline:
        lines = value.replace("\r\n", "\n").split("\n")
        return "\n".join(clean(line) for line in lines)
    value = _SPACE_RUN.sub(" ", value)
    return _CONTROL.sub(_visible, value)


def for_terminal(text: object, *, multiline: bool = False) -> str:
    """Safe inside rich markup: no control sequences, ``[`` cannot open a tag."""
    return _rich_escape(clean(text, multiline=multiline))


def for_markdown(text: object) -> str:
    """One Markdown table cell or heading: one line, every special character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean(text))


def for_html(text: object) -> str:
    return html.escape(clean(text))


def for_csv(value: object) -> str:
    """One CSV cell: normalised first, then quoted with ``'`` if a spreadsheet would run it."""
    text = clean(value)
    if text.lstrip().startswith(_FORMULA_START) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
