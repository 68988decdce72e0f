"""Every text colour the customer's screens use, on every background it is drawn on, meets WCAG AA.

The pairs are read off the .kv files (``PAIRS``); ``test_every_text_colour_in_the_kv_files_is_checked``
fails when a .kv file starts using a theme colour for text that no pair here covers, so a new screen's
colours get a line here too. "large" is WCAG's large text (24 px, or 19 px bold): 3:1 is enough.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk.ui import theme as T

UI = Path(__file__).resolve().parents[2] / "kiosk" / "ui"

#: (where, text colour, background, large text?)
PAIRS: list[tuple[str, T.RGBA, T.RGBA, bool]] = [
    ("body text on the page", T.TEXT, T.BACKGROUND, False),
    ("body text on a card", T.TEXT, T.SURFACE, False),
    ("body text on a grey panel", T.TEXT, T.NEUTRAL, False),
    ("body text on the help page", T.TEXT, T.HELP_BG, False),
    ("small print on the page", T.TEXT_MUTED, T.BACKGROUND, False),
    ("small print on a card", T.TEXT_MUTED, T.SURFACE, False),
    ("small print on a grey panel (receipt, staff line)", T.TEXT_MUTED, T.NEUTRAL, False),
    ("small print on the help page", T.TEXT_MUTED, T.HELP_BG, False),
    ("header title", T.TEXT_ON_DARK, T.BRAND, False),
    ("staff header title", T.TEXT_ON_DARK, T.BRAND_DARK, False),
    ("help header title", T.TEXT_ON_DARK, T.HELP_ACCENT, False),
    ("language toggle, unselected, on the header", T.TEXT_ON_DARK, T.over((1, 1, 1, 0.12), T.BRAND), False),
    (
        "language toggle, unselected, on the help header",
        T.TEXT_ON_DARK,
        T.over((1, 1, 1, 0.12), T.HELP_ACCENT),
        False,
    ),
    ("language toggle, selected", T.BRAND, T.TEXT_ON_DARK, False),
    ("primary button", T.TEXT_ON_DARK, T.PRIMARY, False),
    ("primary button, pressed", T.TEXT_ON_DARK, T.PRIMARY_DOWN, False),
    ("greyed primary button (empty cart, no products)", T.TEXT_ON_DARK, T.DISABLED, False),
    ("cancel button", T.DANGER, T.SURFACE, False),
    ("cancel button, pressed", T.DANGER, T.DANGER_SOFT, False),
    ("greyed cancel button", T.DISABLED, T.SURFACE, False),
    ("selected category tab", T.TEXT_ON_DARK, T.BRAND, False),
    ("pressed tab (was dark text on mid-blue, 2.7:1)", T.TEXT, T.SURFACE_DOWN, False),
    ("pressed selected tab", T.TEXT_ON_DARK, T.BRAND_SOFT, False),
    ("price on a product tile", T.BRAND, T.SURFACE, False),
    ("price on a pressed tile", T.BRAND, T.SURFACE_DOWN, False),
    ("quantity badge", T.TEXT_ON_DARK, T.PRIMARY, False),
    ("cart total", T.DANGER, T.SURFACE, False),
    ("amount due on the pay screen", T.DANGER, T.BACKGROUND, True),
    ("paid / printing heading", T.PRIMARY, T.BACKGROUND, False),
    ("charging heading", T.BRAND, T.BACKGROUND, False),
    ("thank-you heading", T.PRIMARY, T.BACKGROUND, True),
    ("notice bar", T.NOTICE_FG, T.NOTICE_BG, False),
    ("recovering hint", T.NOTICE_FG, T.BACKGROUND, False),
    ("help notice", T.HELP_ACCENT, T.HELP_BG, False),
    ("PIN pad error", T.DANGER, T.BACKGROUND, False),
    ("PIN dots", T.BRAND, T.SURFACE, True),
    ("staff message", T.BRAND, T.BACKGROUND, False),
    ("attract subtitle", (1, 1, 1, 0.85), T.BRAND, False),
    ("attract second-language line", (1, 1, 1, 0.7), T.BRAND, False),
    ("attract small print", (1, 1, 1, 0.75), T.BRAND, False),
    ("camera starting", (1, 1, 1, 0.8), T.PREVIEW_BG, False),
    ("demo sample button", T.BRAND, T.SURFACE, False),
]


@pytest.mark.parametrize(("where", "fg", "bg", "large"), PAIRS, ids=[p[0] for p in PAIRS])
def test_text_meets_wcag_aa(where: str, fg: T.RGBA, bg: T.RGBA, large: bool) -> None:
    need = T.CONTRAST_LARGE if large else T.CONTRAST_BODY
    ratio = T.contrast_ratio(fg, bg)
    assert ratio >= need, f"{where}: {ratio:.2f}:1 < {need}:1"


def test_every_text_colour_in_the_kv_files_is_checked() -> None:
    used = set()
    for kv in UI.glob("*.kv"):
        for line in kv.read_text(encoding="utf-8").splitlines():
            if re.match(r"\s*(color|fg):", line):
                used |= set(re.findall(r"theme\.([A-Z_]+)", line))
    checked = {name for name in dir(T) if name.isupper() and any(getattr(T, name) == p[1] for p in PAIRS)}
    assert used, "no text colours found: the kv files moved?"
    assert used <= checked, f"text colours without a contrast check: {sorted(used - checked)}"


def test_the_old_colours_failed_and_the_helpers_agree_with_wcag() -> None:
    """White on the old grey (#AEB6C1) was 2.0:1 and white on the old help orange 3.9:1."""
    assert T.contrast_ratio(T.TEXT_ON_DARK, T.hex_rgba("#AEB6C1")) < 2.1
    assert T.contrast_ratio(T.TEXT_ON_DARK, T.hex_rgba("#C26A00")) < T.CONTRAST_BODY
    assert T.contrast_ratio((0, 0, 0, 1), (1, 1, 1, 1)) == pytest.approx(21.0)
    assert T.contrast_ratio((1, 1, 1, 1), (1, 1, 1, 1)) == pytest.approx(1.0)


def test_nine_millimetres_on_the_supported_displays() -> None:
    # the official 7" Pi touchscreen (800x480): about 133 px per inch, so 9 mm is 48 px
    assert T.min_touch_px(800, 480, 7.0) == 48
    assert T.min_touch_px(480, 800, 7.0) == 48
    assert T.min_touch_px(1024, 600, 7.0) == 61
    assert T.min_touch_px(1024, 600, 7.0) <= T.BUTTON_MIN_H
    with pytest.raises(ValueError, match="positive"):
        T.min_touch_px(800, 480, 0)


def test_large_text_scales_and_normal_text_does_not() -> None:
    assert T.text_scale(False) == 1.0
    assert T.text_scale(True) == T.LARGE_TEXT_SCALE > 1.2
