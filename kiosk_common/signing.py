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
