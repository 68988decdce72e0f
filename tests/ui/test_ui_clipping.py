"""No clipped text and no small buttons at any supported size, in either language (issue 12).

GIVEN the real KioskApp with the FakeController, its window resized in-process under Xvfb through
      800x480, 1024x600, 1280x800 and 1920x1080, landscape and portrait (tests/ui/ui_clip_main.py)
WHEN  every customer screen is put up in zh_CN and en: attract (and with no products), the cart
      (empty, full of long English names and a five-figure total, the cancel question, "still
      there?"), the member screen (fresh, a number typed and "not a member code", "still there?"
      over it), pay in each stage (show the code, charging, password, checking, declined), printing,
      done (receipt, e-receipt QR), help (printer, e-receipt QR), recovering, the PIN pad and the
      staff menu; and again in large-text mode on the small screens
THEN  clipcheck finds no label shortened ("..."), cut (lines dropped), spilling out of its box or
      off the window, and no button under 9 mm on that size's display.

The matrix is one Kivy process per size, and its sizes are spread over this file and
test_ui_clipping_*.py (one file per glass, and one for large text): ``--dist loadfile`` runs a file
on one worker, so one file holding the whole matrix made the suite's longest tail.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import run_tour

pytestmark = [pytest.mark.ui, pytest.mark.slow]

SCENES = 33
#: every run of the matrix, in this file and the others: one Kivy process per size; large text on
#: the small screens. A size here that no file runs fails test_every_run_is_in_a_file.
RUNS: dict[str, tuple[str, ...]] = {
    "7in-800x480": ("--sizes", "800x480"),
    "7in-480x800": ("--sizes", "480x800"),
    "7in-1024x600": ("--sizes", "1024x600"),
    "7in-600x1024": ("--sizes", "600x1024"),
    "10in-1280x800": ("--sizes", "1280x800"),
    "10in-800x1280": ("--sizes", "800x1280"),
    "15in-1920x1080": ("--sizes", "1920x1080"),
    "15in-1080x1920": ("--sizes", "1080x1920"),
    "large-text-800x480": ("--sizes", "800x480", "--large-text"),
    "large-text-1024x600": ("--sizes", "1024x600", "--large-text"),
    "large-text-480x800": ("--sizes", "480x800", "--large-text"),
}
#: the runs this file makes; the other files name theirs the same way
HERE = ("7in-800x480", "7in-480x800")


def readable(problems: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{p['size']} {p['lang']} {p['scene']}: {p['kind']} {p['widget']} {p['text']!r} ({p['detail']})"
        for p in problems[:40]
    )


def check_run(display: str, tmp: pytest.TempPathFactory, name: str) -> None:
    """Run one size of the matrix in its own Kivy process and check everything it found."""
    tour = run_tour(display, tmp.mktemp(name), "ui_clip_main.py", *RUNS[name])
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    result = tour.result
    # the checker finds each kind of fault it looks for (so an empty list below means something)
    assert result["obs"]["selftest"] == [
        "lines dropped",
        "off the window",
        "overflows its box",
        "shortened",
        "small touch target",
        "word broken",
    ]
    clean = result["obs"]["selftest_clean"]
    assert clean["wrapped"] == [True, True, True], "the right-wrap labels must wrap to mean anything"
    assert clean["problems"] == [], clean["problems"]
    sizes = RUNS[name][1].split(",")
    checked: dict[str, list[int]] = result["checked"]
    assert len(checked) == SCENES * 2 * len(sizes)
    assert all(labels > 0 for labels, _buttons in checked.values()), checked
    assert all(buttons > 0 for key, (_l, buttons) in checked.items() if " cart_full" in key)
    assert result["problems"] == [], readable(result["problems"])
    if "--large-text" in RUNS[name]:
        obs = result["obs"]
        assert obs["size_after"] == pytest.approx(obs["size_before"] * 1.3)
        assert obs["large_in_cart"] is True
        assert obs["large_for_next"] is False
        assert obs["size_for_next"] == pytest.approx(obs["size_before"])


@pytest.mark.parametrize("name", HERE)
def test_no_text_is_clipped_and_every_button_is_9_mm(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    check_run(xvfb_display, tmp_path_factory, name)


def test_every_run_is_in_a_file() -> None:
    """Each size of the matrix is run by exactly one of the clipping files."""
    import test_ui_clipping_7in_1024
    import test_ui_clipping_10in
    import test_ui_clipping_15in
    import test_ui_clipping_large_text

    made = [
        *HERE,
        *test_ui_clipping_7in_1024.HERE,
        *test_ui_clipping_10in.HERE,
        *test_ui_clipping_15in.HERE,
        *test_ui_clipping_large_text.HERE,
    ]
    assert sorted(made) == sorted(RUNS)
