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
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import peewee
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hq import (
    api_admin,
    api_enrol,
    api_ops,
    api_ota,
    api_staff,
    api_support,
    api_sync,
    api_totals,
    api_tuf,
    i18n,
    receipts,
)
from hq.asgi import Asgi, Message, Receive, Scope, Send
from hq.auth import KioskAuth, identity_path
from hq.db import open_database
from hq.errors import MAX_BODY_BYTES, ApiError, error_response, validation_detail
from hq.jsonbody import StrictJsonRoute
from hq.keylimit import BadKeyLimiter
from hq.metrics import HttpMetrics
from hq.settings import AuthSection, WebhooksSection
from hq.staff import load_badge_key, public_key_b64
from hq.webhooks import Deliverer, DelivererThread, load_secret, secret_path

log = logging.getLogger(__name__)


#: the sync protocol version this HQ speaks (docs/sync-protocol.md)
SYNC_PROTOCOL = 1


class HqTime:
    """Stamp every answer, errors included, with HQ's clock (``X-HQ-Time``, unix seconds), from which
    kiosks measure their clock skew, and with the sync protocol version HQ speaks; refuse (400) a
    kiosk request that asks for a version HQ does not speak (docs/sync-protocol.md §2 and top)."""

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
                headers.append((b"x-sync-protocol", str(SYNC_PROTOCOL).encode("ascii")))
                message["headers"] = headers
            await send(message)

        asked = dict(scope["headers"]).get(b"x-sync-protocol")
        if asked is not None and asked.strip() != str(SYNC_PROTOCOL).encode("ascii"):
            shown = asked.decode("latin-1")[:16]
            response = error_response(
                400, i18n.PROTOCOL_UNKNOWN.format(asked=shown), {"supported": [SYNC_PROTOCOL]}
            )
            await response(scope, receive, stamped)
            return
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
        text = i18n.INVALID_EVENTS if request.url.path == api_sync.EVENTS_PATH else i18n.INVALID_REQUEST
        return error_response(422, text, validation_detail(exc))

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
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(peewee.OperationalError, on_database)
    app.add_exception_handler(Exception, on_crash)


def create_app(
    db_url: str,
    auth: AuthSection | None = None,
    clock: Callable[[], float] = time.monotonic,
    webhooks: WebhooksSection | None = None,
    deliver: bool = True,
) -> FastAPI:
    """The HQ app on the database at ``db_url``, opened and migrated now so a bad URL fails at start.

    ``auth`` is the ``[auth]`` settings (hq/defaults/hq.toml): the identity file kiosks' secrets come
    from, the clock window, and how authentication failures are limited; ``clock`` is the limiter's,
    a monotonic clock in seconds, injected by tests so they need not wait for a window. ``webhooks``
    is the ``[webhooks]`` section: with a url, stored sales and refunds are published and this
    process runs a deliverer thread while it serves (unless ``deliver`` is False: tests drive it).
    """
    open_database(db_url)
    limits = auth if auth is not None else AuthSection()
    limiter = BadKeyLimiter(limits.max_failures, limits.window_s, clock)
    identity_file = identity_path(limits.identity_file, db_url)
    kiosk_auth = KioskAuth.load(identity_file, limits.clock_window_s, limiter)
    # made here, before any worker starts, like the identity file; kiosks get its public half
    badge_key = load_badge_key(identity_file)
    badge_public_key = public_key_b64(badge_key)
    hooks = webhooks if webhooks is not None else WebhooksSection()
    deliverer = None
    if hooks.url:
        secret = load_secret(secret_path(hooks.secret_file, db_url))
        deliverer = Deliverer(hooks.url, secret, hooks.timeout_s, float(hooks.max_age_s))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        thread = DelivererThread(deliverer) if deliverer is not None and deliver else None
        if thread is not None:
            thread.start()
        yield
        if thread is not None and not thread.stop():
            log.warning("the webhook deliverer did not stop in time; its leases run out on their own")
        limiter.close()

    app = FastAPI(
        title="Kiosk HQ",
        version="1",
        description="Sync API for self-checkout kiosks: events up, catalog down. See docs/sync-protocol.md.",
        lifespan=lifespan,
    )
    app.router.route_class = StrictJsonRoute
    app.state.key_limiter = limiter
    app.state.kiosk_auth = kiosk_auth
    app.state.badge_public_key = badge_public_key
    app.state.badge_key = badge_key  # signs the badges admins issue (hq.api_staff)
    app.state.publish_webhooks = deliverer is not None
    _install_error_handlers(app)

    app.include_router(api_enrol.router)
    app.include_router(api_admin.router)
    app.include_router(api_staff.router)
    app.include_router(api_ota.admin_router)
    app.include_router(api_ota.router)
    app.include_router(api_ops.router)
    app.include_router(receipts.router)
    app.state.support_dir = identity_path(limits.identity_file, db_url).parent / api_support.UPLOADS
    app.include_router(api_support.router)
    # the signed update repository (ota repo / ota release publish write it), public and read-only
    app.state.tuf_dir = api_tuf.repository_folder(identity_path(limits.identity_file, db_url).parent)
    app.include_router(api_tuf.router)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    app.include_router(api_sync.router)
    app.include_router(api_totals.router)
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(HqTime)
    app.add_middleware(HttpMetrics)
    return app
