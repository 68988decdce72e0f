"""FitLabel's broken-word check (kiosk.ui.wrapping): a line cut inside a Latin word or a number is
wrong; a break at a space, after a hyphen or beside a Chinese character is right."""

from __future__ import annotations

import pytest

from kiosk.ui.wrapping import breaks_a_word


@pytest.mark.parametrize(
    ("text", "lines", "broken"),
    [
        ("Coca-Cola 330ml", ["Coca-Co", "la 330ml"], True),
        ("¥12.00", ["¥12.0", "0"], True),
        ("Cancel", ["Cance", "l"], True),
        ("https://hq.example.com", ["https://hq.exam", "ple.com"], True),
        ("Coca-Cola 330ml", ["Coca-Cola", "330ml"], False),  # at the space
        ("Coca-Cola 330ml", ["Coca-", "Cola 330ml"], False),  # after the hyphen
        ("请向工作人员出示付款码", ["请向工作人员", "出示付款码"], False),  # Chinese breaks anywhere
        ("便利店Corner", ["便利店", "Corner"], False),  # beside a Chinese character
        ("one line", ["one line"], False),
        ("two\nlines", ["two", "lines"], False),  # the newline was used up between them
        ("shortened text", ["shorte..."], False),  # not the text: shortening is reported elsewhere
        ("", [], False),
    ],
)
def test_breaks_a_word(text: str, lines: list[str], broken: bool) -> None:
    assert breaks_a_word(text, lines) is broken
