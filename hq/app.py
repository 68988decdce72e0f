"""The HQ HTTP API that kiosks sync with: catalog down, sales and refunds up.

Endpoints are plain ``def``: FastAPI runs them on its thread pool, where Peewee's blocking calls
belong, and each opens its own connection (``hq.db.connected``) because the dependency that checks
the key and the endpoint itself may run on different pool threads.

Every error is JSON ``{"error": ..., "error_zh": ..., "detail": ...}``: the two texts say what was
wrong and what to do (for the kiosk's screen or its log), ``detail`` says where. The OpenAPI document
(``/openapi.json``) describes each of these answers as it is really sent, status by status, so a
client (or a fuzzer) can hold HQ to it; an answer never echoes more than a short, clipped form of
what was sent. Bodies are read as strict JSON (``hq.jsonbody``), and a client address that keeps
presenting unknown keys is held back with 429 (``hq.keylimit``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

import peewee
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from hq import api_ops, i18n, receipts
from hq.auth import KioskAuth, SignedKiosk, identity_path
from hq.catalog import list_products
from hq.db import connected, open_database
from hq.errors import (
    MAX_BODY_BYTES,
    ApiError,
    error_response,
    errors,
    validation_detail,
)
from hq.jsonbody import StrictJsonRoute
from hq.keylimit import BadKeyLimiter
from hq.metrics import HttpMetrics
from hq.refunds import (
    MAX_REFUNDS_PER_REQUEST,
    RefundConflictError,
    RefundIn,
    RefundsRefused,
    ingest_refunds,
)
from hq.sales import MAX_SALES_PER_REQUEST, SaleConflictError, SaleIn, ingest_sales
from hq.settings import AuthSection

log = logging.getLogger(__name__)


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class ProductOut(BaseModel):
    sku: str
    name_zh: str
    name_en: str
    price_fen: int
    barcode: str | None
    category: str
    active: bool


class CatalogOut(BaseModel):
    products: list[ProductOut]


class IngestOut(BaseModel):
    stored: list[str]
    duplicates: list[str]


class RefundIngestOut(BaseModel):
    """The out_refund_no of each refund HQ now holds: newly stored, or already known."""

    stored: list[str]
    duplicates: list[str]


class HqTime:
    """Stamp every answer, errors included, with HQ's clock (``X-HQ-Time``, unix seconds), from which
    kiosks measure their clock skew (docs/sync-protocol.md §2)."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-hq-time", f"{time.time():.3f}".encode("ascii")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, stamped)


class BodyLimit:
    """Refuse a request body over ``limit`` bytes (or a POST of unknown length) before anything reads it.

    FastAPI parses the JSON body before the key is checked, so without this a stranger could make HQ
    parse any amount of JSON.
    """

    def __init__(self, app: Asgi, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = {k.lower(): v for k, v in scope["headers"]}
            length = headers.get(b"content-length", b"").decode("latin-1")
            if not length.isdigit() or int(length) > self.limit:
                if length.isdigit():
                    response = error_response(413, i18n.TOO_LARGE.format(limit=self.limit))
                else:
                    response = error_response(411, i18n.LENGTH_REQUIRED)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.text, exc.detail, exc.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        path = request.url.path
        if path == "/api/v1/sales":
            text = i18n.INVALID_SALES
        elif path == "/api/v1/refunds":
            text = i18n.INVALID_REFUNDS
        else:
            text = i18n.INVALID_REQUEST
        return error_response(422, text, validation_detail(exc))

    async def on_conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SaleConflictError)
        log.warning("refused a sales upload: conflicting order ids %s", ", ".join(exc.order_ids))
        return error_response(409, i18n.CONFLICT, {"conflicts": exc.order_ids})

    async def on_refund_conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RefundConflictError)
        log.warning("refused a refunds upload: conflicting refund numbers %s", ", ".join(exc.refund_nos))
        return error_response(409, i18n.REFUND_CONFLICT, {"conflicts": exc.refund_nos})

    async def on_refunds_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RefundsRefused)
        log.warning("refused a refunds upload: %s", str(exc)[:500])
        return error_response(422, i18n.REFUNDS_REFUSED, exc.detail())

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            text = i18n.NOT_FOUND.format(path=request.url.path)
        elif exc.status_code == 405:
            text = i18n.METHOD_NOT_ALLOWED.format(method=request.method, path=request.url.path)
        else:
            text = i18n.HTTP_ERROR.format(status=exc.status_code, reason=exc.detail)
        return error_response(exc.status_code, text, None, dict(exc.headers or {}))

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return error_response(503, i18n.DATABASE_BUSY, None, {"Retry-After": "5"})

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, i18n.SERVER_ERROR)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(SaleConflictError, on_conflict)
    app.add_exception_handler(RefundConflictError, on_refund_conflict)
    app.add_exception_handler(RefundsRefused, on_refunds_refused)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(peewee.OperationalError, on_database)
    app.add_exception_handler(Exception, on_crash)


