"""OTA over HTTP: what a kiosk's agent asks and reports (signed like sync), and the admin side.

Kiosk: ``GET /api/v1/ota/assignment`` (the release this kiosk should run, and a one-time
"check now"), ``POST /api/v1/ota/report`` (the agent's state). Admin (bearer session, as the rest
of ``/api/v1/admin``): releases, rollout start / pause / resume / abort, check-now and status. The
rules and the database work are ``hq.rollouts``; this module only speaks HTTP.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hq import i18n, ota, rollouts
from hq.api_admin import _SIGNED_IN, AdminName
from hq.auth import SignedKiosk
from hq.db import connected
from hq.errors import NOT_FOUND_DOC, ApiError, errors, field_path, problem_text
from hq.jsonbody import StrictJsonRoute
from hq.models import utc_now
from hq.ota import ReportIn
from hq.rollouts import NoRolloutError, RolloutError, UnknownReleaseError

log = logging.getLogger(__name__)

ASSIGNMENT_PATH = "/api/v1/ota/assignment"
REPORT_PATH = "/api/v1/ota/report"
ADMIN_PREFIX = "/api/v1/admin/ota"

router = APIRouter(route_class=StrictJsonRoute, tags=["ota"])
admin_router = APIRouter(prefix=ADMIN_PREFIX, route_class=StrictJsonRoute, tags=["admin"])

_VERSION = ota.VERSION_RE.pattern


class AssignmentOut(BaseModel):
    version: str | None = Field(description="the release this kiosk should run now; null: nothing to install")
    target: str | None = Field(description="its TUF target name, e.g. `kiosk-1.3.0.tar`")
    channel: str | None
    rollout: int | None = Field(description="the rollout this answer comes from")
    check_now: bool = Field(description="an admin asked for an immediate check; sent once")


class ReportOut(BaseModel):
    recorded: bool
    counted: bool = Field(description="true: a final state of the current rollout's release, counted")


def parse_report(raw: Any) -> ReportIn:
    """A report body checked, or a 422 that names each field at fault and what to send."""
    try:
        return ReportIn.model_validate(raw)
    except ValidationError as exc:
        problems = [
            {"field": field_path(tuple(e.get("loc", ()))), "problem": problem_text(dict(e))}
            for e in exc.errors()[:10]
        ]
        raise ApiError(422, i18n.OTA_INVALID_REPORT, problems) from None


@router.get(ASSIGNMENT_PATH, response_model=AssignmentOut, responses=errors(400, 401, 429, 500, 503))
def get_assignment(kiosk: SignedKiosk) -> AssignmentOut:
    with connected():
        found = rollouts.assignment(kiosk.device_id, kiosk.kiosk_id)
    if found.check_now:
        log.info("kiosk %s was told to check for an update now", kiosk.kiosk_id)
    return AssignmentOut(
        version=found.version,
        target=found.target,
        channel=found.channel,
        rollout=found.rollout,
        check_now=found.check_now,
    )


@router.post(REPORT_PATH, response_model=ReportOut, responses=errors(400, 401, 411, 413, 422, 429, 500, 503))
def post_report(kiosk: SignedKiosk, body: dict[str, Any]) -> ReportOut:
    report = parse_report(body)
    with connected():
        counted = rollouts.record_report(
            kiosk.device_id, report.version, report.state, report.detail, utc_now()
        )
    log.info("kiosk %s: update %s %s", kiosk.kiosk_id, report.version, report.state)
    return ReportOut(recorded=True, counted=counted)


# --- admin --------------------------------------------------------------------------------------------


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(pattern=_VERSION)
    channel: str = Field(pattern=ota.CHANNEL_RE.pattern)
    target: str = Field(min_length=1, max_length=rollouts.MAX_TARGET_CHARS)
    min_store_schema: int = Field(ge=0, le=1_000_000)


class ReleaseOut(BaseModel):
    version: str
    channel: str
    target: str
    min_store_schema: int
    published_at: str
    published_by: str


class RolloutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(pattern=_VERSION)
    channel: str | None = Field(None, pattern=ota.CHANNEL_RE.pattern, description="needed if in several")
    stages: list[int] = Field(
        min_length=1, max_length=100, description="cumulative percentages, e.g. [1, 10, 50, 100]"
    )
    max_failure_rate: float = Field(ge=0, le=1, description="0.05 = 5 %")
    stage_deadline_hours: float = Field(24.0, ge=1 / 60, le=90 * 24)


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_failure_rate: float | None = Field(None, ge=0, le=1)


class CheckNowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str | None = Field(None, max_length=64)
    kiosk_id: str | None = Field(None, max_length=64)


class CheckNowOut(BaseModel):
    kiosks: int


def _refused(exc: RolloutError) -> ApiError:
    status = 404 if isinstance(exc, UnknownReleaseError | NoRolloutError) else 409
    if type(exc) is RolloutError:
        status = 422
    return ApiError(status, exc.text)


def _actor(admin: str) -> str:
    return f"admin:{admin}"


@admin_router.get("/releases", response_model=list[ReleaseOut], responses=_SIGNED_IN, summary="OTA releases")
def get_releases(admin: AdminName) -> list[ReleaseOut]:
    with connected():
        found = rollouts.list_releases()
    return [ReleaseOut.model_validate(r.as_json()) for r in found]


@admin_router.post(
    "/releases",
    status_code=201,
    response_model=ReleaseOut,
    responses=_SIGNED_IN
    | errors(411, 413, 422)
    | {409: {"model": None, "description": "Registered differently"}},
    summary="Register a published release so rollouts can name it",
)
def post_release(admin: AdminName, body: ReleaseIn) -> ReleaseOut:
    try:
        with connected():
            made = rollouts.register_release(
                body.version, body.channel, body.target, body.min_store_schema, _actor(admin)
            )
    except RolloutError as exc:
        raise _refused(exc) from None
    return ReleaseOut.model_validate(made.as_json())


@admin_router.post(
    "/rollouts",
    status_code=201,
    responses=_SIGNED_IN
    | errors(411, 413, 422)
    | {404: NOT_FOUND_DOC, 409: {"description": "Another rollout runs"}},
    summary="Start a staged rollout; stage 1 starts at once",
)
def post_rollout(admin: AdminName, body: RolloutIn) -> dict[str, Any]:
    try:
        with connected():
            info = rollouts.start_rollout(
                body.version,
                body.stages,
                body.max_failure_rate,
                _actor(admin),
                channel=body.channel,
                stage_deadline=timedelta(hours=body.stage_deadline_hours),
            )
    except RolloutError as exc:
        raise _refused(exc) from None
    return info.as_json()


def _change(action: str, version: str, admin: str, body: ResumeIn | None) -> dict[str, Any]:
    try:
        with connected():
            if action == "pause":
                info = rollouts.pause_rollout(version, _actor(admin))
            elif action == "resume":
                rate = body.max_failure_rate if body is not None else None
                info = rollouts.resume_rollout(version, _actor(admin), rate)
            else:
                info = rollouts.abort_rollout(version, _actor(admin))
    except RolloutError as exc:
        raise _refused(exc) from None
    return info.as_json()


_VERSION_PATH = Annotated[str, Path(pattern=_VERSION)]
_CHANGE_DOCS = _SIGNED_IN | errors(411, 413, 422) | {404: NOT_FOUND_DOC, 409: {"description": "Wrong state"}}


@admin_router.post("/rollouts/{version}/pause", responses=_CHANGE_DOCS, summary="Pause a running rollout")
def post_pause(admin: AdminName, version: _VERSION_PATH) -> dict[str, Any]:
    return _change("pause", version, admin, None)


@admin_router.post("/rollouts/{version}/resume", responses=_CHANGE_DOCS, summary="Resume a paused rollout")
def post_resume(admin: AdminName, version: _VERSION_PATH, body: ResumeIn | None = None) -> dict[str, Any]:
    return _change("resume", version, admin, body)


@admin_router.post(
    "/rollouts/{version}/abort",
    responses=_CHANGE_DOCS,
    summary="Abort: every kiosk back to the previous release",
)
def post_abort(admin: AdminName, version: _VERSION_PATH) -> dict[str, Any]:
    return _change("abort", version, admin, None)


@admin_router.post(
    "/check-now",
    response_model=CheckNowOut,
    responses=_SIGNED_IN | errors(411, 413, 422),
    summary="Ask kiosks (all, a store's, or one) to check for an update at their next sync or poll",
)
def post_check_now(admin: AdminName, body: CheckNowIn) -> CheckNowOut:
    try:
        with connected():
            count = rollouts.check_now(_actor(admin), store=body.store, kiosk_id=body.kiosk_id)
    except RolloutError as exc:
        raise _refused(exc) from None
    return CheckNowOut(kiosks=count)


@admin_router.get(
    "/status", responses=_SIGNED_IN, summary="Each kiosk's update state and the rollout's progress"
)
def get_status(admin: AdminName) -> dict[str, Any]:
    with connected():
        return rollouts.status()
