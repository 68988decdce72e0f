"""The admin API (``/api/v1/admin``): stores, enrolment codes, kiosks, revocation and fleet status.

An admin signs in with name and password (``POST /login``) and gets a bearer token for 12 hours;
every other endpoint needs ``Authorization: Bearer <token>``. A wrong password and a wrong token
both count as authentication failures of the caller's address in the app's limiter
(``app.state.key_limiter``), so guessing either is held back with 429 like guessing a kiosk's
signature or an enrolment code. The CLI (``hq store``, ``hq device``, ``hq fleet``) does the same
things on the server's own machine without signing in.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from hq import admins, enrolment, fleet, i18n
from hq.db import connected
from hq.devices import (
    KIOSK_ID_RE,
    STORE_CODE_RE,
    DeviceInfo,
    StoreExistsError,
    UnknownDeviceError,
    UnknownStoreError,
    add_store,
    device_info,
    list_devices,
    list_stores,
    revoke_device,
)
from hq.errors import ADMIN_UNAUTHORIZED_DOC, EXISTS_DOC, NOT_FOUND_DOC, ApiError, errors
from hq.jsonbody import StrictJsonRoute
from hq.keylimit import BadKeyLimiter, client_key
from hq.models import utc_now, utc_text
from kiosk_common.enrolment import format_enrol_payload, url_problem

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin", route_class=StrictJsonRoute, tags=["admin"])

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="AdminBearer",
    description="a token from `POST /api/v1/admin/login`, valid 12 hours",
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)


def _unauthorized() -> ApiError:
    return ApiError(401, i18n.ADMIN_TOKEN_REFUSED, None, {"WWW-Authenticate": "Bearer"})


def _limiter(request: Request) -> BadKeyLimiter:
    return cast(BadKeyLimiter, request.app.state.key_limiter)


async def _not_held_back(request: Request) -> str:
    client = client_key(request.client.host if request.client else None)
    wait = _limiter(request).retry_after(client)
    if wait is not None:
        raise ApiError(429, i18n.TOO_MANY_BAD_KEYS.format(seconds=wait), None, {"Retry-After": str(wait)})
    return client


async def signed_in_admin(
    request: Request,
    client: Annotated[str, Depends(_not_held_back)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The name of the admin whose bearer token this is; 401 (counted against the address) if none."""
    token = credentials.credentials if credentials is not None else ""

    def check() -> str | None:
        with connected():
            return admins.session_admin(token)

    name = await run_in_threadpool(check) if token else None
    if name is None:
        _limiter(request).refused(client, token)
        raise _unauthorized()
    return name


AdminName = Annotated[str, Depends(signed_in_admin)]
_SIGNED_IN = errors(429, 500, 503) | {401: ADMIN_UNAUTHORIZED_DOC}


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=admins.MAX_PASSWORD_CHARS)


class LoginOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`")
    expires_at: str


class StoreIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=STORE_CODE_RE.pattern, description="1-64 letters, digits, '.', '_' or '-'")
    name: str = Field(min_length=1, max_length=128)


class StoreOut(BaseModel):
    code: str
    name: str
    kiosks: int
    created_at: str


class EnrolCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str = Field(pattern=STORE_CODE_RE.pattern)
    kiosk_id: str | None = Field(None, pattern=KIOSK_ID_RE.pattern, description="the only id it enrols")
    ttl_minutes: int = Field(enrolment.DEFAULT_TTL_MINUTES, ge=1, le=enrolment.MAX_TTL_MINUTES)
    hq_url: str | None = Field(
        None,
        max_length=400,
        description="the address kiosks reach HQ at; given, the answer's payload carries it with the code",
    )

    @field_validator("hq_url")
    @classmethod
    def _enrol_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if url_problem(value) is not None:
            raise ValueError(
                "must be https://…, or http:// only to 127.0.0.1, localhost or a LAN address written as a number"
            )
        return value


class EnrolCodeOut(BaseModel):
    code: str = Field(description="shown only this once; HQ keeps its SHA-256")
    store: str
    kiosk_id: str | None
    expires_at: str
    payload: str | None = Field(
        None,
        description="KIOSKENROL1:<hq_url>:<code> for a QR the kiosk's enrolment screen scans; null without hq_url",
    )


class DeviceOut(BaseModel):
    kiosk_id: str
    store: str | None
    enrolled_at: str | None
    revoked_at: str | None
    last_seen_at: str | None


class AlertOut(BaseModel):
    code: fleet.AlertCode
    message: str
    message_zh: str


class KioskStatusOut(BaseModel):
    kiosk_id: str
    store: str | None
    revoked: bool
    app_version: str | None
    last_seen_at: str | None
    last_heartbeat_at: str | None
    heartbeat_age_s: float | None
    outbox_depth: int | None = Field(description="events waiting in the kiosk's outbox at its last heartbeat")
    parked: int | None
    catalog_version: int | None
    clock_skew_s: float | None
    heartbeat: dict[str, Any] = Field(description="the last heartbeat as sent (docs/sync-protocol.md §4)")
    alerts: list[AlertOut]


class FleetOut(BaseModel):
    """What `hq fleet status --json` prints."""

    generated_at: str
    heartbeat_s: int
    kiosks: list[KioskStatusOut]


@router.post(
    "/login",
    response_model=LoginOut,
    responses=errors(411, 413, 422, 429, 500, 503) | {401: ADMIN_UNAUTHORIZED_DOC},
    summary="Sign in: a bearer token for 12 hours",
)
async def login(request: Request, client: Annotated[str, Depends(_not_held_back)], body: LoginIn) -> LoginOut:
    def work() -> admins.Session | None:
        with connected():
            return admins.sign_in(body.name, body.password)

    session = await run_in_threadpool(work)
    if session is None:
        _limiter(request).refused(client, body.name)
        log.info("refused an admin sign-in from %s (name %s)", client, body.name[:64])
        raise ApiError(401, i18n.ADMIN_SIGN_IN_FAILED, None, {"WWW-Authenticate": "Bearer"})
    log.info("admin %s signed in from %s", session.admin, client)
    return LoginOut(token=session.token, expires_at=_iso(session.expires_at) or "")


@router.post("/logout", status_code=204, responses=_SIGNED_IN | errors(411, 413), summary="End this session")
def logout(
    admin: AdminName, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    assert credentials is not None  # signed_in_admin refused a request without one
    with connected():
        admins.sign_out(credentials.credentials)


@router.get("/stores", response_model=list[StoreOut], responses=_SIGNED_IN, summary="The stores")
def get_stores(admin: AdminName) -> list[StoreOut]:
    with connected():
        stores = list_stores()
    return [
        StoreOut(code=s.code, name=s.name, kiosks=s.kiosks, created_at=_iso(s.created_at) or "")
        for s in stores
    ]


@router.post(
    "/stores",
    status_code=201,
    response_model=StoreOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {409: EXISTS_DOC},
    summary="Add a store",
)
def post_store(admin: AdminName, body: StoreIn) -> StoreOut:
    try:
        with connected():
            store = add_store(body.code, body.name)
    except StoreExistsError:
        raise ApiError(409, i18n.STORE_EXISTS.format(code=body.code)) from None
    except ValueError as exc:
        text = i18n.BAD_STORE.format(code=body.code, name=body.name)
        raise ApiError(422, text, [{"field": "name", "problem": str(exc)}]) from None
    log.info("admin %s added store %s", admin, store.code)
    return StoreOut(code=store.code, name=store.name, kiosks=0, created_at=_iso(store.created_at) or "")


@router.post(
    "/enrol-codes",
    status_code=201,
    response_model=EnrolCodeOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: NOT_FOUND_DOC},
    summary="Make a one-time enrolment code for a store",
)
def post_enrol_code(admin: AdminName, body: EnrolCodeIn) -> EnrolCodeOut:
    try:
        with connected():
            made = enrolment.make_code(body.store, body.kiosk_id or "", body.ttl_minutes)
    except UnknownStoreError:
        raise ApiError(404, i18n.STORE_UNKNOWN.format(code=body.store)) from None
    log.info(
        "admin %s made an enrolment code for store %s, kiosk %s",
        admin,
        made.store_code,
        made.kiosk_id or "(any)",
    )
    return EnrolCodeOut(
        code=made.code,
        store=made.store_code,
        kiosk_id=made.kiosk_id or None,
        expires_at=_iso(made.expires_at) or "",
        payload=format_enrol_payload(body.hq_url, made.code) if body.hq_url else None,
    )


def _device_out(d: DeviceInfo) -> DeviceOut:
    return DeviceOut(
        kiosk_id=d.kiosk_id,
        store=d.store_code,
        enrolled_at=_iso(d.enrolled_at),
        revoked_at=_iso(d.revoked_at),
        last_seen_at=_iso(d.last_seen_at),
    )


@router.get("/devices", response_model=list[DeviceOut], responses=_SIGNED_IN, summary="The kiosks HQ knows")
def get_devices(admin: AdminName) -> list[DeviceOut]:
    with connected():
        devices = list_devices()
    return [_device_out(d) for d in devices]


@router.post(
    "/devices/{kiosk_id}/revoke",
    response_model=DeviceOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: NOT_FOUND_DOC},
    summary="Revoke a kiosk: its next request is refused",
)
def post_revoke(admin: AdminName, kiosk_id: Annotated[str, Path(pattern=KIOSK_ID_RE.pattern)]) -> DeviceOut:
    try:
        with connected():
            revoke_device(kiosk_id)
            found = device_info(kiosk_id)
    except UnknownDeviceError:
        raise ApiError(404, i18n.DEVICE_UNKNOWN.format(kiosk_id=kiosk_id)) from None
    log.warning("admin %s revoked kiosk %s", admin, kiosk_id)
    return _device_out(found)


@router.get("/fleet", response_model=FleetOut, responses=_SIGNED_IN, summary="Each kiosk's health and alerts")
def get_fleet(admin: AdminName) -> FleetOut:
    now = utc_now()
    with connected():
        rows = fleet.load_rows()
    return FleetOut.model_validate(fleet.report(rows, now))
