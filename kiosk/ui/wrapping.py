"""Where Kivy's wrapping broke a word: the check ``FitLabel`` makes before it settles on a size.

Kivy wraps at spaces, but a word wider than the box is cut wherever the box ends ("Coca-Co" over
"la", "¥12.0" over "0"): the customer reads two wrong words. A label that can still shrink should
rather shrink. Breaks that are right: at a space or newline (used up between the lines), after a
hyphen, and next to a Chinese, Japanese or Korean character (those lines may break between any two).
Pure: no Kivy, so the unit tests call it with plain lists of lines.
"""

from __future__ import annotations

import unicodedata

_HYPHENS = "-\u2010\u2011"


def _breaks_anywhere(ch: str) -> bool:
    """Wide (CJK) characters and fullwidth punctuation: a line may end before or after them."""
    return ch.isspace() or unicodedata.east_asian_width(ch) in ("W", "F")


def breaks_a_word(text: str, lines: list[str]) -> bool:
    """Did laying ``text`` out as ``lines`` end a line inside a word?

    Each line is looked up in the text after the previous one; a line that starts exactly where the
    previous ended, with no space between, was cut there. Lines that are not the text (shortened,
    dropped) are not this function's concern and answer False.
    """
    pos = 0
    prev_end: int | None = None
    for line in lines:
        body = line.strip()
        if not body:
            continue
        at = text.find(body, pos)
        if at < 0:
            return False
        if prev_end is not None and at == prev_end and at > 0:
            before, after = text[at - 1], text[at]
            if not (_breaks_anywhere(before) or _breaks_anywhere(after) or before in _HYPHENS):
                return True
        pos = prev_end = at + len(body)
    return False
