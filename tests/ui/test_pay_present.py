"""What the pay, done and "still there?" views show for a checkout state: pure, no Kivy.

GIVEN a charge the gateway reports as "user paying" (or as not decided)
THEN the pay screen tells the customer to type the password on the phone (or not to pay again),
     in both languages, never "show your payment code";
GIVEN the thank-you screen of a sale, when the checkout has already moved on
THEN the done screen keeps that sale's total and receipt (never "Paid ¥0.00" during its fade).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import Checkout, PayStage, Phase
from kiosk.i18n import t
from kiosk.ui import present

WATER = Product("W", "矿泉水", "Water", 200, None, "drinks")
PAYING = Checkout(phase=Phase.PAYING, cart=Cart().add(WATER), order_id="o1")
CHARGING = replace(PAYING, charging=True)


@pytest.mark.parametrize(
    ("state", "title", "body"),
    [
        (PAYING, "pay.show_code", "pay.how"),
        (CHARGING, "pay.show_code", "pay.charging"),
        (replace(CHARGING, pay_stage=PayStage.USER_PAYING), "pay.enter_password", "pay.enter_password_how"),
        (replace(CHARGING, pay_stage=PayStage.CHECKING), "pay.checking", "pay.checking_how"),
        (replace(PAYING, phase=Phase.PRINTING), "pay.paid", "pay.printing"),
    ],
)
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_pay_prompt_follows_the_gateway(state: Checkout, title: str, body: str, language: str) -> None:
    assert present.pay_prompt(state, language) == present.PayPrompt(t(title, language), t(body, language))


def test_the_password_and_checking_prompts_say_what_the_issue_asks() -> None:
    pw = replace(CHARGING, pay_stage=PayStage.USER_PAYING)
    assert present.pay_prompt(pw, "zh_CN").title == "请在手机上输入支付密码"
    assert present.pay_prompt(pw, "en").title == "Enter your password on your phone"
    checking = replace(CHARGING, pay_stage=PayStage.CHECKING)
    zh = present.pay_prompt(checking, "zh_CN")
    en = present.pay_prompt(checking, "en")
    assert "正在确认您的付款" in zh.title and "请勿重复付款" in zh.body
    assert en.title == "Checking your payment" and "Do not pay again" in en.body


def test_the_done_screen_keeps_its_sale_while_the_next_customer_starts() -> None:
    done = replace(PAYING, phase=Phase.DONE)
    shown = present.done_shown(done, present.SaleShown(), "RECEIPT", "zh_CN")
    assert shown == present.SaleShown("¥2.00", "RECEIPT")
    # the done timer ran out: the checkout is empty, the fading done screen still shows the sale
    assert present.done_shown(Checkout(), shown, "", "zh_CN") == shown
    # the next sale's done screen shows the next sale
    nxt = replace(done, cart=Cart().add(WATER).add(WATER))
    assert present.done_shown(nxt, shown, "R2", "zh_CN") == present.SaleShown("¥4.00", "R2")


def test_the_pay_screen_keeps_its_amount_while_it_fades_out() -> None:
    shown = present.pay_shown(PAYING, present.SaleShown(), "zh_CN")
    assert shown.total_text == "¥2.00"
    assert present.pay_shown(Checkout(), shown, "zh_CN") == shown


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_still_there_counts_down_and_says_what_clearing_means(language: str) -> None:
    assert present.still_there_text(replace(PAYING, phase=Phase.CART), language) == ""
    cart = replace(PAYING, phase=Phase.CART, still_there_s=12)
    assert present.still_there_text(cart, language) == t("still.cart", language, seconds=12)
    pay = replace(PAYING, still_there_s=3)
    assert present.still_there_text(pay, language) == t("still.pay", language, seconds=3)
    assert "3" in present.still_there_text(pay, language)
