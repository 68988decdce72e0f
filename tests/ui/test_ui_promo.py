"""Promotions on the cart and the member sign-in under Xvfb, driven by touch (tests/ui/ui_promo_main.py).

GIVEN the real KioskApp with the FakeController running a multi-buy and a spend-off
WHEN  a customer taps three waters and chips, switches language and pays
THEN  each discount shows as its own line (name in the customer's language, -¥x.xx, not clipped),
      "you save" shows the sum, and the pay and done screens ask for the total after discounts;
AND   with members enabled, the cart's member button opens the member screen (the camera's picture
      and a phone keypad): it refuses an unknown number, masks the number typed, signs the member in
      (the cart again, the name masked on it, the member price applied) and the next customer starts
      signed out; Back keeps the cart; a payment code shown to its camera is refused as not a member
      code, the member QR signs in; "still there?" asks over it and no answer ends the sale; without
      members enabled, no member button shows.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import TourRun, run_tour

pytestmark = pytest.mark.ui


def run(display: str, tmp: pytest.TempPathFactory, script: str, *size: str) -> dict[str, Any]:
    tour: TourRun = run_tour(display, tmp.mktemp(script), "ui_promo_main.py", "--script", script, *size)
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    obs: dict[str, Any] = tour.result["obs"]
    return obs


@pytest.mark.parametrize("size", [("800", "480"), ("1024", "600")])
def test_discount_lines_show_and_the_customer_pays_the_total_after_them(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory, size: tuple[str, str]
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "discounts", "--width", size[0], "--height", size[1])
    names = {"zh_CN": ["农夫山泉 三瓶5元", "满10元减1元"], "en": ["3 Nongfu waters for ¥5", "¥1 off ¥10"]}
    for lang in ("zh_CN", "en"):
        view = obs[f"cart_{lang}"]
        assert [r["name"] for r in view["rows"]] == names[lang]
        assert [r["amount"] for r in view["rows"]] == ["-¥1.00", "-¥1.00"]
        assert all(r["fits"] and r["on_screen"] for r in view["rows"]), view["rows"]
        assert view["saved"] == {"zh_CN": "已优惠 ¥2.00", "en": "You save ¥2.00"}[lang]
        assert view["saved_fits"]
        assert view["total"] == "¥11.50"  # 3 x 2.00 + 7.50 = 13.50, less 2.00
        assert "¥11.50" in view["pay"]
    assert obs["order_total_fen"] == 1150
    assert obs["pay_total"] == "¥11.50"
    assert obs["done_total"] == "¥11.50"


def test_member_screen_keypad_signs_a_member_in_for_one_sale(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "member")
    assert obs["opened"]["showing"] and obs["opened"]["display"] == "请输入 11 位手机号"
    assert obs["opened"]["notice"] == "" and not obs["opened"]["sign_in_enabled"]
    assert obs["unknown"]["showing"] and obs["unknown"]["notice"] == "未找到该会员，请检查手机号"
    assert obs["unknown"]["display"] == "139****0000"
    assert not obs["ten_digits"]["sign_in_enabled"]
    assert obs["ten_digits"]["display"] == "138****567"
    assert obs["eleven_digits"]["display"] == "138****5678" and obs["eleven_digits"]["sign_in_enabled"]
    assert obs["eleven_digits"]["display_fits"]
    assert obs["eleven_digits"]["keys_min_h"] >= 34  # 9 mm at the 96 dpi of the virtual screen
    # HQ slow to answer: the screen says so with the spinner, and Sign in waits (before, nothing showed)
    checking = obs["checking"]
    assert checking["hint"] == "正在查询会员…" and checking["spinner"]
    assert not checking["sign_in_enabled"] and checking["display"] == "138****5678"
    signed = obs["signed_in"]
    assert not signed["button"]
    assert "会员：王*明" in signed["items_line"] and "王小明" not in signed["items_line"]
    # the member price (a members-only 10% off the chips) applies once signed in, not before
    assert [r["name"] for r in obs["before"]["rows"]] == []
    assert [r["name"] for r in signed["cart"]["rows"]] == ["会员 薯片9折"]
    assert signed["cart"]["total"] == "¥6.75"  # 7.50 less 0.75
    assert signed["display_after"] == "请输入 11 位手机号"  # the number is not kept
    assert "Member: 王*明" in obs["items_line_en"]
    assert obs["next_customer"] == {"member": False, "member_text": "", "button": True}
    assert obs["asked"] == [["13900000000", ""], ["13812345678", ""]]


def test_member_screen_back_payment_code_member_qr_and_still_there(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    obs = run(xvfb_display, tmp_path_factory, "member_qr")
    assert obs["back"] == {"items": 2, "member": False}
    assert obs["reopened_display"] == "请输入 11 位手机号"  # Back forgot the digits typed
    refused = obs["payment_code"]
    assert refused["view"]["showing"] and refused["order"] is None and refused["phase"] == "cart"
    assert refused["view"]["notice"] == "这不是会员码，请出示会员二维码或输入手机号"
    assert "会员：王*明" in obs["qr_signed_in"]
    assert obs["kept"] == [True, "1391"]  # "continue" keeps the member screen and what was typed
    assert obs["timed_out"] == {"state": True, "digits": ""}
    assert obs["next_customer"] == {"display": "请输入 11 位手机号", "notice": ""}
    assert obs["asked"] == [["", "KM1000000123457"]]


def test_without_members_enabled_there_is_no_member_button(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert run(xvfb_display, tmp_path_factory, "hidden")["button"] is False
