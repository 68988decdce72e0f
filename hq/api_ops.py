"""Endpoints for whoever runs HQ, not for kiosks: readiness and Prometheus metrics.

``/healthz`` (in ``hq.app``) says the process answers; ``/readyz`` says it can do its work: the
database answers a trivial query and its schema is the one this HQ was built for. A load balancer
sends traffic to a worker only when ``/readyz`` is 200. Neither reveals more than a reason: the
database's own error goes to the log, never into the answer. ``/metrics`` is described in
``hq.metrics`` and docs/hq.md §8. None of these needs a signature: keep them off the public side of
the reverse proxy.
"""

from __future__ import annotations

import logging
from typing import Any

import peewee
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hq import i18n, metrics
from hq.db import connected
from hq.errors import ApiError, ErrorOut
from hq.migrations import MIGRATIONS
from hq.models import SchemaVersion, database

log = logging.getLogger(__name__)

router = APIRouter()


class ReadyOut(BaseModel):
    ok: bool = Field(description="always true in a 200 answer")
    schema_version: int = Field(description="the database's schema version, the one this HQ needs")


class NotReadyDetail(BaseModel):
    check: str = Field(description="`database` (it did not answer) or `schema` (wrong version)")
    schema_version: int | None = Field(None, description="the version found, for `schema`")
    expected: int = Field(description="the schema version this HQ needs")


class NotReadyOut(BaseModel):
    """HQ cannot serve kiosks right now: ``detail.check`` says which check failed."""

    error: str
    error_zh: str
    detail: NotReadyDetail


_NOT_READY: dict[int | str, dict[str, Any]] = {
    503: {"model": NotReadyOut, "description": "The database does not answer, or its schema is not current"},
    500: {"model": ErrorOut, "description": "HQ failed"},
}


@router.get("/readyz", response_model=ReadyOut, responses=_NOT_READY, tags=["operations"])
def readyz() -> ReadyOut:
    expected = len(MIGRATIONS)
    try:
        with connected():
            database.execute_sql("SELECT 1").fetchone()
            row = SchemaVersion.select().first()
    except peewee.PeeweeException as exc:
        log.warning("not ready: the database did not answer (%s)", type(exc).__name__)
        raise ApiError(
            503,
            i18n.NOT_READY_DATABASE,
            {"check": "database", "schema_version": None, "expected": expected},
            {"Retry-After": "5"},
        ) from None
    found = row.version if row is not None else 0
    if found != expected:
        log.warning("not ready: schema version %d, this HQ needs %d", found, expected)
        raise ApiError(
            503,
            i18n.NOT_READY_SCHEMA.format(found=found, expected=expected),
            {"check": "schema", "schema_version": found, "expected": expected},
            {"Retry-After": "5"},
        )
    return ReadyOut(ok=True, schema_version=found)


@router.get(
    "/metrics",
    response_class=Response,
    tags=["operations"],
    responses={
        200: {
            "description": "Prometheus text exposition format (docs/hq.md §8)",
            "content": {metrics.CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
        500: {"model": ErrorOut, "description": "HQ failed"},
    },
)
def get_metrics() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
