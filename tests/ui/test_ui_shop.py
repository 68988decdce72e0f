"""The shopping screens under Xvfb, driven by touch events and a hand scanner (tests/ui/ui_shop_main.py).

GIVEN the real KioskApp with the FakeController at 800×480 (the smallest supported screen; English
      also at 1024×600), a good
      picture for COLA330 and one that will not load for W550
WHEN  a customer scans on the attract screen, scans an unknown barcode, searches on the keypad by
      English name and by barcode digits, opens an item's detail, steps the quantity to 3 and adds,
      scans while the search and while the detail are open, then pays — in Chinese and in English
THEN  every scan adds with a beep and a "+1 name" toast over whatever is open, the unknown barcode is
      said, the search finds by name and digits, the detail adds 3 as one line, pictures show (or the
      initial does), no label in the search panel or the detail is clipped, and the sale is paid.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import TourRun, run_tour

from kiosk.core.checkout import Notice
from kiosk.i18n import notice_text, t

pytestmark = pytest.mark.ui

NAMES = {
    "zh_CN": {"W550": "农夫山泉 饮用天然水 550ml", "COLA330": "可口可乐 330ml"},
    "en": {"W550": "Nongfu Spring water 550ml", "COLA330": "Coca-Cola 330ml"},
}


def run(display: str, tmp: pytest.TempPathFactory, lang: str, width: str, height: str) -> dict[str, Any]:
    tour: TourRun = run_tour(
        display,
        tmp.mktemp(f"shop-{lang}"),
        "ui_shop_main.py",
        "--lang",
        lang,
        "--width",
        width,
        "--height",
        height,
    )
    failure = tour.result.get("failure")
    assert tour.returncode == 0, (
        f"{failure}; observed: {tour.result.get('obs')}" if failure else tour.log[-3000:]
    )
    obs: dict[str, Any] = tour.result["obs"]
    return obs


@pytest.mark.parametrize(
    ("lang", "width", "height"), [("zh_CN", "800", "480"), ("en", "800", "480"), ("en", "1024", "600")]
)
def test_a_purchase_by_scan_search_and_detail(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, lang: str, width: str, height: str
) -> None:
    obs = run(xvfb_display, tmp_path_factory, lang, width, height)
    water, cola = NAMES[lang]["W550"], NAMES[lang]["COLA330"]
    # a scan on the attract screen: the sale starts with it, a beep, the toast and the tile flashing
    added_water = t("shop.added", lang, count=1, name=water)
    assert obs["toasts"][0] == {"text": added_water, "searching": False, "detail": False}
    assert obs["flashes"] == ["W550", "W550", "W550", "COLA330"]
    assert obs["attract_scan_beeps"] == [False]
    assert obs["pictures"]["COLA330"] == {
        "image_shown": True,
        "initial_shown": False,
        "initial": "可" if lang == "zh_CN" else "C",
    }
    assert obs["pictures"]["W550"]["initial_shown"] and not obs["pictures"]["W550"]["image_shown"]
    assert obs["unknown_on_screen"]
    # the search: hint, typed, found, counted, nothing clipped
    assert obs["hint"] == t("shop.search_hint", lang)
    assert obs["query"] == "COLA"
    assert obs["results"][0] == "COLA330"
    assert obs["summary"] == t("shop.search_count", lang, count=len(obs["results"]))
    assert obs["search_clipped"] == []
    # the unknown barcode from before the search is not said again there; one during the search is
    assert obs["stale_notice_in_search"] == ""
    assert obs["unknown_in_search"] == notice_text(Notice.UNKNOWN_PRODUCT, lang)
    # a scan while searching: added, the toast over the panel, which stays open
    assert obs["toasts"][1] == {"text": added_water, "searching": True, "detail": False}
    # the detail: both names, the price, 3 chosen, one line of 3 added
    other = "en" if lang == "zh_CN" else "zh_CN"
    assert obs["detail_names"] == [cola, NAMES[other]["COLA330"], "¥3.50"]
    assert obs["add_text"] == t("shop.add", lang, total="¥10.50")
    assert obs["detail_clipped"] == []
    assert obs["toasts"][2] == {"text": added_water, "searching": True, "detail": True}
    added_cola = t("shop.added", lang, count=3, name=cola)
    assert obs["toasts"][3] == {"text": added_cola, "searching": True, "detail": False}
    assert len(obs["toasts"]) == 4
    assert obs["cola_lines"] == 2
    # barcode digits, and the panel follows a language switch at once
    assert obs["digit_results"] == ["COLA330"]
    assert obs["summary_other"] == t("shop.search_count", other, count=1)
    assert obs["paid_lines"] == {"W550": 3, "COLA330": 3}
    assert obs["paid"] == "¥16.50"
