"""No clipped text and no small buttons at any supported size, in either language (issue 12).

GIVEN the real KioskApp with the FakeController, its window resized in-process under Xvfb through
      800x480, 1024x600, 1280x800 and 1920x1080, landscape and portrait (tests/ui/ui_clip_main.py)
WHEN  every customer screen is put up in zh_CN and en: attract (and with no products), the cart
      (empty, full of long English names and a five-figure total, the cancel question, "still
      there?"), pay in each stage (show the code, charging, password, checking, declined), printing,
      done (receipt, e-receipt QR), help (printer, e-receipt QR), recovering, the PIN pad and the
      staff menu; and again in large-text mode on the small screens
THEN  clipcheck finds no label shortened ("..."), cut (lines dropped), spilling out of its box or
      off the window, and no button under 9 mm on that size's display.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import run_tour

pytestmark = pytest.mark.ui

SCENES = 27
#: one Kivy process per glass, turned both ways; large text on the small screens
RUNS: dict[str, tuple[str, ...]] = {
    "7in-800x480": ("--sizes", "800x480,480x800"),
    "7in-1024x600": ("--sizes", "1024x600,600x1024"),
    "10in-1280x800": ("--sizes", "1280x800,800x1280"),
    "15in-1920x1080": ("--sizes", "1920x1080,1080x1920"),
    "large-text": ("--sizes", "800x480,1024x600,480x800", "--large-text"),
}


def run(display: str, tmp: pytest.TempPathFactory, name: str) -> dict[str, Any]:
    tour = run_tour(display, tmp.mktemp(name), "ui_clip_main.py", *RUNS[name])
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    return tour.result


def readable(problems: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{p['size']} {p['lang']} {p['scene']}: {p['kind']} {p['widget']} {p['text']!r} ({p['detail']})"
        for p in problems[:40]
    )


@pytest.mark.parametrize("name", list(RUNS))
def test_no_text_is_clipped_and_every_button_is_9_mm(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    result = run(xvfb_display, tmp_path_factory, name)
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
    if name == "large-text":
        obs = result["obs"]
        assert obs["size_after"] == pytest.approx(obs["size_before"] * 1.3)
        assert obs["large_in_cart"] is True
        assert obs["large_for_next"] is False
        assert obs["size_for_next"] == pytest.approx(obs["size_before"])