def create_app(
    db_url: str, auth: AuthSection | None = None, clock: Callable[[], float] = time.monotonic
) -> FastAPI:
    """The HQ app on the database at ``db_url``, opened and migrated now so a bad URL fails at start.

    ``auth`` is the ``[auth]`` settings (hq/defaults/hq.toml): the identity file kiosks' secrets come
    from, the clock window, and how authentication failures are limited; ``clock`` is the limiter's,
    a monotonic clock in seconds, injected by tests so they need not wait for a window.
    """
    open_database(db_url)
    limits = auth if auth is not None else AuthSection()
    limiter = BadKeyLimiter(limits.max_failures, limits.window_s, clock)
    kiosk_auth = KioskAuth.load(identity_path(limits.identity_file, db_url), limits.clock_window_s, limiter)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        limiter.close()

    app = FastAPI(
        title="Kiosk HQ",
        version="1",
        description="Sync API for self-checkout kiosks: catalog down, sales and refunds up. See docs/hq.md.",
        lifespan=lifespan,
    )
    app.router.route_class = StrictJsonRoute
    app.state.key_limiter = limiter
    app.state.kiosk_auth = kiosk_auth
    _install_error_handlers(app)

    app.include_router(api_ops.router)
    app.include_router(receipts.router)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/v1/catalog", response_model=CatalogOut, responses=errors(401, 429, 500, 503))
    def get_catalog(device: SignedKiosk) -> CatalogOut:
        with connected():
            products = list_products()
        return CatalogOut(
            products=[
                ProductOut(
                    sku=p.sku,
                    name_zh=p.name_zh,
                    name_en=p.name_en,
                    price_fen=p.price_fen,
                    barcode=p.barcode,
                    category=p.category,
                    active=p.active,
                )
                for p in products
            ]
        )

    @app.post(
        "/api/v1/sales",
        response_model=IngestOut,
        responses=errors(401, 403, 409, 411, 413, 422, 429, 500, 503),
    )
    def post_sales(
        device: SignedKiosk,
        sales: Annotated[list[SaleIn], Body(max_length=MAX_SALES_PER_REQUEST)],
    ) -> IngestOut:
        wrong = [
            {"index": i, "order_id": sale.order_key, "kiosk_id": sale.kiosk_id}
            for i, sale in enumerate(sales)
            if sale.kiosk_id != device.kiosk_id
        ]
        if wrong:
            raise ApiError(
                403, i18n.WRONG_KIOSK.format(kiosk_id=device.kiosk_id), wrong[:MAX_SALES_PER_REQUEST]
            )
        with connected():
            result = ingest_sales(sales)
        log.info(
            "kiosk %s uploaded %d sales: %d new, %d already known",
            device.kiosk_id,
            len(sales),
            len(result.stored),
            len(result.duplicates),
        )
        return IngestOut(stored=result.stored, duplicates=result.duplicates)

    @app.post(
        "/api/v1/refunds",
        response_model=RefundIngestOut,
        responses=errors(401, 403, 409, 411, 413, 422, 429, 500, 503),
    )
    def post_refunds(
        device: SignedKiosk,
        refunds: Annotated[list[RefundIn], Body(max_length=MAX_REFUNDS_PER_REQUEST)],
    ) -> RefundIngestOut:
        wrong = [
            {"index": i, "out_refund_no": r.out_refund_no, "kiosk_id": r.kiosk_id}
            for i, r in enumerate(refunds)
            if r.kiosk_id != device.kiosk_id
        ]
        if wrong:
            raise ApiError(403, i18n.WRONG_KIOSK_REFUNDS.format(kiosk_id=device.kiosk_id), wrong)
        with connected():
            result = ingest_refunds(refunds)
        log.info(
            "kiosk %s uploaded %d refunds: %d new, %d already known",
            device.kiosk_id,
            len(refunds),
            len(result.stored),
            len(result.duplicates),
        )
        return RefundIngestOut(stored=result.stored, duplicates=result.duplicates)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(HqTime)
    app.add_middleware(HttpMetrics)
    return app
