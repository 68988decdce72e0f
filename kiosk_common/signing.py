"""Signed kiosk requests: the one definition both the kiosk (signs) and HQ (verifies) use.

A kiosk holds a secret that HQ gave it at enrolment. Every request carries

    Authorization: Kiosk-HMAC-SHA256 kiosk=<id>, ts=<unix seconds>, nonce=<32 hex>, sig=<64 hex>

where ``sig`` is HMAC-SHA256(secret, canonical) over the method, the path with its query, the time,
the nonce and the SHA-256 of the body (docs/sync-protocol.md §2). HQ accepts a time within
``window_s`` of its own clock and each nonce once per kiosk, so a captured request can be neither
altered nor replayed. Nothing here keeps state or does I/O: the nonce store lives at HQ.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

SCHEME = "Kiosk-HMAC-SHA256"
#: the secret is 32 random bytes, written as 64 hex digits in the kiosk's credentials file
SECRET_BYTES = 32
NONCE_HEX = 32
_HEADER_RE = re.compile(
    r"^Kiosk-HMAC-SHA256 kiosk=(?P<kiosk>[A-Za-z0-9._-]{1,64}), ts=(?P<ts>\d{1,12}), "
    r"nonce=(?P<nonce>[0-9a-f]{32}), sig=(?P<sig>[0-9a-f]{64})$"
)
#: the header is never longer than this; a longer one is refused before the regex looks at it
MAX_HEADER_CHARS = 256


@dataclass(frozen=True, slots=True)
class SignedHeader:
    """The parts of one Authorization header, parsed but not yet verified."""

    kiosk_id: str
    timestamp: int
    nonce: str
    signature: str


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical(method: str, path_qs: str, timestamp: int, nonce: str, body: bytes) -> bytes:
    """The bytes that are signed: one field per line, the body by its hash so it is read once."""
    return "\n".join((SCHEME, method.upper(), path_qs, str(timestamp), nonce, body_sha256(body))).encode(
        "utf-8"
    )


def signature(secret: bytes, method: str, path_qs: str, timestamp: int, nonce: str, body: bytes) -> str:
    return hmac.new(secret, canonical(method, path_qs, timestamp, nonce, body), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_hex(NONCE_HEX // 2)


def authorization(
    kiosk_id: str,
    secret: bytes,
    method: str,
    path_qs: str,
    body: bytes,
    timestamp: int,
    nonce: str | None = None,
) -> str:
    """The Authorization header value for one request. ``timestamp`` is the kiosk's idea of HQ's time."""
    nonce = nonce or new_nonce()
    sig = signature(secret, method, path_qs, timestamp, nonce, body)
    return f"{SCHEME} kiosk={kiosk_id}, ts={timestamp}, nonce={nonce}, sig={sig}"


def parse_authorization(value: str | None) -> SignedHeader | None:
    """The parts of a well-formed header, or None (missing, another scheme, malformed)."""
    if not value or len(value) > MAX_HEADER_CHARS:
        return None
    match = _HEADER_RE.fullmatch(value)
    if match is None:
        return None
    return SignedHeader(match["kiosk"], int(match["ts"]), match["nonce"], match["sig"])


def signature_ok(secret: bytes, header: SignedHeader, method: str, path_qs: str, body: bytes) -> bool:
    """Whether the header's signature is the one ``secret`` makes for this request (constant time)."""
    expected = signature(secret, method, path_qs, header.timestamp, header.nonce, body)
    return hmac.compare_digest(expected, header.signature)


def receipt_token(secret: bytes, order_id: str) -> str:
    """The unguessable part of a sale's e-receipt URL, which the kiosk makes offline and HQ checks.

    128 bits of HMAC under the kiosk's secret, so only that kiosk and HQ can make it, and knowing one
    receipt's URL tells nothing of another's.
    """
    digest = hmac.new(secret, b"receipt\n" + order_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]


