"""The PIN pad's and refund keypad's arithmetic and wording (no Kivy)."""

from __future__ import annotations

import pytest

from kiosk.maintenance.pins import MAX_PIN_DIGITS, MIN_PIN_DIGITS
from kiosk.maintenance.roles import Action, Role
from kiosk.ui.controller_api import UnlockAnswer
from kiosk.ui.maintenance_present import (
    PIN_MAX_LEN,
    PIN_MIN_LEN,
    action_label,
    amount_fen,
    amount_key,
    amount_text,
    pin_key,
    pin_mask,
    role_label,
    unlock_text,
)


def type_keys(keys: list[str], step: object, start: str = "") -> str:
    text = start
    for key in keys:
        text = step(text, key)  # type: ignore[operator]
    return text


def test_the_pin_is_masked_capped_and_cleared() -> None:
    pin = type_keys(list("12345678901234"), pin_key)
    assert pin == "123456789012"[:PIN_MAX_LEN]
    assert pin_mask(pin) == "●" * len(pin)
    assert "1" not in pin_mask(pin)
    assert pin_key(pin, "clear") == ""
    assert pin_key("12", "x") == "12"


def test_every_pin_hq_can_issue_fits_the_pad() -> None:
    """HQ issues PINs of 6 to 12 digits; the pad once stopped at 8, locking out longer PINs."""
    for digits in range(MIN_PIN_DIGITS, MAX_PIN_DIGITS + 1):
        pin = "9" * digits
        assert type_keys(list(pin), pin_key) == pin
    assert PIN_MIN_LEN == MIN_PIN_DIGITS


@pytest.mark.parametrize(
    ("answer", "zh", "en"),
    [
        (UnlockAnswer(ok=False), "PIN 不正确，请重试", "Wrong PIN, try again"),
        (
            UnlockAnswer(ok=False, wait_s=4.2),
            "尝试次数过多，请 4 秒后再试",
            "Too many tries: try again in 4 s",
        ),
        (
            UnlockAnswer(ok=False, wait_s=0.2),
            "尝试次数过多，请 1 秒后再试",
            "Too many tries: try again in 1 s",
        ),
        (UnlockAnswer(ok=False, locked_out=True, wait_s=5), "错误次数过多，已锁定。请联系 IT 解锁", None),
        (UnlockAnswer(ok=False, refused_payment=True), "正在付款中，付款完成后再进入维护模式", None),
        (UnlockAnswer(ok=True, role=Role.CASHIER, name="王芳"), "", ""),
    ],
)
def test_unlock_answers_are_worded_for_staff(answer: UnlockAnswer, zh: str, en: str | None) -> None:
    assert unlock_text(answer, "zh_CN") == zh
    if en is not None:
        assert unlock_text(answer, "en") == en


@pytest.mark.parametrize(
    ("keys", "typed", "fen"),
    [
        ([], "", None),
        (["3", ".", "5"], "3.5", 350),
        (["1", "2", ".", "3", "4", "5"], "12.34", 1234),  # a third decimal is ignored
        ([".", "5"], "0.5", 50),
        (["0", "0", "7"], "7", 700),  # no leading zeros
        (["1", ".", "."], "1.", 100),  # one point only
        (["9"] * 9, "999999", 99_999_900),  # at most six digits of yuan
        (["4", "clear"], "", None),
    ],
)
def test_the_refund_keypad_types_yuan_and_converts_to_integer_fen(
    keys: list[str], typed: str, fen: int | None
) -> None:
    text = type_keys(keys, amount_key)
    assert text == typed
    assert amount_fen(text) == fen


def test_a_zero_refund_is_refused_and_empty_means_the_whole_order() -> None:
    with pytest.raises(ValueError, match="whole order"):
        amount_fen("0.0")
    assert amount_text("0.0", "en") == "Not a valid amount"
    assert amount_text("", "en") == "Whole order"
    assert amount_text("3.5", "zh_CN") == "¥3.50"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_every_action_and_role_has_a_label(language: str) -> None:
    assert all(action_label(a, language).strip() for a in Action)
    assert all(role_label(r, language).strip() for r in Role)
