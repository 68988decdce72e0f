"""What the cart screen shows of promotions and members, as plain values (testable without Kivy).

Every amount goes through ``money``, the customer's locale format (``kiosk.core.money.format_money``).
"""

from __future__ import annotations

from kiosk.core.checkout import Checkout
from kiosk.core.members import mask_name
from kiosk.core.money import Fen, format_money
from kiosk.core.pricing import PricedCart
from kiosk.i18n import t


def money(fen: Fen, language: str) -> str:
    return format_money(fen, language)


def discount_rows(priced: PricedCart, language: str) -> list[dict[str, str]]:
    """One row per discount: the promotion's name in the customer's language and −¥x.xx."""
    return [
        {"name": d.name(language), "amount_text": money(-d.amount_fen, language)} for d in priced.discounts
    ]


def saved_text(priced: PricedCart, language: str) -> str:
    """ "You save ¥x.xx" under the discounts; "" when nothing is taken off."""
    if priced.discount_fen <= 0:
        return ""
    return t("promo.saved", language, amount=money(priced.discount_fen, language))


def member_text(state: Checkout, language: str) -> str:
    """ "Member: 王*明" on the cart while a member is signed in; "" otherwise. The name is masked
    (``members.mask_name``): the cart is on a screen the next person in the queue can read."""
    if state.member is None:
        return ""
    return t("member.signed_in", language, name=mask_name(state.member.name))


def keypad_shown(digits: str) -> str:
    """The member keypad's display: what was typed, the middle four digits hidden once there are
    eleven (138****5678), so a passer-by cannot read a whole number off the screen."""
    if len(digits) <= 3:
        return digits
    if len(digits) <= 7:
        return digits[:3] + "*" * (len(digits) - 3)
    return digits[:3] + "****" + digits[7:]
