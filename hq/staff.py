"""Staff accounts for the kiosks' maintenance mode, HQ's badge key, and the signed staff badges.

A PIN is hashed here with argon2id and only the hash is kept and sent: kiosks check a PIN offline
against the hashes they received with the catalog (docs/sync-protocol.md §5). Every change to an
account takes the next catalog version (``hq.versioning``), so it reaches each kiosk in the same
delta as the catalog, and a disabled account is sent as inactive, not dropped.

A badge is ``KB1.<payload>.<signature>`` (both base64url, no padding): the payload is compact JSON
``{"sid", "role", "iat", "exp", "n"}`` (staff id, role, issued and expiry in Unix seconds, a random
nonce) and the signature is Ed25519 over the payload's bytes by HQ's badge key. The key is 32 random
bytes in a file beside HQ's identity file (``hq-badge.key``, 0600, made on first use by
``hq.identity.load_or_create_key``); kiosks hold only its public half.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.identity import load_or_create_key
from hq.models import Staff, Store, database, utc_now
from hq.versioning import next_version

ROLES = ("cashier", "manager", "it")
STAFF_NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PIN_DIGITS = 6
MAX_PIN_DIGITS = 12
BADGE_PREFIX = "KB1"
BADGE_KEY_FILE = "hq-badge.key"
DEFAULT_BADGE_TTL_MIN = 480
MAX_BADGE_TTL_MIN = 7 * 24 * 60


class StaffError(ValueError):
    """A staff command that cannot be done; ``code`` names why (the CLI words it in both languages)."""

    def __init__(self, code: str, **details: Any) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@cache
def pin_hasher() -> PasswordHasher:
    """argon2id at OWASP's smaller setting (19 MiB, 2 passes): a kiosk checks a PIN against every
    account of its store on a Raspberry Pi, so each check must stay well under a second, and the
    kiosk's own attempt limiter, not the hash, is what stops guessing at the screen."""
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def weak_pin(pin: str) -> bool:
    """A PIN anyone would try first: one digit repeated, or a run up or down (123456, 987654)."""
    digits = [int(c) for c in pin]
    steps = {b - a for a, b in itertools.pairwise(digits)}
    return len(steps) == 1 and steps <= {-1, 0, 1}


def check_pin(pin: str) -> None:
    if not pin.isascii() or not pin.isdigit():
        raise StaffError("pin_digits", min=MIN_PIN_DIGITS, max=MAX_PIN_DIGITS)
    if not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
        raise StaffError("pin_digits", min=MIN_PIN_DIGITS, max=MAX_PIN_DIGITS)
    if weak_pin(pin):
        raise StaffError("pin_weak")


def _pin_taken(pin: str, rows: list[Staff]) -> bool:
    """A PIN alone says who is unlocking, so two active accounts may not share one."""
    for row in rows:
        try:
            if pin_hasher().verify(row.pin_hash, pin):
                return True
        except (VerificationError, InvalidHashError):
            continue
    return False


@dataclass(frozen=True, slots=True)
class StaffInfo:
    id: int
    name: str
    role: str
    stores: tuple[str, ...]  # empty: every store
    created_at: datetime
    disabled_at: datetime | None


def _stores_of(row: Staff) -> tuple[str, ...]:
    return tuple(json.loads(row.stores)) if row.stores else ()


def _info(row: Staff) -> StaffInfo:
    return StaffInfo(row.id, row.name, row.role, _stores_of(row), row.created_at, row.disabled_at)


def add_staff(name: str, role: str, pin: str, stores: list[str]) -> StaffInfo:
    """Add an account; StaffError for a bad name, role or PIN, an unknown store, or a name taken."""
    if not STAFF_NAME_RE.fullmatch(name):
        raise StaffError("bad_name", name=name)
    if role not in ROLES:
        raise StaffError("bad_role", role=role)
    check_pin(pin)
    pin_hash = pin_hasher().hash(pin)
    with database.atomic():
        if Staff.get_or_none(Staff.name == name) is not None:
            raise StaffError("exists", name=name)
        codes = sorted(set(stores))
        known = {s.code for s in Store.select(Store.code).where(Store.code.in_(codes))} if codes else set()
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise StaffError("unknown_store", store=", ".join(unknown))
        if _pin_taken(pin, list(Staff.select().where(Staff.disabled_at.is_null()))):
            raise StaffError("pin_taken")
        row = Staff.create(
            name=name,
            role=role,
            pin_hash=pin_hash,
            stores=json.dumps(codes) if codes else "",
            version=next_version(),
        )
    return _info(row)


