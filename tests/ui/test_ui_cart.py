"""The cart screen under Xvfb, driven by touch events (tests/ui/ui_cart_main.py).

GIVEN the real KioskApp with the FakeController, at 800×480 (and 1024×600 for the tab sizes)
WHEN  customers scroll the grid and the category tab bar (finger drags, mouse wheels), pick a
      category, pay or walk away, press Cancel, and a kiosk with no products is touched
THEN  each new customer starts at the grid's first row and the first tab ("全部" whole), every tab's
      label fits it in both languages, the wheel scrolls the tab bar, Cancel (away from Pay) asks
      before it empties the cart, and an empty catalog says so and starts no sale.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import TourRun, run_tour

pytestmark = pytest.mark.ui


def run(display: str, tmp: pytest.TempPathFactory, script: str, *size: str) -> dict[str, Any]:
    tour: TourRun = run_tour(display, tmp.mktemp(script), "ui_cart_main.py", "--script", script, *size)
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    obs: dict[str, Any] = tour.result["obs"]
    return obs


def test_the_next_customer_starts_at_the_first_row_and_the_first_tab(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "reset")
    # the first customer really scrolled, so the checks below are not met by doing nothing
    assert obs["used_grid"]["scroll_y"] < 0.9
    assert obs["used_tabs"]["scroll_x"] > 0.1 and obs["used_tabs"]["category"] != ""
    assert obs["next_grid"] == {"scroll_y": 1.0, "first_row_visible": True}
    assert obs["third_tabs"] == {
        "scroll_x": 0.0,
        "selected": [""],
        "category": "",
        "first_tab_left_in_bar": True,  # "全部" whole, not "部"
    }
    assert obs["third_first_tab_fits"]["text"] == "全部"
    assert obs["third_first_tab_fits"]["fits"]
    # the fourth customer came while the third's fling still sprang back from the bar's end
    assert obs["fourth_spring"] != 0
    assert obs["fourth_tabs"]["scroll_x"] == 0.0 and obs["fourth_tabs"]["first_tab_left_in_bar"], obs[
        "fourth_tabs"
    ]


@pytest.mark.parametrize("size", [("800", "480"), ("1024", "600")])
def test_every_tab_label_fits_and_the_wheel_scrolls_the_tab_bar(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, size: tuple[str, str]
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "fit", "--width", size[0], "--height", size[1])
    for lang in ("zh_CN", "en"):
        tabs = obs[f"tabs_{lang}"]
        assert tabs[0]["text"] == {"zh_CN": "全部", "en": "All"}[lang]
        assert all(tab["fits"] for tab in tabs), tabs
        assert obs[f"first_row_{lang}"]["first_row_visible"]
    if obs["bar_overflows"]:
        assert obs["after_wheel_down"] > 0  # the ordinary vertical wheel moves the sideways bar
        assert obs["after_wheel_up"] == 0
        assert obs["after_tilt"] > 0
        assert obs["after_many"] == 1.0
        assert obs["last_tab_visible"]
    else:
        assert obs["last_tab_visible"]
    if size == ("800", "480"):
        assert obs["bar_overflows"]  # the small screen must exercise the wheel


def test_cancel_is_away_from_pay_and_asks_before_emptying_the_cart(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "cancel")
    assert obs["gap_cancel_pay_px"] >= 100
    assert obs["after_cancel"] == ["cart", 1]  # asked, nothing thrown away
    assert obs["question_zh"] == "清空购物车？"
    assert obs["question_en"] == "Empty the cart?"
    assert obs["phase_after_pay_under"] == "cart"  # the cart underneath takes no touch meanwhile
    assert obs["after_keep"] == ["cart", 1]
    assert obs["question_after_keep"] == ""
    assert obs["after_empty"] == ["attract", 0]
    assert obs["question_on_fresh_cart"] == ""
    assert obs["after_empty_cancel"] == "attract"  # an empty cart has nothing to lose: no question


def test_an_empty_catalog_says_so_and_starts_no_sale(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "empty")
    assert "暂无可售商品" in obs["texts_zh"]
    assert "点击开始" not in obs["texts_zh"] and "Tap to start" not in obs["texts_zh"]
    assert "工作人员：商品目录为空，请从总部同步商品目录" in obs["texts_zh"]
    assert "No products yet" in obs["texts_en"]
    assert "Staff: the catalog is empty; sync the catalog from HQ" in obs["texts_en"]
    assert obs["phase_after_taps"] == ["attract", "attract"]
