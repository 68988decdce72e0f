"""Enrolment (``POST /api/v1/enrol``, unsigned) and ``GET /api/v1/whoami`` (signed).

Enrolment is the one kiosk endpoint anyone may call, so it is where codes would be guessed: every
refused code counts as an authentication failure of the caller's address in the app's limiter
(``app.state.key_limiter``, the one signed requests use), and an address past the limit gets 429
before its code is looked at. Wrong, used and expired codes get one answer (docs/sync-protocol.md §1).

``whoami`` lets a kiosk check its credentials against HQ (``kiosk doctor``): it answers who the
signature says the caller is, and nothing else.
"""

from __future__ import annotations

import logging
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hq import i18n, metrics
from hq.auth import KioskAuth, SignedKiosk
from hq.db import connected
from hq.devices import KIOSK_ID_RE, DeviceInOtherStoreError
from hq.enrolment import CodeRefused, Enrolled, KioskIdMismatch, KioskIdRequired, redeem
from hq.errors import ENROL_CONFLICT_DOC, ENROL_REFUSED_DOC, ApiError, errors
from hq.jsonbody import StrictJsonRoute
from hq.keylimit import BadKeyLimiter, client_key
from hq.models import Store, utc_now

log = logging.getLogger(__name__)

#: the sync protocol this HQ speaks (docs/sync-protocol.md)
PROTOCOL_VERSION = 1

router = APIRouter(route_class=StrictJsonRoute, tags=["kiosk"])


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(
        min_length=1, max_length=64, description="the code from `hq device enroll-code`, dashes optional"
    )
    kiosk_id: str | None = Field(
        None,
        pattern=KIOSK_ID_RE.pattern,
        description="the kiosk's id; may be left out when the code names one, must agree when both do",
    )
    app_version: str | None = Field(None, min_length=1, max_length=64)


class StoreOut(BaseModel):
    code: str
    name: str


class EnrolOut(BaseModel):
    kiosk_id: str
    store: StoreOut
    secret: str = Field(description="64 hex digits: the kiosk's signing secret, given only this once")
    hq_time: str = Field(description="HQ's clock, ISO 8601 UTC, for the kiosk's first clock offset")
    protocol: int


class WhoAmIOut(BaseModel):
    kiosk_id: str
    store: str = Field(description="the code of the kiosk's store")
    store_name: str


async def _not_held_back(request: Request) -> str:
    """The caller's address, or 429 if it has failed to authenticate too often (before the body counts)."""
    limiter = cast(BadKeyLimiter, request.app.state.key_limiter)
    client = client_key(request.client.host if request.client else None)
    wait = limiter.retry_after(client)
    if wait is not None:
        raise ApiError(429, i18n.TOO_MANY_BAD_KEYS.format(seconds=wait), None, {"Retry-After": str(wait)})
    return client


@router.post(
    "/api/v1/enrol",
    status_code=201,
    response_model=EnrolOut,
    responses={**errors(400, 411, 413, 422, 429, 500, 503), 401: ENROL_REFUSED_DOC, 409: ENROL_CONFLICT_DOC},
    summary="Enrol a kiosk with a one-time code and get its signing secret",
)
async def enrol(request: Request, client: Annotated[str, Depends(_not_held_back)], body: EnrolIn) -> EnrolOut:
    auth = cast(KioskAuth, request.app.state.kiosk_auth)
    limiter = cast(BadKeyLimiter, request.app.state.key_limiter)

    def work() -> Enrolled:
        with connected():
            return redeem(auth.key, body.code, body.kiosk_id, body.app_version)

    try:
        done = await run_in_threadpool(work)
    except CodeRefused:
        limiter.refused(client, body.code)
        metrics.auth_failure("enrol_code")
        log.info("refused an enrolment from %s: wrong, used or expired code", client)
        raise ApiError(401, i18n.ENROL_CODE_REFUSED) from None
    except KioskIdMismatch as exc:
        text = i18n.ENROL_KIOSK_MISMATCH.format(named=exc.named, sent=exc.sent)
        raise ApiError(422, text, [{"field": "kiosk_id", "problem": text.en, "value": exc.sent}]) from None
    except KioskIdRequired:
        text = i18n.ENROL_KIOSK_REQUIRED
        raise ApiError(422, text, [{"field": "kiosk_id", "problem": text.en}]) from None
    except DeviceInOtherStoreError as exc:
        log.warning("refused to enrol kiosk %s: it is enrolled in another store", exc)
        raise ApiError(409, i18n.ENROL_OTHER_STORE.format(kiosk_id=str(exc))) from None
    log.info("enrolled kiosk %s in store %s (generation %d)", done.kiosk_id, done.store_code, done.generation)
    return EnrolOut(
        kiosk_id=done.kiosk_id,
        store=StoreOut(code=done.store_code, name=done.store_name),
        secret=done.secret.hex(),
        hq_time=utc_now().isoformat(timespec="milliseconds") + "Z",
        protocol=PROTOCOL_VERSION,
    )


@router.get(
    "/api/v1/whoami",
    response_model=WhoAmIOut,
    responses=errors(400, 401, 429, 500, 503),
    summary="The kiosk a signed request comes from: for checking credentials",
)
def whoami(kiosk: SignedKiosk) -> WhoAmIOut:
    with connected():
        store: Store = Store.get_by_id(kiosk.store_id)
    return WhoAmIOut(kiosk_id=kiosk.kiosk_id, store=store.code, store_name=store.name)
