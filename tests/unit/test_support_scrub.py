"""Support-bundle scrubbing removes every kind of secret and keeps what support needs; the restore
decision refuses exactly when unsent sales or refunds would be lost."""

from __future__ import annotations

import json

import pytest

from kiosk.maintenance.backup import Loss, restore_refusal
from kiosk_common.masking import REMOVED, scrub_secrets

HEX_SECRET = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("charging 134567890123456789 now", "134567890123456789"),
        ("alipay 28763443825664394", "28763443825664394"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ('{"Authorization": "Kiosk-HMAC-SHA256 kiosk=k, sig=Zm9v"}', "Zm9v"),
        ("GET /x?sig=deadbeef&ts=1", "deadbeef"),
        ("api_key=Zx81QmT4pL0aWc7v", "Zx81QmT4pL0aWc7v"),
        ('{"secret": "00ff00ff"}', "00ff00ff"),
        ("password: hunter22", "hunter22"),
        ("token=eyJhbGciOi", "eyJhbGciOi"),
        ("manager PIN 482913 accepted", "482913"),
        ("pin=1234", "1234"),
        ("密码 8888", "8888"),
        ("call 13812345678 please", "13812345678"),
        (f"key {HEX_SECRET}", HEX_SECRET),
        ("-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----", "MIIEv"),
    ],
)
def test_each_kind_of_secret_is_removed(text: str, secret: str) -> None:
    assert secret not in scrub_secrets(text)


def test_a_named_secret_is_removed_wherever_and_in_any_case() -> None:
    out = scrub_secrets("short abcd1234 and ABCD1234 glued xabcd1234y", ("abcd1234",))
    assert "abcd1234" not in out.lower()


def test_what_support_needs_stays() -> None:
    text = (
        "2026-12-02T01:53:29Z order K20261124215203ABCDEF key 8f1c2a4e-1d2b-4c3d-9e8f-0a1b2c3d4e5f "
        "total 1990 fen /var/lib/kiosk/kiosk.sqlite3 printer_status=ok"
    )
    assert scrub_secrets(text) == text


def test_json_stays_json() -> None:
    out = scrub_secrets(json.dumps({"api_key": "x" * 32, "id": "k1"}))
    assert json.loads(out) == {"api_key": REMOVED, "id": "k1"}


def test_restore_is_allowed_when_every_unsent_event_is_in_the_backup() -> None:
    assert restore_refusal({"a": "sale", "b": "refund"}, ["a", "b", "c"]) is None
    assert restore_refusal({}, []) is None


def test_restore_is_refused_with_what_would_be_lost() -> None:
    loss = restore_refusal({"a": "sale", "b": "sale", "c": "refund", "d": "sale"}, ["d"])
    assert loss == Loss(sales=2, refunds=1)
