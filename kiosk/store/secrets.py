"""The per-device key that turns payment codes into digests no one can reverse from a copy of the store.

A payment code is 16-24 digits, and the store keeps its first and last four for staff. An unkeyed
SHA-256 of the rest can be brute-forced in minutes (ten unknown digits). So the store keeps
HMAC-SHA256(key, SHA-256(code)) instead, with a random 256-bit key in a file beside the store (mode
0600), outside the database: a leaked or backed-up store file alone gives nothing away. The inner
SHA-256 lets the schema migration re-key the digests older releases stored without ever having the
codes.

Losing the key only means codes seen before can no longer be recognised as used; payment codes live
about a minute, so the kiosk makes a new key and carries on (it says so in the log).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

import peewee as pw

from kiosk.store.models import store_file
from kiosk_common.enrolment import fingerprint_text
from kiosk_common.files import write_new_private

log = logging.getLogger(__name__)

KEY_SUFFIX = ".key"


def key_path(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + KEY_SUFFIX)


def sha256_hex(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def keyed(key: bytes, sha256_hexdigest: str) -> str:
    return hmac.new(key, sha256_hexdigest.encode("ascii"), hashlib.sha256).hexdigest()


def code_digest(key: bytes, code: str) -> str:
    """What the store keeps of a payment code: enough to refuse it twice, nothing to recover it from."""
    return keyed(key, sha256_hex(code))


def _create(path: Path) -> bytes:
    key = secrets.token_bytes(32)
    write_new_private(path, key.hex().encode("ascii") + b"\n")
    return key


def load_code_key(db: pw.Database) -> bytes:
    """The key of the store ``db`` (created 0600 on first use); a throw-away one for an in-memory store."""
    file = store_file(db)
    if file is None:
        return secrets.token_bytes(32)
    path = key_path(file)
    try:
        text = path.read_text("ascii").strip()
        key = bytes.fromhex(text)
        if len(key) != 32:
            raise ValueError(f"{len(key)} bytes, expected 32")
        return key
    except FileNotFoundError:
        pass
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        # A damaged key is as good as none; keep the damaged file for support and make a new one.
        aside = path.with_name(path.name + ".damaged")
        log.warning("payment-code key %s unreadable (%s); kept as %s, making a new one", path, exc, aside)
        os.replace(path, aside)
    try:
        return _create(path)
    except FileExistsError:  # another process of this kiosk made it a moment ago
        return bytes.fromhex(path.read_text("ascii").strip())


#: what the fingerprint is an HMAC of: never a payment code's digest (those are HMACs of 64 hex digits)
_FINGERPRINT_LABEL = b"kiosk device fingerprint v1"


def device_fingerprint(key: bytes) -> str:
    """The device key's fingerprint, as the enrolment screen shows it (``0123-4567-89ab-cdef``).

    A keyed hash of a fixed label, so it names this device (its data partition) without telling
    anything about the key: the key itself is never shown or logged. A re-flashed card makes a new
    key, so a new fingerprint: the installer's note says which enrolment belongs to which card.
    """
    return fingerprint_text(hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest())
