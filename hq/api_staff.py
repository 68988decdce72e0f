"""The admin API for staff accounts (``/api/v1/admin/staff``): what ``hq staff`` does, over HTTPS.

Every endpoint needs an admin session (``hq.api_admin.signed_in_admin``); HQ's admins are not scoped
to stores or duties, so any signed-in admin may manage any account. The rules are ``hq.staff``'s, the
same as the CLI's: a PIN of 6-12 digits, not trivial, not another active account's, kept only as its
argon2 hash. A PIN travels only in a request body (never in a path or query string, which proxies and
access logs keep) and is never echoed, logged or audited. Each change takes the next catalog version,
so kiosks get it at their next pull, and is written to HQ's audit under the admin's name.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal, NoReturn, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from hq import i18n, staff
from hq.api_admin import _SIGNED_IN, AdminName, _iso
from hq.db import connected
from hq.devices import STORE_CODE_RE
from hq.errors import ApiError, ErrorOut, errors
from hq.jsonbody import StrictJsonRoute

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/admin/staff", route_class=StrictJsonRoute, tags=["staff"])

Role = Literal["cashier", "manager", "it"]
_NAME = Path(pattern=staff.STAFF_NAME_RE.pattern, description="the account's name")
_PIN = Field(
    min_length=staff.MIN_PIN_DIGITS,
    max_length=staff.MAX_PIN_DIGITS,
    description=f"{staff.MIN_PIN_DIGITS}-{staff.MAX_PIN_DIGITS} digits, not one digit repeated nor a "
    "run such as 123456, not another active account's; HQ keeps only its argon2 hash",
)
_NOT_FOUND: dict[str, Any] = {"model": ErrorOut, "description": "No staff account (or store) by that name"}
_CONFLICT: dict[str, Any] = {
    "model": ErrorOut,
    "description": "The name is taken, the PIN is another active account's, or the account is disabled",
}

_ERRORS: dict[str, tuple[int, i18n.Text, str]] = {
    "bad_name": (422, i18n.STAFF_BAD_NAME, "name"),
    "bad_role": (422, i18n.STAFF_BAD_ROLE, "role"),
    "pin_digits": (422, i18n.STAFF_PIN_DIGITS, "pin"),
    "pin_weak": (422, i18n.STAFF_PIN_WEAK, "pin"),
    "bad_ttl": (422, i18n.STAFF_BAD_TTL, "ttl_minutes"),
    "pin_taken": (409, i18n.STAFF_PIN_TAKEN, "pin"),
    "exists": (409, i18n.STAFF_EXISTS, "name"),
    "disabled": (409, i18n.STAFF_DISABLED_NO_BADGE, "name"),
    "disabled_change": (409, i18n.STAFF_DISABLED_NO_CHANGE, "name"),
    "unknown": (404, i18n.STAFF_UNKNOWN, "name"),
    "unknown_store": (404, i18n.STAFF_UNKNOWN_STORE, "stores"),
}


def _refuse(exc: staff.StaffError) -> NoReturn:
    status, text, field = _ERRORS[exc.code]
    message = text.format(**exc.details)
    detail = [{"field": field, "problem": message.en}] if status == 422 else None
    raise ApiError(status, message, detail) from None


class StaffOut(BaseModel):
    name: str
    role: Role
    stores: list[str] = Field(description="the stores whose kiosks receive the account; empty: every store")
    active: bool
    created_at: str
    disabled_at: str | None


class StaffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        pattern=staff.STAFF_NAME_RE.pattern, description="1-64 letters, digits, '.', '_', '@', '-'"
    )
    role: Role
    stores: list[Annotated[str, Field(pattern=STORE_CODE_RE.pattern)]] = Field(
        default_factory=list, max_length=100, description="store codes; empty or absent: every store"
    )
    pin: str = _PIN


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str = _PIN


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role


class BadgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ttl_minutes: int = Field(staff.DEFAULT_BADGE_TTL_MIN, ge=1, le=staff.MAX_BADGE_TTL_MIN)


class BadgeOut(BaseModel):
    badge: str = Field(description="`KB1.<payload>.<signature>`; show it as a QR code to a kiosk's camera")
    name: str
    role: Role
    expires_at: str


def _out(info: staff.StaffInfo) -> StaffOut:
    return StaffOut(
        name=info.name,
        role=cast(Role, info.role),
        stores=list(info.stores),
        active=info.disabled_at is None,
        created_at=_iso(info.created_at) or "",
        disabled_at=_iso(info.disabled_at),
    )


@router.get(
    "",
    response_model=list[StaffOut],
    responses=_SIGNED_IN | errors(422) | {404: _NOT_FOUND},
    summary="The staff accounts, or those a store's kiosks receive",
)
def get_staff(
    admin: AdminName,
    store: Annotated[str | None, Query(pattern=STORE_CODE_RE.pattern, description="a store's code")] = None,
) -> list[StaffOut]:
    try:
        with connected():
            found = staff.list_staff(store)
    except staff.StaffError as exc:
        _refuse(exc)
    return [_out(s) for s in found]


@router.post(
    "",
    status_code=201,
    response_model=StaffOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: _NOT_FOUND, 409: _CONFLICT},
    summary="Add a staff account",
)
def post_staff(admin: AdminName, body: StaffIn) -> StaffOut:
    try:
        with connected():
            info = staff.add_staff(body.name, body.role, body.pin, body.stores, actor=admin)
    except staff.StaffError as exc:
        _refuse(exc)
    log.info("admin %s added staff account %s (%s)", admin, info.name, info.role)
    return _out(info)


@router.post(
    "/{name}/disable",
    response_model=StaffOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: _NOT_FOUND},
    summary="Disable an account on every kiosk",
)
def post_disable(admin: AdminName, name: Annotated[str, _NAME]) -> StaffOut:
    try:
        with connected():
            info = staff.disable_staff(name, actor=admin)
    except staff.StaffError as exc:
        _refuse(exc)
    log.info("admin %s disabled staff account %s", admin, name)
    return _out(info)


@router.post(
    "/{name}/role",
    response_model=StaffOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: _NOT_FOUND, 409: _CONFLICT},
    summary="Give an account another role",
)
def post_role(admin: AdminName, name: Annotated[str, _NAME], body: RoleIn) -> StaffOut:
    try:
        with connected():
            info = staff.set_role(name, body.role, actor=admin)
    except staff.StaffError as exc:
        _refuse(exc)
    log.info("admin %s made staff account %s %s", admin, name, info.role)
    return _out(info)


@router.post(
    "/{name}/pin",
    response_model=StaffOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: _NOT_FOUND, 409: _CONFLICT},
    summary="Give an account a new PIN",
)
def post_pin(admin: AdminName, name: Annotated[str, _NAME], body: PinIn) -> StaffOut:
    try:
        with connected():
            info = staff.reset_pin(name, body.pin, actor=admin)
    except staff.StaffError as exc:
        _refuse(exc)
    log.info("admin %s reset the PIN of staff account %s", admin, name)
    return _out(info)


@router.post(
    "/{name}/badge",
    status_code=201,
    response_model=BadgeOut,
    responses=_SIGNED_IN | errors(411, 413, 422) | {404: _NOT_FOUND, 409: _CONFLICT},
    summary="Issue a signed, short-lived staff badge",
)
def post_badge(request: Request, admin: AdminName, name: Annotated[str, _NAME], body: BadgeIn) -> BadgeOut:
    key = cast(Ed25519PrivateKey, request.app.state.badge_key)
    try:
        with connected():
            made = staff.make_badge(key, name, body.ttl_minutes, actor=admin)
    except staff.StaffError as exc:
        _refuse(exc)
    log.info("admin %s issued a badge for staff account %s until %s", admin, name, _iso(made.expires_at))
    return BadgeOut(
        badge=made.text, name=made.name, role=cast(Role, made.role), expires_at=_iso(made.expires_at) or ""
    )
