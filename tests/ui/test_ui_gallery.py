"""``make screenshots`` (tests/ui/ui_gallery_main.py): every screen of the GALLERY, each a real
picture, and the cart taken only once the "+1" toast has gone (issue 12).

GIVEN the gallery script at 800x480 in English (the FakeController, the real app under Xvfb)
WHEN  it walks its table: the customer's screens, the fault screens and the staff's PIN pad and menu
THEN  it saves one picture of the window per row, in table order, each of the window's size and
      more than a blank screen; and at the cart's picture the toast of the last add had played to
      its end (the tab bar it covers is readable), the tile's flash over.
"""

from __future__ import annotations

import pytest
from PIL import Image
from ui_harness import distinct_colours, run_tour

pytestmark = pytest.mark.ui

SCREENS = [
    "enrol",
    "recovering",
    "attract",
    "attract-offline",
    "cart",
    "search",
    "item-detail",
    "still-there",
    "member",
    "cancel-confirm",
    "pay",
    "pay-password",
    "printing",
    "done",
    "printer-offer",
    "done-e-receipt",
    "pay-checking",
    "help",
    "help-camera",
    "out-of-service",
    "pin-pad",
    "maintenance-menu",
]


def test_the_gallery_saves_every_screen_and_the_cart_without_the_toast(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = run_tour(
        xvfb_display,
        tmp_path_factory.mktemp("gallery"),
        "ui_gallery_main.py",
        *("--width", "800", "--height", "480", "--language", "en", "--timeout", "120"),
    )
    assert run.returncode == 0, run.result.get("error") or run.log[-3000:]
    assert run.manifest["shots"] == [f"{name}-800x480-en" for name in SCREENS]
    assert run.manifest["screens_not_visited"] == []
    for name in run.manifest["shots"]:
        png = run.out_dir / f"{name}.png"
        with Image.open(png) as img:
            assert img.size == (800, 480)
        assert distinct_colours(png) > 50, name
    toast = run.result["cart_toast"]
    assert toast["added_count"] == 3  # the cart's three taps, each a toast
    assert toast["finished_for"] == 3 and toast["shown"] == 0, toast
    assert toast["flash_sku"] == "", toast
