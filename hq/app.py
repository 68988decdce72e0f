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
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

import peewee
from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from hq import i18n
from hq.catalog import list_products
from hq.db import connected, open_database
from hq.devices import DeviceInfo, authenticate
from hq.i18n import Text
from hq.jsonbody import StrictJsonRoute
from hq.keylimit import BadKeyLimiter, client_key
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

#: 1,000 sales of 50 lines each fit with room to spare; anything bigger is refused before it is read
MAX_BODY_BYTES = 16 * 1024 * 1024
#: at most this many problems are listed per sale, so one absurd record cannot bloat the answer
MAX_PROBLEMS_PER_RECORD = 10
#: longest text an answer echoes from the request (a value, an order id); longer ones are clipped
MAX_ECHO_CHARS = 80
#: longest field path or problem text in an answer (a path may hold a field name the client made up)
MAX_PROBLEM_CHARS = 300

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]


class ApiError(Exception):
    """An answer other than success: the HTTP status, the text for people, and where it went wrong."""

    def __init__(
        self, status: int, text: Text, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(text.en)
        self.status = status
        self.text = text
        self.detail = detail
        self.headers = headers


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


# --- error answers, as /openapi.json documents them -------------------------------------------------


class FieldProblem(BaseModel):
    """One thing wrong with one part of a request."""

    field: str = Field(description="where: `body`, a field path such as `lines[1].qty`, or `order_id`")
    problem: str = Field(description="what is wrong, and what to send instead")
    value: str | int | float | bool | None = Field(
        None, description="the value sent, clipped; absent when it was a list or an object"
    )


class RecordProblems(BaseModel):
    """What is wrong with one record of an upload: its position in the list, its id, its problems."""

    index: int = Field(ge=0)
    order_id: str | None = Field(None, description="the record's order_id as sent (clipped), if any")
    out_refund_no: str | None = Field(None, description="for a refund HQ refused: its out_refund_no")
    problems: list[FieldProblem]


class WrongKioskRecord(BaseModel):
    """A record that names another kiosk than the one the API key belongs to."""

    index: int = Field(ge=0)
    kiosk_id: str
    order_id: str | None = None
    out_refund_no: str | None = None


class Conflicts(BaseModel):
    conflicts: list[str] = Field(description="order_ids (sales) or out_refund_nos (refunds) at fault")


class ErrorOut(BaseModel):
    """An error with nothing more to point at: the two texts say what was wrong and what to do."""

    error: str = Field(description="what was wrong and what to do, in English")
    error_zh: str = Field(description="the same in Simplified Chinese")
    detail: None


class InvalidOut(BaseModel):
    """A request HQ cannot take as it stands (422): ``detail`` names each record or part at fault."""

    error: str
    error_zh: str
    detail: list[RecordProblems | FieldProblem]


class WrongKioskOut(BaseModel):
    """Records of another kiosk (403): ``detail`` lists them; nothing was stored."""

    error: str
    error_zh: str
    detail: list[WrongKioskRecord]


class ConflictOut(BaseModel):
    """Records that differ from what HQ holds under the same id (409); nothing was stored."""

    error: str
    error_zh: str
    detail: Conflicts


_RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer"}}
_ERROR_DOCS: dict[int, dict[str, Any]] = {
    401: {
        "model": ErrorOut,
        "description": "No API key, or one HQ does not know: an HQ admin runs `hq device add KIOSK_ID`",
        "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
    },
    403: {"model": WrongKioskOut, "description": "Records that name another kiosk than the key's"},
    409: {"model": ConflictOut, "description": "A different record under an id HQ already holds"},
    411: {"model": ErrorOut, "description": "A body without Content-Length"},
    413: {"model": ErrorOut, "description": f"A body over {MAX_BODY_BYTES} bytes"},
    422: {"model": InvalidOut, "description": "A body that is not valid JSON or breaks the contract"},
    429: {
        "model": ErrorOut,
        "description": "Too many unknown API keys from this address: wait for Retry-After",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
    500: {"model": ErrorOut, "description": "HQ failed; nothing from the request was stored"},
    503: {
        "model": ErrorOut,
        "description": "The database is busy or unreachable; nothing was stored",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: _ERROR_DOCS[status] for status in statuses}


def _error_response(
    status: int, text: Text, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": text.en, "error_zh": text.zh, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


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
                    response = _error_response(413, i18n.TOO_LARGE.format(limit=self.limit))
                else:
                    response = _error_response(411, i18n.LENGTH_REQUIRED)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _clip(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, and safe to send as UTF-8 whatever it held."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _short(value: Any) -> Any:
    """An offending input small enough to echo back, or its type name.

    Numbers stay numbers while they are short; a non-finite float (which JSON cannot carry) and a
    long number are sent as clipped text.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else _clip(str(value), 24)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _clip(value)
    return f"({type(value).__name__})"


def _field_path(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return _clip(out, MAX_PROBLEM_CHARS) or "(the record)"


def _problem(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    return _clip(msg.removeprefix("Value error, "), MAX_PROBLEM_CHARS)


def _validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per sale record at fault (index, order_id, problems), or per other part of the request."""
    body = exc.body if isinstance(exc.body, list) else []
    records: dict[int, dict[str, Any]] = {}
    other: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            reason = _clip(str((err.get("ctx") or {}).get("error", "")), MAX_PROBLEM_CHARS)
            other.append({"field": "body", "problem": f"not valid JSON ({reason}) at character {loc[-1]}"})
        elif loc == ("body",):
            hint = "; send a JSON list of sale records with Content-Type: application/json"
            other.append({"field": "body", "problem": _problem(err) + hint})
        elif len(loc) >= 2 and loc[0] == "body" and isinstance(loc[1], int):
            index = loc[1]
            raw = body[index] if index < len(body) else None
            order_id = raw.get("order_id") if isinstance(raw, dict) else None
            entry = records.setdefault(
                index,
                {
                    "index": index,
                    "order_id": _clip(order_id) if isinstance(order_id, str) else None,
                    "problems": [],
                },
            )
            if len(entry["problems"]) < MAX_PROBLEMS_PER_RECORD:
                problem = {"field": _field_path(loc[2:]), "problem": _problem(err)}
                if not isinstance(err.get("input"), dict | list):
                    problem["value"] = _short(err.get("input"))
                entry["problems"].append(problem)
        else:
            where = _clip(".".join(str(p) for p in loc), MAX_PROBLEM_CHARS) or "request"
            other.append({"field": where, "problem": _problem(err)})
    return other + [records[i] for i in sorted(records)]


def _install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error_response(exc.status, exc.text, exc.detail, exc.headers)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        path = request.url.path
        if path == "/api/v1/sales":
            text = i18n.INVALID_SALES
        elif path == "/api/v1/refunds":
            text = i18n.INVALID_REFUNDS
        else:
            text = i18n.INVALID_REQUEST
        return _error_response(422, text, _validation_detail(exc))

    async def on_conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SaleConflictError)
        log.warning("refused a sales upload: conflicting order ids %s", ", ".join(exc.order_ids))
        return _error_response(409, i18n.CONFLICT, {"conflicts": exc.order_ids})

    async def on_refund_conflict(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RefundConflictError)
        log.warning("refused a refunds upload: conflicting refund numbers %s", ", ".join(exc.refund_nos))
        return _error_response(409, i18n.REFUND_CONFLICT, {"conflicts": exc.refund_nos})

    async def on_refunds_refused(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RefundsRefused)
        log.warning("refused a refunds upload: %s", str(exc)[:500])
        return _error_response(422, i18n.REFUNDS_REFUSED, exc.detail())

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            text = i18n.NOT_FOUND.format(path=request.url.path)
        elif exc.status_code == 405:
            text = i18n.METHOD_NOT_ALLOWED.format(method=request.method, path=request.url.path)
        else:
            text = i18n.HTTP_ERROR.format(status=exc.status_code, reason=exc.detail)
        return _error_response(exc.status_code, text, None, dict(exc.headers or {}))

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        return _error_response(503, i18n.DATABASE_BUSY, None, {"Retry-After": "5"})

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _error_response(500, i18n.SERVER_ERROR)

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(SaleConflictError, on_conflict)
    app.add_exception_handler(RefundConflictError, on_refund_conflict)
    app.add_exception_handler(RefundsRefused, on_refunds_refused)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(peewee.OperationalError, on_database)
    app.add_exception_handler(Exception, on_crash)


_bearer = HTTPBearer(auto_error=False, description="the kiosk's API key from `hq device add KIOSK_ID`")


def current_device(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeviceInfo:
    """The kiosk the request's key belongs to; 401 with what to do when there is none.

    An address that has presented too many unknown keys is answered 429 before its key is looked
    at; unknown keys are counted (and logged once per window) by the app's ``BadKeyLimiter``.
    """
    limiter = cast(BadKeyLimiter, request.app.state.key_limiter)
    client = client_key(request.client.host if request.client else None)
    wait = limiter.retry_after(client)
    if wait is not None:
        raise ApiError(429, i18n.TOO_MANY_BAD_KEYS.format(seconds=wait), None, {"Retry-After": str(wait)})
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise ApiError(401, i18n.MISSING_KEY, None, challenge)
    with connected():
        device = authenticate(credentials.credentials)
    if device is None:
        limiter.refused(client, credentials.credentials)
        raise ApiError(401, i18n.UNKNOWN_KEY, None, challenge)
    return device


Authenticated = Annotated[DeviceInfo, Depends(current_device)]


def create_app(
    db_url: str, auth: AuthSection | None = None, clock: Callable[[], float] = time.monotonic
) -> FastAPI:
    """The HQ app on the database at ``db_url``, opened and migrated now so a bad URL fails at start.

    ``auth`` sets how unknown API keys are limited (``[auth]`` in the settings, hq/defaults/hq.toml); ``clock`` is the
    limiter's, a monotonic clock in seconds, injected by tests so they need not wait for a window.
    """
    open_database(db_url)
    limits = auth if auth is not None else AuthSection()
    limiter = BadKeyLimiter(limits.max_failures, limits.window_s, clock)

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
    _install_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/api/v1/catalog", response_model=CatalogOut, responses=_errors(401, 429, 500, 503))
    def get_catalog(device: Authenticated) -> CatalogOut:
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
        responses=_errors(401, 403, 409, 411, 413, 422, 429, 500, 503),
    )
    def post_sales(
        device: Authenticated,
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
        responses=_errors(401, 403, 409, 411, 413, 422, 429, 500, 503),
    )
    def post_refunds(
        device: Authenticated,
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
    return app
