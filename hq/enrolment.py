"""One-time enrolment codes: how a kiosk gets its signing secret (docs/sync-protocol.md §1).

An admin makes a code for a store (``hq device enroll-code``, or the admin API); the kiosk sends it
once to ``POST /api/v1/enrol`` and gets its secret back. The code is the only thing the kiosk
brings, so it must be hard to guess, easy to type and read from a screen, and worthless once used
or expired:

- 16 characters from an alphabet without look-alikes (no 0/O, 1/I/L), printed in groups of four:
  31^16, about 79 bits, against an attacker held to a few guesses a minute per address.
- HQ keeps only the SHA-256 of the normalised code, so a copy of the database enrols nothing.
- Redeeming is one conditional UPDATE (not used, not expired) whose row count decides, in the same
  transaction as the enrolment: two kiosks racing with one code cannot both win, and a code is spent
  only if its kiosk got a secret.

A wrong, used and expired code all raise the same ``CodeRefused``, so the answer tells nobody which
codes exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hq.devices import enrol_device, store_by_code, valid_kiosk_id
from hq.models import Device, EnrolCode, Store, database, utc_now

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_CHARS = 16
GROUP = 4
DEFAULT_TTL_MINUTES = 15
#: a code that lives longer than a day is a standing password, not a one-time code
MAX_TTL_MINUTES = 24 * 60


class CodeRefused(Exception):
    """The code is wrong, used or expired: one answer for all three."""


class KioskIdMismatch(ValueError):
    """The code names one kiosk id and the kiosk sent another."""

    def __init__(self, named: str, sent: str) -> None:
        super().__init__(f"the code is for kiosk {named!r}, not {sent!r}")
        self.named = named
        self.sent = sent


class KioskIdRequired(ValueError):
    """The code names no kiosk id, and the kiosk sent none."""


@dataclass(frozen=True, slots=True)
class NewCode:
    """A code as made: the text exists only here (and on the admin's screen); HQ keeps its hash."""

    code: str
    store_code: str
    kiosk_id: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What the kiosk is told at enrolment; ``secret`` is the only copy that will ever exist."""

    kiosk_id: str
    store_code: str
    store_name: str
    secret: bytes
    generation: int


def new_code_text() -> str:
    """A fresh random code, grouped for reading aloud: ``K7QF-2M9X-PA3H-H8RD``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + GROUP] for i in range(0, CODE_CHARS, GROUP))


def normalise(code: str) -> str | None:
    """The code as hashed (upper case, no dashes or spaces), or None if it cannot be one of ours."""
    text = "".join(code.split()).replace("-", "").upper()
    if len(text) != CODE_CHARS or any(c not in ALPHABET for c in text):
        return None
    return text


def code_hash(normalised: str) -> str:
    return hashlib.sha256(normalised.encode("ascii")).hexdigest()


def make_code(
    store_code: str,
    kiosk_id: str = "",
    ttl_minutes: int = DEFAULT_TTL_MINUTES,
    now: datetime | None = None,
) -> NewCode:
    """Make a code that enrols one kiosk into ``store_code`` until ``now + ttl_minutes``.

    ``kiosk_id`` empty lets the kiosk name itself; given, the code enrols that id only (the way to
    re-enrol a revoked or replaced kiosk under its old id). Raises ``UnknownStoreError`` or
    ``ValueError`` (bad kiosk id or ttl). ``now`` is injected by tests to make codes already expired.
    """
    if kiosk_id and not valid_kiosk_id(kiosk_id):
        raise ValueError(f"kiosk id {kiosk_id!r} is not 1-64 letters, digits, '.', '_' or '-'")
    if not 1 <= ttl_minutes <= MAX_TTL_MINUTES:
        raise ValueError(f"the code's lifetime is 1 to {MAX_TTL_MINUTES} minutes, not {ttl_minutes}")
    moment = now or utc_now()
    expires = moment + timedelta(minutes=ttl_minutes)
    with database.atomic():
        store = store_by_code(store_code)
        text = new_code_text()
        normalised = normalise(text)
        assert normalised is not None
        EnrolCode.create(
            code_sha256=code_hash(normalised),
            store=store,
            kiosk_id=kiosk_id,
            created_at=moment,
            expires_at=expires,
        )
    return NewCode(text, store.code, kiosk_id, expires)


def redeem(
    key: bytes,
    code: str,
    kiosk_id: str | None,
    app_version: str | None = None,
    now: datetime | None = None,
) -> Enrolled:
    """Spend ``code`` and enrol the kiosk it is for; return its new secret.

    Raises ``CodeRefused`` (wrong, used or expired), ``KioskIdMismatch``, ``KioskIdRequired``,
    ``ValueError`` (a kiosk id that is not allowed) or ``hq.devices.DeviceInOtherStoreError``; in
    every case nothing is written and the code stays as it was. Must run inside a connection.
    """
    normalised = normalise(code)
    if normalised is None:
        raise CodeRefused
    moment = now or utc_now()
    with database.atomic():
        row = EnrolCode.get_or_none(EnrolCode.code_sha256 == code_hash(normalised))
        if row is None or row.used_at is not None or row.expires_at <= moment:
            raise CodeRefused
        if row.kiosk_id and kiosk_id and kiosk_id != row.kiosk_id:
            raise KioskIdMismatch(row.kiosk_id, kiosk_id)
        target = row.kiosk_id or kiosk_id
        if not target:
            raise KioskIdRequired
        if not valid_kiosk_id(target):
            raise ValueError(f"kiosk id {target!r} is not 1-64 letters, digits, '.', '_' or '-'")
        spent = (
            EnrolCode.update(used_at=moment, used_by=target)
            .where(
                EnrolCode.id == row.id,
                EnrolCode.used_at.is_null(),
                EnrolCode.expires_at > moment,
            )
            .execute()
        )
        if spent != 1:  # another request spent it between our read and this write
            raise CodeRefused
        store: Store = row.store
        secret = enrol_device(key, store, target, moment)
        device: Device = Device.get(Device.kiosk_id == target)
        if app_version is not None:
            Device.update(app_version=app_version).where(Device.id == device.id).execute()
    return Enrolled(target, store.code, store.name, secret, device.generation)
