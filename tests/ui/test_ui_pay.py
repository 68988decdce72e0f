"""The pay screen, the thank-you screen and "still there?" under Xvfb, driven by touch events.

GIVEN the real KioskApp with the FakeController (an injected clock for the timers; a password payment
      approved only when the script opens its gate)
WHEN  a customer pays with a code that needs the password, has a code declined in English at
      800x480 and 1024x600, and leaves the cart and the pay screen alone
THEN  the pay screen says "enter your password on your phone" in both languages while the gateway
      waits for it; the decline notice shows whole inside its box; the fading thank-you screen never
      shows an empty sale; the cart asks "still there?" (continue keeps it, no answer clears it); an
      unpaid pay screen asks too and then cancels its order; a payment in flight is never asked;
      the preview's next frame follows what its redraws cost (2 a second when slow, 10 when fast).
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import TourRun, run_tour

pytestmark = pytest.mark.ui

SIZES = [(800, 480), (1024, 600)]


def run(display: str, tmp: pytest.TempPathFactory, script: str, *args: str) -> dict[str, Any]:
    tour: TourRun = run_tour(display, tmp.mktemp(script), "ui_pay_main.py", "--script", script, *args)
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    obs: dict[str, Any] = tour.result["obs"]
    return obs


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def password(
    request: pytest.FixtureRequest, xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    w, h = request.param
    return run(xvfb_display, tmp_path_factory, "password", "--width", str(w), "--height", str(h))


def test_a_password_payment_asks_for_the_password_in_both_languages(password: dict[str, Any]) -> None:
    assert password["zh"][0] == "请在手机上输入支付密码"
    assert password["en"][0] == "Enter your password on your phone"
    for label in password["en_fit"]:
        assert label["fits"] and label["whole"] and label["on_screen"], label


def test_the_thank_you_screen_never_flashes_an_empty_sale(password: dict[str, Any]) -> None:
    paid, has_receipt = password["done_before"]
    assert paid.endswith("¥2.00") and has_receipt
    assert password["fade"], "the fade out was not seen"
    for paid, has_receipt in password["fade"]:
        assert paid.endswith("¥2.00") and has_receipt, password["fade"]
    # once faded out, the last customer's sale is forgotten
    assert password["done_after"][0].endswith("¥0.00") and not password["done_after"][1]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_english_decline_message_is_not_cut_off(
    width: int, height: int, xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    notice = run(xvfb_display, tmp_path_factory, "decline", "--width", str(width), "--height", str(height))[
        "notice"
    ]
    assert notice["text"] == "Payment declined; please try another way to pay"
    assert notice["fits"] and notice["whole"] and notice["on_screen"], notice


def test_still_there(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    obs = run(xvfb_display, tmp_path_factory, "still")
    assert obs["cart_question"] == ["还在吗？", "19 秒后将清空购物车"]
    assert obs["kept"] == ["cart", 1]
    assert obs["cleared"] == ["attract", 0]
    assert obs["pay_question"] == [
        "Still there?",
        "This payment will be cancelled and your cart cleared in 19 s",
    ]
    assert obs["cancelled"] is True
    assert obs["in_flight"] == ["paying", True, False]


def test_the_preview_rate_follows_what_its_redraws_cost(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from kiosk.ui import present

    obs = run(xvfb_display, tmp_path_factory, "preview")
    assert obs["timed"] and all(obs["timed"]), obs  # the redraws it caused were timed
    assert obs["slow"] == present.PREVIEW_INTERVAL_MAX_S  # 300 ms a redraw: 2 frames a second
    assert obs["fast"] == present.PREVIEW_INTERVAL_MIN_S  # 1 ms a redraw: 10 frames a second
