"""The FastAPI side of kiosk identity: the ``SignedKiosk`` dependency every kiosk endpoint takes.

The signature covers the body, so the dependency reads it (Starlette keeps it for the endpoint),
then checks the request in a worker thread, because the nonce is written to the database. A
refusal is a 401 whose ``detail.reason`` says which check failed (docs/sync-protocol.md §2); an
address that keeps failing is held back with 429 like any other authentication failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from starlette.concurrency import run_in_threadpool

from hq import i18n, metrics
from hq.db import connected
from hq.errors import ApiError
from hq.identity import KioskIdentity, Refusal, RequestRefused, load_or_create_key, verify_request
from hq.keylimit import BadKeyLimiter, client_key

log = logging.getLogger(__name__)

__all__ = ["KioskAuth", "KioskIdentity", "SignedKiosk", "identity_path", "signed_kiosk"]


def identity_path(setting: str, db_url: str) -> Path:
    """Where HQ's identity file is: the setting, or beside a SQLite database when it is empty."""
    if setting:
        return Path(setting)
    from hq.db import DatabaseOpenError, sqlite_path

    if db_url.partition("://")[0].lower() != "sqlite":
        raise DatabaseOpenError(
            "with PostgreSQL, set [auth] identity_file (HQ_AUTH__IDENTITY_FILE) to a file every HQ "
            "host can read, e.g. /etc/kiosk-hq/hq-identity.key; HQ makes it on first start"
        )
    return sqlite_path(db_url).parent / "hq-identity.key"


@dataclass(frozen=True, slots=True)
class KioskAuth:
    """What the dependency needs, kept on ``app.state.kiosk_auth``."""

    key: bytes
    window_s: int
    limiter: BadKeyLimiter

    @classmethod
    def load(cls, path: Path, window_s: int, limiter: BadKeyLimiter) -> KioskAuth:
        return cls(load_or_create_key(path), window_s, limiter)


_REFUSAL_TEXT = {
    Refusal.MISSING: i18n.SIGNATURE_MISSING,
    Refusal.UNKNOWN_KIOSK: i18n.KIOSK_UNKNOWN,
    Refusal.REVOKED: i18n.KIOSK_REVOKED,
    Refusal.SIGNATURE: i18n.SIGNATURE_WRONG,
    Refusal.CLOCK: i18n.CLOCK_OFF,
    Refusal.REPLAY: i18n.REPLAYED,
}

#: documents the header in OpenAPI (and lets schemathesis' auth hook fill it); checked by signed_kiosk
_scheme = APIKeyHeader(
    name="Authorization",
    scheme_name="KioskHmac",
    auto_error=False,
    description="`Kiosk-HMAC-SHA256 kiosk=..., ts=..., nonce=..., sig=...`: see docs/sync-protocol.md §2",
)


async def signed_kiosk(
    request: Request, authorization: Annotated[str | None, Depends(_scheme)]
) -> KioskIdentity:
    """The kiosk that signed this request; 401 (with the reason) or 429 otherwise."""
    auth = cast(KioskAuth, request.app.state.kiosk_auth)
    client = client_key(request.client.host if request.client else None)
    wait = auth.limiter.retry_after(client)
    if wait is not None:
        raise ApiError(429, i18n.TOO_MANY_BAD_KEYS.format(seconds=wait), None, {"Retry-After": str(wait)})
    body = await request.body()
    path_qs = request.url.path + (f"?{request.url.query}" if request.url.query else "")

    def check() -> KioskIdentity:
        with connected():
            return verify_request(
                auth.key, authorization, request.method, path_qs, body, window_s=auth.window_s
            )

    try:
        return await run_in_threadpool(check)
    except RequestRefused as refused:
        auth.limiter.refused(client, authorization or "")
        metrics.auth_failure(refused.reason.value)
        if refused.reason is not Refusal.MISSING:
            log.info(
                "refused a signed request from %s: %s (kiosk %s)", client, refused.reason, refused.kiosk_id
            )
        raise ApiError(
            401,
            _REFUSAL_TEXT[refused.reason],
            {"reason": refused.reason.value},
            {"WWW-Authenticate": "Kiosk-HMAC-SHA256"},
        ) from None


SignedKiosk = Annotated[KioskIdentity, Depends(signed_kiosk)]
