"""Checking a staff badge offline with HQ's public key (the badge format is in ``hq.staff``).

A badge is ``KB1.<payload>.<signature>``, both base64url without padding; the signature is
Ed25519 over the payload's bytes. A badge unlocks when its signature is HQ's, the time is between
its issue (less ``skew_s``, for a kiosk clock a little behind) and its expiry, the account it names
is active here with the same role, and its nonce was never used on this kiosk. Pure: the clock is
injected, and the store is asked about the nonce only after everything else passed.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

PREFIX = "KB1"
#: a badge longer than this is not one of HQ's (and is not decoded)
MAX_BADGE_CHARS = 512
#: a badge issued this far in the kiosk's future is still taken (the two clocks differ a little)
DEFAULT_SKEW_S = 300
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class BadgeRefusal(enum.StrEnum):
    MALFORMED = "malformed"
    NO_KEY = "no_key"  # the kiosk has not received HQ's badge key yet
    SIGNATURE = "signature"
    NOT_YET = "not_yet"
    EXPIRED = "expired"


class BadgeError(ValueError):
    def __init__(self, reason: BadgeRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class BadgeClaims:
    staff_id: int
    role: str
    issued: float
    expires: float
    nonce: str

    @property
    def expires_at(self) -> datetime:
        """The expiry as naive UTC, the form the store keeps."""
        return datetime.fromtimestamp(self.expires, UTC).replace(tzinfo=None)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(payload: Any) -> BadgeClaims:
    if not isinstance(payload, dict):
        raise BadgeError(BadgeRefusal.MALFORMED)
    sid, role, iat, exp, nonce = (payload.get(k) for k in ("sid", "role", "iat", "exp", "n"))
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (sid, iat, exp))
    if not ints or not isinstance(role, str) or not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
        raise BadgeError(BadgeRefusal.MALFORMED)
    return BadgeClaims(int(sid), role, float(iat), float(exp), nonce)  # type: ignore[arg-type]


def verify_badge(text: str, public_key_b64: str, now: float, skew_s: float = DEFAULT_SKEW_S) -> BadgeClaims:
    """The badge's claims, or ``BadgeError`` saying why not. ``now`` is Unix seconds."""
    text = text.strip()
    parts = text.split(".")
    if len(text) > MAX_BADGE_CHARS or len(parts) != 3 or parts[0] != PREFIX:
        raise BadgeError(BadgeRefusal.MALFORMED)
    if not all(_B64URL.fullmatch(part) for part in parts[1:]):
        raise BadgeError(BadgeRefusal.MALFORMED)
    if not public_key_b64:
        raise BadgeError(BadgeRefusal.NO_KEY)
    try:
        body = _unb64(parts[1])
        signature = _unb64(parts[2])
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64, validate=True))
    except (binascii.Error, ValueError):
        raise BadgeError(BadgeRefusal.MALFORMED) from None
    try:
        key.verify(signature, body)
    except InvalidSignature:
        raise BadgeError(BadgeRefusal.SIGNATURE) from None
    try:
        claims = _claims(json.loads(body))
    except ValueError:
        raise BadgeError(BadgeRefusal.MALFORMED) from None
    if now < claims.issued - skew_s:
        raise BadgeError(BadgeRefusal.NOT_YET)
    if now >= claims.expires:
        raise BadgeError(BadgeRefusal.EXPIRED)
    return claims