def disable_staff(name: str, now: datetime | None = None) -> StaffInfo:
    """Disable an account: kiosks drop it at their next catalog pull. Disabling twice is harmless."""
    with database.atomic():
        row = Staff.get_or_none(Staff.name == name)
        if row is None:
            raise StaffError("unknown", name=name)
        if row.disabled_at is None:
            row.disabled_at = now or utc_now()
            row.version = next_version()
            row.save()
    return _info(row)


def list_staff() -> list[StaffInfo]:
    return [_info(r) for r in Staff.select().order_by(Staff.name)]


def staff_for_store(store_code: str, since: int, snapshot: bool) -> list[dict[str, Any]]:
    """The accounts a kiosk of ``store_code`` receives: in a snapshot every account active there; in a
    delta every account changed after ``since``, inactive (and without its hash, so another store's
    kiosks never hold it) when it is disabled or does not apply to this store."""
    query = Staff.select().order_by(Staff.id)
    query = query.where(Staff.disabled_at.is_null()) if snapshot else query.where(Staff.version > since)
    out: list[dict[str, Any]] = []
    for row in query:
        stores = _stores_of(row)
        active = row.disabled_at is None and (not stores or store_code in stores)
        if snapshot and not active:
            continue
        # an inactive row only tells the kiosk to drop the account: no hash for it to keep
        pin_hash = row.pin_hash if active else ""
        out.append({"id": row.id, "name": row.name, "role": row.role, "pin_hash": pin_hash, "active": active})
    return out


# --- badges --------------------------------------------------------------------------------------------


def badge_key_path(identity_file: Path) -> Path:
    return identity_file.parent / BADGE_KEY_FILE


def load_badge_key(identity_file: Path) -> Ed25519PrivateKey:
    """HQ's badge signing key, made beside the identity file on first use (``KeyFileError`` if not)."""
    return Ed25519PrivateKey.from_private_bytes(load_or_create_key(badge_key_path(identity_file)))


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The public half as kiosks receive it: the 32 raw bytes, standard base64."""
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class Badge:
    text: str
    name: str
    role: str
    expires_at: datetime


def _unix(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def sign_badge(
    key: Ed25519PrivateKey, staff_id: int, role: str, issued: int, expires: int, nonce: str
) -> str:
    """The badge text for these claims (Unix seconds): ``KB1.<payload>.<signature>``."""
    payload = {"sid": staff_id, "role": role, "iat": issued, "exp": expires, "n": nonce}
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("ascii")
    return f"{BADGE_PREFIX}.{_b64url(body)}.{_b64url(key.sign(body))}"


def make_badge(key: Ed25519PrivateKey, name: str, ttl_min: int, now: datetime | None = None) -> Badge:
    """A signed badge for an active account, valid ``ttl_min`` minutes from ``now`` (naive UTC)."""
    if not 1 <= ttl_min <= MAX_BADGE_TTL_MIN:
        raise StaffError("bad_ttl", ttl=ttl_min, max=MAX_BADGE_TTL_MIN)
    row = Staff.get_or_none(Staff.name == name)
    if row is None:
        raise StaffError("unknown", name=name)
    if row.disabled_at is not None:
        raise StaffError("disabled", name=name)
    issued = (now or utc_now()).replace(microsecond=0)
    expires = issued + timedelta(minutes=ttl_min)
    text = sign_badge(key, row.id, row.role, _unix(issued), _unix(expires), secrets.token_hex(16))
    return Badge(text, row.name, row.role, expires)