def receipt_path(kiosk_id: str, order_id: str, token: str) -> str:
    """The path of an e-receipt at HQ (docs/sync-protocol.md §7)."""
    return f"/r/{kiosk_id}/{order_id}/{token}"


# --- HQ's signed "check for an update now" (docs/sync-protocol.md §3, docs/ota.md) -----------------

#: the first line of what a check-now notice signs: no request, receipt or other notice signs the same
CHECK_NOW_PURPOSE = "ota-check-now"
#: a notice older than this (by HQ's clock, as the kiosk knows it) is refused: a captured one soon dies
CHECK_NOW_TTL_S = 600
#: a notice may claim to be this much younger than the kiosk's idea of HQ's clock (round-trip slack)
CHECK_NOW_FUTURE_S = 60
_NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
_SIG_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class CheckNowNotice:
    """HQ asks one kiosk to have its update agent ask HQ at once. HQ signs it with that kiosk's own
    secret, so nobody on the network can make a fleet hammer HQ or the update mirror."""

    kiosk_id: str
    #: HQ's clock when it made the notice, unix seconds
    issued_at: int
    nonce: str
    signature: str

    def as_json(self) -> dict[str, str | int]:
        return {
            "kiosk_id": self.kiosk_id,
            "issued_at": self.issued_at,
            "nonce": self.nonce,
            "sig": self.signature,
        }


def check_now_signature(secret: bytes, kiosk_id: str, issued_at: int, nonce: str) -> str:
    message = "\n".join((CHECK_NOW_PURPOSE, kiosk_id, str(issued_at), nonce)).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_now_notice(
    secret: bytes, kiosk_id: str, issued_at: int, nonce: str | None = None
) -> CheckNowNotice:
    """The notice HQ sends ``kiosk_id`` (whose secret is ``secret``), issued at HQ time ``issued_at``."""
    nonce = nonce or new_nonce()
    return CheckNowNotice(kiosk_id, issued_at, nonce, check_now_signature(secret, kiosk_id, issued_at, nonce))


def parse_check_now(raw: object) -> CheckNowNotice | None:
    """A well-formed notice (``{"kiosk_id", "issued_at", "nonce", "sig"}``), not yet verified; None
    for anything else."""
    if not isinstance(raw, dict):
        return None
    kiosk_id, issued_at, nonce, sig = (raw.get(k) for k in ("kiosk_id", "issued_at", "nonce", "sig"))
    if not (isinstance(kiosk_id, str) and re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kiosk_id)):
        return None
    if not isinstance(issued_at, int) or isinstance(issued_at, bool) or not 0 <= issued_at < 10**12:
        return None
    if not (isinstance(nonce, str) and _NONCE_RE.fullmatch(nonce)):
        return None
    if not (isinstance(sig, str) and _SIG_RE.fullmatch(sig)):
        return None
    return CheckNowNotice(kiosk_id, issued_at, nonce, sig)


def check_now_refusal(
    secret: bytes,
    kiosk_id: str,
    notice: CheckNowNotice,
    hq_now: float,
    ttl_s: int = CHECK_NOW_TTL_S,
) -> str:
    """Why this kiosk must not act on ``notice`` ("" when it may): ``kiosk`` (meant for another kiosk),
    ``signature`` (not made with this kiosk's secret), ``expired`` (older than ``ttl_s`` by
    ``hq_now``, the kiosk's idea of HQ's clock) or ``future`` (issued later than HQ's clock allows).
    The signature is checked in constant time and before the time, so a forgery learns nothing."""
    if notice.kiosk_id != kiosk_id:
        return "kiosk"
    expected = check_now_signature(secret, notice.kiosk_id, notice.issued_at, notice.nonce)
    if not hmac.compare_digest(expected, notice.signature):
        return "signature"
    age = hq_now - notice.issued_at
    if age > ttl_s:
        return "expired"
    if age < -CHECK_NOW_FUTURE_S:
        return "future"
    return ""
