"""HQ's error answers: ``ApiError``, the JSON every error is sent as, and how OpenAPI documents it.

Every error is JSON ``{"error": ..., "error_zh": ..., "detail": ...}``: the two texts say what was
wrong and what to do, ``detail`` says where. Routers declare their errors with ``errors(...)`` so the
OpenAPI document describes each answer as it is really sent; an answer never echoes more than a
short, clipped form of what was sent.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from hq.i18n import Text

#: 1,000 sales of 50 lines each fit with room to spare; anything bigger is refused before it is read
MAX_BODY_BYTES = 16 * 1024 * 1024
#: at most this many problems are listed per sale, so one absurd record cannot bloat the answer
MAX_PROBLEMS_PER_RECORD = 10
#: longest text an answer echoes from the request (a value, an order id); longer ones are clipped
MAX_ECHO_CHARS = 80
#: longest field path or problem text in an answer (a path may hold a field name the client made up)
MAX_PROBLEM_CHARS = 300


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


class AuthRefusal(BaseModel):
    reason: Literal["missing", "unknown_kiosk", "revoked", "signature", "clock", "replay"]


class UnauthorizedOut(BaseModel):
    """A request no enrolled kiosk signed (401): ``detail.reason`` says which check failed."""

    error: str
    error_zh: str
    detail: AuthRefusal | None


class SupportedProtocols(BaseModel):
    supported: list[int]


class ProtocolOut(BaseModel):
    """A sync protocol version HQ does not speak (400): update the kiosk or HQ."""

    error: str
    error_zh: str
    detail: SupportedProtocols


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
ERROR_DOCS: dict[int, dict[str, Any]] = {
    400: {
        "model": ProtocolOut,
        "description": "The request's `X-Sync-Protocol` is a version HQ does not speak; "
        "`detail.supported` lists those it does",
    },
    401: {
        "model": UnauthorizedOut,
        "description": "Not signed by an enrolled kiosk (docs/sync-protocol.md §2): `detail.reason` is "
        "`missing`, `unknown_kiosk`, `revoked`, `signature`, `clock` or `replay`",
        "headers": {"WWW-Authenticate": {"description": "`Kiosk-HMAC-SHA256`", "schema": {"type": "string"}}},
    },
    403: {"model": WrongKioskOut, "description": "Records that name another kiosk than the key's"},
    409: {"model": ConflictOut, "description": "A different record under an id HQ already holds"},
    411: {"model": ErrorOut, "description": "A body without Content-Length"},
    413: {"model": ErrorOut, "description": f"A body over {MAX_BODY_BYTES} bytes"},
    422: {"model": InvalidOut, "description": "A body that is not valid JSON or breaks the contract"},
    429: {
        "model": ErrorOut,
        "description": "Too many failed sign-ins from this address: wait for Retry-After",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
    500: {"model": ErrorOut, "description": "HQ failed; nothing from the request was stored"},
    503: {
        "model": ErrorOut,
        "description": "The database is busy or unreachable; nothing was stored",
        "headers": {"Retry-After": _RETRY_AFTER},
    },
}


# answers of the enrolment and admin endpoints, which are not signed by a kiosk
ENROL_REFUSED_DOC: dict[str, Any] = {
    "model": ErrorOut,
    "description": "The enrolment code is wrong, used or expired (one answer for all three, so nobody "
    "learns which codes exist)",
}
ENROL_CONFLICT_DOC: dict[str, Any] = {
    "model": ErrorOut,
    "description": "The kiosk id is enrolled in another store",
}
ADMIN_UNAUTHORIZED_DOC: dict[str, Any] = {
    "model": ErrorOut,
    "description": "No admin session: a missing, unknown or expired bearer token, or (for login) a wrong "
    "name or password or a disabled admin",
    "headers": {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}},
}
NOT_FOUND_DOC: dict[str, Any] = {"model": ErrorOut, "description": "No store or kiosk with that id"}
EXISTS_DOC: dict[str, Any] = {"model": ErrorOut, "description": "A store with that code exists already"}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: ERROR_DOCS[status] for status in statuses}


def error_response(
    status: int, text: Text, detail: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": text.en, "error_zh": text.zh, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


def clip(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, and safe to send as UTF-8 whatever it held."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def short(value: Any) -> Any:
    """An offending input small enough to echo back, or its type name.

    Numbers stay numbers while they are short; a non-finite float (which JSON cannot carry) and a
    long number are sent as clipped text.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else clip(str(value), 24)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return clip(value)
    return f"({type(value).__name__})"


def field_path(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return clip(out, MAX_PROBLEM_CHARS) or "(the record)"


def problem_text(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    return clip(msg.removeprefix("Value error, "), MAX_PROBLEM_CHARS)


def validation_detail(exc: RequestValidationError) -> list[dict[str, Any]]:
    """One entry per sale record at fault (index, order_id, problems), or per other part of the request."""
    body = exc.body if isinstance(exc.body, list) else []
    records: dict[int, dict[str, Any]] = {}
    other: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            reason = clip(str((err.get("ctx") or {}).get("error", "")), MAX_PROBLEM_CHARS)
            other.append({"field": "body", "problem": f"not valid JSON ({reason}) at character {loc[-1]}"})
        elif loc == ("body",):
            hint = "; send the JSON body the API document describes, with Content-Type: application/json"
            other.append({"field": "body", "problem": problem_text(err) + hint})
        elif len(loc) >= 2 and loc[0] == "body" and isinstance(loc[1], int):
            index = loc[1]
            raw = body[index] if index < len(body) else None
            order_id = raw.get("order_id") if isinstance(raw, dict) else None
            entry = records.setdefault(
                index,
                {
                    "index": index,
                    "order_id": clip(order_id) if isinstance(order_id, str) else None,
                    "problems": [],
                },
            )
            if len(entry["problems"]) < MAX_PROBLEMS_PER_RECORD:
                problem = {"field": field_path(loc[2:]), "problem": problem_text(err)}
                if not isinstance(err.get("input"), dict | list):
                    problem["value"] = short(err.get("input"))
                entry["problems"].append(problem)
        else:
            where = clip(".".join(str(p) for p in loc), MAX_PROBLEM_CHARS) or "request"
            other.append({"field": where, "problem": problem_text(err)})
    return other + [records[i] for i in sorted(records)]
