"""Staff accounts for the kiosks' maintenance mode, HQ's badge key, and the signed staff badges.

A PIN is hashed here with argon2id and only the hash is kept and sent: kiosks check a PIN offline
against the hashes they received with the catalog (docs/sync-protocol.md §5). Every change to an
account takes the next catalog version (``hq.versioning``), so it reaches each kiosk in the same
delta as the catalog, and a disabled account is sent as inactive, not dropped. Every change, and
every badge issued, is written to HQ's own audit (``hq_audit``) in the same transaction, naming the
actor (an admin, or ``cli:<user>`` for ``hq staff``): the CLI and the admin API both come here.

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
from hq.models import HqAudit, Staff, Store, database, utc_now
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


def _audit(actor: str, action: str, name: str, **detail: Any) -> None:
    """One line of HQ's audit; call inside the change's transaction so both or neither are kept."""
    HqAudit.create(actor=actor[:80], action=action, target=name, detail=json.dumps(detail, sort_keys=True))


def add_staff(name: str, role: str, pin: str, stores: list[str], actor: str = "cli") -> StaffInfo:
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
        _audit(actor, "staff.add", name, role=role, stores=codes)
    return _info(row)


def _row(name: str) -> Staff:
    row = Staff.get_or_none(Staff.name == name)
    if row is None:
        raise StaffError("unknown", name=name)
    return row


def disable_staff(name: str, now: datetime | None = None, actor: str = "cli") -> StaffInfo:
    """Disable an account: kiosks drop it at their next catalog pull. Disabling twice is harmless."""
    with database.atomic():
        row = _row(name)
        if row.disabled_at is None:
            row.disabled_at = now or utc_now()
            row.version = next_version()
            row.save()
            _audit(actor, "staff.disable", name)
    return _info(row)


def set_role(name: str, role: str, actor: str = "cli") -> StaffInfo:
    """Give an active account another role; kiosks apply it at their next catalog pull."""
    if role not in ROLES:
        raise StaffError("bad_role", role=role)
    with database.atomic():
        row = _row(name)
        if row.disabled_at is not None:
            raise StaffError("disabled_change", name=name)
        if row.role != role:
            _audit(actor, "staff.role", name, role=role, was=row.role)
            row.role = role
            row.version = next_version()
            row.save()
    return _info(row)


def reset_pin(name: str, pin: str, actor: str = "cli") -> StaffInfo:
    """Give an active account a new PIN (same rules as a new account's; not another active account's):
    the old PIN stops working on each kiosk at its next catalog pull."""
    check_pin(pin)
    pin_hash = pin_hasher().hash(pin)
    with database.atomic():
        row = _row(name)
        if row.disabled_at is not None:
            raise StaffError("disabled_change", name=name)
        others = Staff.select().where(Staff.disabled_at.is_null(), Staff.id != row.id)
        if _pin_taken(pin, list(others)):
            raise StaffError("pin_taken")
        row.pin_hash = pin_hash
        row.version = next_version()
        row.save()
        _audit(actor, "staff.pin", name)
    return _info(row)


def applies_to(info: StaffInfo, store_code: str) -> bool:
    """Whether a kiosk of ``store_code`` receives this account (an empty list means every store)."""
    return not info.stores or store_code in info.stores


def list_staff(store_code: str | None = None) -> list[StaffInfo]:
    """Every account, or those a kiosk of ``store_code`` receives (StaffError for an unknown store)."""
    found = [_info(r) for r in Staff.select().order_by(Staff.name)]
    if store_code is None:
        return found
    if Store.get_or_none(Store.code == store_code) is None:
        raise StaffError("unknown_store", store=store_code)
    return [s for s in found if applies_to(s, store_code)]


def audit_of(name: str) -> list[tuple[datetime, str, str, dict[str, Any]]]:
    """HQ's audit lines for one account, oldest first: (at, actor, action, detail)."""
    rows = HqAudit.select().where(HqAudit.target == name).order_by(HqAudit.id)
    return [(r.at, r.actor, r.action, json.loads(r.detail or "{}")) for r in rows]


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


def make_badge(
    key: Ed25519PrivateKey, name: str, ttl_min: int, now: datetime | None = None, actor: str = "cli"
) -> Badge:
    """A signed badge for an active account, valid ``ttl_min`` minutes from ``now`` (naive UTC).
    Issuing one is audited (its expiry, not its text: the badge is a credential until it expires)."""
    if not 1 <= ttl_min <= MAX_BADGE_TTL_MIN:
        raise StaffError("bad_ttl", ttl=ttl_min, max=MAX_BADGE_TTL_MIN)
    with database.atomic():
        row = _row(name)
        if row.disabled_at is not None:
            raise StaffError("disabled", name=name)
        issued = (now or utc_now()).replace(microsecond=0)
        expires = issued + timedelta(minutes=ttl_min)
        text = sign_badge(key, row.id, row.role, _unix(issued), _unix(expires), secrets.token_hex(16))
        _audit(actor, "staff.badge", name, role=row.role, expires=_unix(expires))
    return Badge(text, row.name, row.role, expires)
