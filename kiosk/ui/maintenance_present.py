"""Maintenance mode's wording and entry arithmetic: pure functions, no Kivy, testable anywhere.

The PIN pad and the staff menu call these; keeping them here lets a unit test check a masked PIN,
a refund amount typed on the keypad, or the lockout message without a window.
"""

from __future__ import annotations

from kiosk.core.money import format_yuan, parse_yuan
from kiosk.i18n import t
from kiosk.maintenance.pins import MAX_PIN_DIGITS, MIN_PIN_DIGITS
from kiosk.maintenance.roles import Action, Role
from kiosk.ui.controller_api import UnlockAnswer

#: the longest PIN the pad takes, and the shortest it submits: exactly what HQ lets a staff PIN be
#: (``kiosk.maintenance.pins``), so every PIN HQ issued can be typed and no shorter one costs a try
PIN_MAX_LEN = MAX_PIN_DIGITS
PIN_MIN_LEN = MIN_PIN_DIGITS
#: the largest refund the keypad takes, in yuan digits before the point (a typo guard, not a limit:
#: the staff actions service checks the order's own total)
AMOUNT_MAX_WHOLE_DIGITS = 6


def pin_mask(pin: str) -> str:
    """One dot per digit typed: the PIN itself is never on screen."""
    return "●" * len(pin)


def pin_key(pin: str, key: str) -> str:
    """The PIN after one keypad press: a digit appends (up to ``PIN_MAX_LEN``), "clear" empties."""
    if key == "clear":
        return ""
    if key.isdigit() and len(key) == 1 and len(pin) < PIN_MAX_LEN:
        return pin + key
    return pin


def unlock_text(answer: UnlockAnswer, language: str) -> str:
    """What the PIN pad says after an attempt, in the staff member's language."""
    if answer.ok:
        return ""
    if answer.refused_payment:
        return t("maint.refused_payment", language)
    if answer.locked_out:
        return t("maint.locked_out", language)
    if answer.wait_s > 0:
        return t("maint.wait", language, seconds=max(1, round(answer.wait_s)))
    return t("maint.wrong_pin", language)


def role_label(role: Role, language: str) -> str:
    return t(f"maint.role.{role.value}", language)


def action_label(action: Action, language: str) -> str:
    return t(f"maint.action.{action.value}", language)


def amount_key(text: str, key: str) -> str:
    """The refund amount (yuan, as typed) after one keypad press: digits, one ".", two decimals."""
    if key == "clear":
        return ""
    whole, dot, part = text.partition(".")
    if key == ".":
        return text if dot else (text or "0") + "."
    if not (key.isdigit() and len(key) == 1):
        return text
    if dot:
        return text if len(part) >= 2 else text + key
    if whole == "0":
        return key
    return text if len(whole) >= AMOUNT_MAX_WHOLE_DIGITS else text + key


def amount_fen(text: str) -> int | None:
    """Typed yuan as integer fen; "" means the whole order (None). Raises ValueError for 0 or junk."""
    if not text:
        return None
    fen = parse_yuan(text.rstrip(".") or "0")
    if fen <= 0:
        raise ValueError("a refund must be more than ¥0.00; leave the amount empty to refund the whole order")
    return fen


def amount_text(text: str, language: str) -> str:
    """The amount line under the keypad: the typed amount, or "whole order" when none is typed."""
    try:
        fen = amount_fen(text)
    except ValueError:
        return t("maint.amount_invalid", language)
    return t("maint.amount_all", language) if fen is None else format_yuan(fen)
