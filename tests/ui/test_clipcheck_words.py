"""clipcheck.broken_words: which line breaks cut a word or a number in two (issue 12).

Pure, no window: the lines are given as Kivy would lay them out.
"""

from __future__ import annotations

import pytest
from clipcheck import broken_words


@pytest.mark.parametrize(
    ("text", "lines", "broken"),
    [
        ("¥12.00", ["¥12.0", "0"], ["¥12.0|0"]),
        ("Total ¥1,234.50", ["Total ¥1,23", "4.50"], ["¥1,23|4.50"]),
        ("Wuchang fragrant rice", ["Wuchang frag", "rant rice"], ["frag|rant"]),
        ("Wuchang fragrant rice", ["Wuchang", "fragrant rice"], []),
        ("Wuchang fragrant rice", ["Wuchang ", "fragrant", "rice"], []),
        ("self-checkout", ["self-", "checkout"], []),
        ("请向工作人员出示付款码", ["请向工作", "人员出示", "付款码"], []),
        ("合计¥12.00", ["合计", "¥12.00"], []),
        ("合计¥12.00", ["合计¥1", "2.00"], ["¥1|2.00"]),
        ("one\ntwo", ["one", "two"], []),
        ("Yogurt 205g×12", ["Yogurt 205", "g×12"], ["205|g×12"]),
    ],
)
def test_a_break_inside_a_latin_token_is_found_and_others_are_not(
    text: str, lines: list[str], broken: list[str]
) -> None:
    assert broken_words(text, lines) == broken


def test_a_layout_that_is_not_the_text_is_left_to_the_other_checks() -> None:
    assert broken_words("¥12.00", ["¥12...", "0"]) == []
