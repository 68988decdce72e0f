"""Members as the checkout sees them: who signed in, and the phone number rules of the sign-in keypad.

This is the seam for the members release: the kiosk asks a ``kiosk.ports.MemberDirectory`` for a
member by phone number or member QR; the checkout keeps the member for one sale only (every new sale
starts signed out). A phone number is never kept or logged in full: ``mask_phone`` gives 138****5678.

A member QR is ``KM1`` and 12 digits (``kiosk_common.codes.member_code``); ``member_code_rule`` is
the ``kiosk.core.codes.CodeRule`` that claims it, so the classifier tells it from every payment
code and product barcode. The name a directory returns shows on a screen others can see, so the
cart shows it masked (``mask_name``: 王*明).
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.core.codes import Classified, CodeKind
from kiosk_common.codes import is_member_code

#: a mainland China mobile number: 11 digits, starting 13..19
PHONE_DIGITS = 11


class MemberInputError(ValueError):
    """What the customer typed is not a mainland mobile number."""


@dataclass(frozen=True, slots=True)
class Member:
    """A signed-in member: ``name`` is what the cart shows (as the directory gives it)."""

    member_id: str
    name: str
    phone_masked: str = ""


def normalise_phone(text: str) -> str:
    """The 11 digits of a mainland mobile number; spaces and dashes are dropped, a +86/86 prefix too."""
    digits = "".join(ch for ch in text if ch not in " -")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == PHONE_DIGITS + 2:
        digits = digits[2:]
    if not digits.isascii() or not digits.isdigit() or len(digits) != PHONE_DIGITS:
        raise MemberInputError("a mobile number has 11 digits")
    if digits[0] != "1" or digits[1] not in "3456789":
        raise MemberInputError("a mainland mobile number starts with 13 to 19")
    return digits


def mask_phone(text: str) -> str:
    """138****5678: the first three and last four digits; anything shorter shows as stars only."""
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def member_code_rule(text: str, symbology: str | None) -> Classified | None:
    """The ``CodeRule`` for member QR codes: a whole, checked ``KM1`` code is MEMBER, the rest passes.

    Any symbology may carry one (a QR on a phone, a Code 128 on a printed card); the prefix is
    letters, which no payment code or product barcode has, so the classes cannot overlap."""
    return Classified(CodeKind.MEMBER, text) if is_member_code(text) else None


def mask_name(name: str) -> str:
    """王*明, A***e: the first and last character of a member's name, the rest as stars (a two-letter
    name keeps its first only). The cart is on a screen the next person in the queue can read."""
    name = name.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
