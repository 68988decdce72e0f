"""The sync API kiosks use after enrolment (docs/sync-protocol.md §3-§5): events up, catalog down.

Every operation takes the ``SignedKiosk`` dependency, and everything it reads or writes is scoped
by the signer: a kiosk's events are stored under its own id and store, and the catalog it gets has
its own store's prices and settings, never another's.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hq import i18n, metrics, rollouts
from hq.auth import KioskAuth, SignedKiosk
from hq.catalog_sync import catalog_for
from hq.db import connected
from hq.errors import ApiError, ErrorOut, errors
from hq.events import KINDS, CheckNowNoticeOut, EventBatchIn, EventBatchOut, ingest_events
from hq.identity import KioskIdentity, kiosk_secret
from hq.jsonbody import StrictJsonRoute
from hq.models import utc_now
from hq.pictures import picture_bytes
from kiosk_common import signing
from kiosk_common.pictures import SAFE_SKU

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/sync/events"
CATALOG_PATH = "/api/v1/sync/catalog"
PICTURES_PATH = "/api/v1/sync/pictures"

router = APIRouter(route_class=StrictJsonRoute)


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class PictureRefOut(BaseModel):
    name: str = Field(description="the file the kiosk writes: `<sku>.png` or `<sku>.jpg`, by the bytes")
    sha256: str = Field(description="SHA-256 of the bytes, 64 lower-case hex digits: the kiosk checks it")
    size: int = Field(description="bytes (at most 512 KiB)")


class ProductOut(BaseModel):
    sku: str
    name_zh: str
    name_en: str
    price_fen: int = Field(
        description="the price in the kiosk's store (its store price, else the product's), tax included"
    )
    barcode: str | None
    category: str
    image_url: str
    active: bool
    picture: PictureRefOut | None = Field(
        None,
        description="the product's picture, fetched by sku from `GET /api/v1/sync/pictures/{sku}`; "
        "null: none (a kiosk removes the copy it fetched)",
    )


class StaffOut(BaseModel):
    id: int
    name: str
    role: str = Field(description="`cashier`, `manager` or `it`")
    pin_hash: str = Field(
        description="argon2id hash of the staff member's PIN (the PIN never leaves HQ); empty when not active"
    )
    active: bool = Field(description="false: disabled, or no longer for this store; the kiosk drops it")


class CatalogOut(BaseModel):
    kind: str = Field(description="`delta` (rows changed after `since`) or `snapshot` (everything)")
    since: int
    version: int
    categories: list[CategoryOut]
    products: list[ProductOut]
    settings: dict[str, Any] = Field(description="key: JSON value; in a delta, null means removed")
    staff: list[StaffOut] = Field(
        description="staff accounts for the kiosk's store: a snapshot has every active one, a delta the changed"
    )
    badge_public_key: str = Field(description="HQ's Ed25519 badge public key, 32 raw bytes in base64")
    promotions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="every promotion the kiosk's store runs now or later, in every answer (the kiosk "
        "replaces its list with it); fields as docs/sync-protocol.md §5",
    )


def check_now_notice(request: Request, kiosk: KioskIdentity, hq_unix: float) -> CheckNowNoticeOut:
    """The signed check-now notice for ``kiosk``: HMAC with the kiosk's own secret (derived again from
    HQ's key, as every request's check does), so only HQ can make it and only that kiosk accepts it."""
    auth: KioskAuth = request.app.state.kiosk_auth
    secret = kiosk_secret(auth.key, kiosk.kiosk_id, kiosk.generation)
    notice = signing.check_now_notice(secret, kiosk.kiosk_id, int(hq_unix))
    return CheckNowNoticeOut.model_validate(notice.as_json())


def _metric_kind(kind: Any) -> str:
    """The kind as a metrics label: one of KINDS, else "unknown" (a list or object is not hashable,
    so it is checked to be text before it is looked up)."""
    return kind if isinstance(kind, str) and kind in KINDS else "unknown"


@router.post(
    EVENTS_PATH, response_model=EventBatchOut, responses=errors(400, 401, 411, 413, 422, 429, 500, 503)
)
def post_events(kiosk: SignedKiosk, batch: EventBatchIn, request: Request) -> EventBatchOut:
    publish = bool(getattr(request.app.state, "publish_webhooks", False))
    with connected():
        results = ingest_events(kiosk, batch.events, publish)
        check_now = rollouts.check_now_pending(kiosk.device_id)
    counts = Counter(r.status for r in results)
    by_kind = Counter(
        (_metric_kind(raw.get("kind")), r.status) for raw, r in zip(batch.events, results, strict=True)
    )
    for (kind, status), n in by_kind.items():
        metrics.events_ingested(kind, status, n)
    log.info(
        "kiosk %s sent %d events: %d stored, %d duplicate, %d rejected",
        kiosk.kiosk_id,
        len(results),
        counts["stored"],
        counts["duplicate"],
        counts["rejected"],
    )
    now = utc_now()
    hq_time = now.isoformat(timespec="milliseconds") + "Z"
    notice = None
    if check_now:
        notice = check_now_notice(request, kiosk, (now - datetime(1970, 1, 1)).total_seconds())
        log.info("kiosk %s was told through sync to check for an update now", kiosk.kiosk_id)
    return EventBatchOut(results=results, hq_time=hq_time, ota_check_now=notice)


def _etag_version(value: str | None) -> int | None:
    """The version an If-None-Match names (``"41"`` or ``W/"41"``), or None for anything else."""
    if not value:
        return None
    text = value.strip().removeprefix("W/").strip('"')
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


@router.get(
    CATALOG_PATH,
    response_model=CatalogOut,
    responses={
        **errors(400, 401, 422, 429, 500, 503),
        304: {"description": "Nothing changed since `since`; the ETag is the current version"},
    },
)
def get_catalog(
    kiosk: SignedKiosk,
    request: Request,
    since: Annotated[
        int | None, Query(ge=0, le=10**18, description="the catalog version the kiosk holds")
    ] = None,
    if_none_match: Annotated[str | None, Header(max_length=64)] = None,
) -> Response:
    held = since if since is not None else (_etag_version(if_none_match) or 0)
    with connected():
        answer = catalog_for(kiosk.store_id, kiosk.device_id, held)
    if answer is None:
        return Response(status_code=304, headers={"ETag": f'"{held}"'})
    answer.badge_public_key = str(getattr(request.app.state, "badge_public_key", ""))
    body = CatalogOut.model_validate(answer, from_attributes=True).model_dump(mode="json")
    return JSONResponse(body, headers={"ETag": f'"{answer.version}"'})


@router.get(
    PICTURES_PATH + "/{sku}",
    response_class=Response,
    responses={
        **errors(400, 401, 422, 429, 500, 503),
        404: {"model": ErrorOut, "description": "The product has no picture (any more)"},
        200: {
            "description": "The picture's bytes (PNG or JPEG); the kiosk checks them against the "
            "catalog's `sha256` before it writes the file",
            "content": {"image/png": {}, "image/jpeg": {}},
        },
    },
)
def get_picture(
    kiosk: SignedKiosk,
    sku: Annotated[str, Path(pattern=SAFE_SKU.pattern, max_length=64)],
) -> Response:
    """A product's picture for a signed kiosk. Pictures are the same for every store, so there is
    nothing to scope; the signature keeps the endpoint to enrolled kiosks like the rest of sync."""
    with connected():
        found = picture_bytes(sku)
    if found is None:
        raise ApiError(404, i18n.PICTURE_NONE.format(sku=sku))
    return Response(
        found.data,
        media_type=found.media_type,
        headers={"ETag": f'"{found.sha256}"', "Content-Disposition": f'inline; filename="{found.name}"'},
    )
