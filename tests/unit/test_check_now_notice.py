"""HQ's signed check-now notice (kiosk_common.signing): the one construction HQ signs and the kiosk checks."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from kiosk_common import signing

SECRET = bytes(range(32))
KIOSK = "kiosk-001"
NOW = 1_900_000_000


def test_the_signature_is_the_documented_construction() -> None:
    """docs/sync-protocol.md §3: HMAC-SHA256(secret, "ota-check-now\\n<kiosk>\\n<issued_at>\\n<nonce>")."""
    nonce = "0123456789abcdef0123456789abcdef"
    notice = signing.check_now_notice(SECRET, KIOSK, NOW, nonce)
    message = f"ota-check-now\n{KIOSK}\n{NOW}\n{nonce}".encode()
    assert notice.signature == hmac.new(SECRET, message, hashlib.sha256).hexdigest()
    assert notice.as_json() == {"kiosk_id": KIOSK, "issued_at": NOW, "nonce": nonce, "sig": notice.signature}
    # not the signature of any request: the first line differs (signing.canonical starts with SCHEME)
    assert signing.canonical("GET", "/", NOW, nonce, b"").split(b"\n")[0] != b"ota-check-now"


def test_each_notice_has_a_new_nonce() -> None:
    first, second = (signing.check_now_notice(SECRET, KIOSK, NOW) for _ in range(2))
    assert first.nonce != second.nonce and first.signature != second.signature


@pytest.mark.parametrize(
    ("kiosk", "secret", "hq_now", "reason"),
    [
        (KIOSK, SECRET, NOW, ""),
        (KIOSK, SECRET, NOW + signing.CHECK_NOW_TTL_S, ""),
        (KIOSK, SECRET, NOW + signing.CHECK_NOW_TTL_S + 1, "expired"),
        (KIOSK, SECRET, NOW - signing.CHECK_NOW_FUTURE_S, ""),
        (KIOSK, SECRET, NOW - signing.CHECK_NOW_FUTURE_S - 1, "future"),
        ("kiosk-002", SECRET, NOW, "kiosk"),
        (KIOSK, bytes(32), NOW, "signature"),
    ],
)
def test_a_kiosk_acts_only_on_its_own_fresh_genuine_notice(
    kiosk: str, secret: bytes, hq_now: float, reason: str
) -> None:
    notice = signing.check_now_notice(SECRET, KIOSK, NOW)
    assert signing.check_now_refusal(secret, kiosk, notice, hq_now) == reason


def test_a_forged_notice_is_refused_before_its_time_is_looked_at() -> None:
    notice = signing.check_now_notice(SECRET, KIOSK, NOW)
    forged = signing.CheckNowNotice(KIOSK, NOW - 10_000, notice.nonce, notice.signature)
    assert signing.check_now_refusal(SECRET, KIOSK, forged, NOW) == "signature"


@pytest.mark.parametrize(
    "raw",
    [
        None,
        [],
        "x",
        {"kiosk_id": KIOSK, "issued_at": NOW, "nonce": "0" * 32},
        {"kiosk_id": KIOSK, "issued_at": True, "nonce": "0" * 32, "sig": "0" * 64},
        {"kiosk_id": KIOSK, "issued_at": -1, "nonce": "0" * 32, "sig": "0" * 64},
        {"kiosk_id": KIOSK, "issued_at": NOW, "nonce": "0" * 31, "sig": "0" * 64},
        {"kiosk_id": KIOSK, "issued_at": NOW, "nonce": "0" * 32, "sig": "A" * 64},
        {"kiosk_id": "k/../x", "issued_at": NOW, "nonce": "0" * 32, "sig": "0" * 64},
        {"kiosk_id": "k" * 65, "issued_at": NOW, "nonce": "0" * 32, "sig": "0" * 64},
    ],
)
def test_a_malformed_notice_is_not_parsed(raw: object) -> None:
    assert signing.parse_check_now(raw) is None


def test_a_well_formed_notice_is_parsed_as_sent() -> None:
    notice = signing.check_now_notice(SECRET, KIOSK, NOW)
    assert signing.parse_check_now(dict(notice.as_json())) == notice
