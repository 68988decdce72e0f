"""The catalog answer's staff accounts and badge key as the kiosk checks them (docs/sync-protocol.md
§5): well-formed rows pass, anything else is refused before it reaches the store."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.ports import HqError, StaffItem
from kiosk.sync.hq_client import check_catalog

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
KEY = "A" * 43 + "="


def reply(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": "snapshot",
        "since": 0,
        "version": 3,
        "products": [],
        "settings": {},
        "staff": [{"id": 1, "name": "ana", "role": "manager", "pin_hash": HASH, "active": True}],
        "badge_public_key": KEY,
    }
    return {**base, **changes}


def test_staff_and_the_badge_key_come_through() -> None:
    update = check_catalog(reply())
    assert update.staff == (StaffItem(1, "ana", "manager", HASH, True),)
    assert update.badge_public_key == KEY


def test_an_answer_of_an_older_hq_without_staff_still_applies() -> None:
    update = check_catalog({"kind": "delta", "since": 1, "version": 2})
    assert update.staff == () and update.badge_public_key == ""


@pytest.mark.parametrize(
    "changes",
    [
        {"role": "owner"},
        {"pin_hash": "135790"},  # never a PIN in the clear
        {"pin_hash": "$2b$12$bcryptbcryptbcrypt"},
        {"id": 0},
        {"name": ""},
        {"active": "yes"},
        {"pin_hash": ""},  # an active account must come with its hash
    ],
)
def test_a_bad_staff_row_is_refused(changes: dict[str, Any]) -> None:
    row = {"id": 1, "name": "ana", "role": "manager", "pin_hash": HASH, "active": True, **changes}
    with pytest.raises(HqError):
        check_catalog(reply(staff=[row]))


def test_an_account_to_drop_comes_without_a_hash() -> None:
    row = {"id": 1, "name": "ana", "role": "manager", "pin_hash": "", "active": False}
    assert check_catalog(reply(staff=[row])).staff == (StaffItem(1, "ana", "manager", "", False),)


def test_a_duplicate_account_or_a_bad_key_is_refused() -> None:
    row = {"id": 1, "name": "ana", "role": "manager", "pin_hash": HASH, "active": True}
    with pytest.raises(HqError):
        check_catalog(reply(staff=[row, {**row, "name": "other"}]))
    for key in ("not base64!", "A" * 44, 42):
        with pytest.raises(HqError):
            check_catalog(reply(badge_public_key=key))
