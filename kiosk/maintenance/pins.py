"""Checking a staff PIN against the argon2id hashes HQ sent (the PIN itself never leaves HQ's CLI).

argon2 is deliberately slow (a few hundred milliseconds on a Raspberry Pi per hash); the kiosk's
attempt limiter (``kiosk.maintenance.attempts``), not this, is what stops guessing at the screen.
"""

from __future__ import annotations

from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk.maintenance.port import StaffAccount

MIN_PIN_DIGITS = 6
MAX_PIN_DIGITS = 12

_HASHER = PasswordHasher()


def well_formed(pin: str) -> bool:
    """6 to 12 ASCII digits: anything else is no PIN HQ could have made, and costs no hash."""
    return pin.isascii() and pin.isdigit() and MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS


def pin_matches(pin_hash: str, pin: str) -> bool:
    """True when ``pin`` is the PIN ``pin_hash`` was made from; a malformed hash matches nothing.
    The hash's own parameters are used, whatever HQ chose."""
    try:
        return _HASHER.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def find_staff(accounts: Iterable[StaffAccount], pin: str) -> StaffAccount | None:
    """The account whose PIN this is (HQ refuses two active accounts with one PIN), or None."""
    if not well_formed(pin):
        return None
    for account in accounts:
        if pin_matches(account.pin_hash, pin):
            return account
    return None
