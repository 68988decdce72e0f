"""The simple JSON protocol of the walking skeleton: the only protocol-specific part of the simulator.

``POST /v1/pay``    ``{out_trade_no, channel, auth_code, amount_fen, subject}``
``POST /v1/query``  ``{out_trade_no}``
``POST /v1/cancel`` ``{out_trade_no}``

Each answers 200 with ``{status, out_trade_no, transaction_id, reason}``, where status is one of
``paid``, ``failed``, ``user_paying``, ``unknown`` (never seen) or ``cancelled``. A request the
simulator cannot accept gets 400 ``{"error": ..., "field": ...}`` and is not recorded at all, so a 400
to a pay request means nothing was charged. Reusing an ``out_trade_no`` for a different charge gets
409: the earlier trade stands, and a query tells what became of it.

Limits follow the stricter of the two real channels, so a kiosk that passes here is not refused
later by WeChat Pay (``out_trade_no`` at most 32 characters, ``subject`` at most 128).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any

from kiosk.core.codes import CodeKind, classify
from kiosk.ports import ChargeStatus
from kiosk_common.codes import mask
from paysim.bank import (
    DELIVER_DROP,
    DELIVER_SLOW,
    DELIVER_SYSTEM_ERROR,
    PayOrder,
    SimulatedBank,
    TradeConflict,
    TradeView,
)
from paysim.protocol import SimReply, SimRequest, json_error, json_reply

log = logging.getLogger("paysim.server")

MAX_AMOUNT_FEN = 10_000_000
MAX_SUBJECT_LEN = 128
OUT_TRADE_NO_RE = re.compile(r"[A-Za-z0-9_-]{1,32}")
CHANNELS = ("wechat", "alipay")
CHANNEL_NAMES = {CodeKind.WECHAT: "WeChat Pay", CodeKind.ALIPAY: "Alipay"}

PAY_FIELDS = ("out_trade_no", "channel", "auth_code", "amount_fen", "subject")
ORDER_FIELDS = ("out_trade_no",)


class _BadField(ValueError):
    def __init__(self, field_name: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field_name = field_name
        self.status = status


def _shown(value: object) -> str:
    """A short, safe picture of a rejected value for an error message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _body_object(request: SimRequest, allowed: tuple[str, ...]) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _BadField(
            "content-type",
            f"send the body as JSON with Content-Type: application/json (got {content_type or 'none'!r})",
            415,
        )
    try:
        data = json.loads(request.body.decode("utf-8"))
    except UnicodeDecodeError:
        raise _BadField("body", "the body is not UTF-8 text; send a UTF-8 JSON object") from None
    except json.JSONDecodeError as exc:
        raise _BadField(
            "body", f"the body is not valid JSON ({exc.msg} at {exc.pos}); send a JSON object"
        ) from None
    if not isinstance(data, dict):
        raise _BadField("body", f"the body must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise _BadField(unknown[0], f"{unknown[0]}: no such field; the fields are {', '.join(allowed)}")
    missing = [name for name in allowed if name not in data]
    if missing:
        raise _BadField(missing[0], f"{missing[0]}: required field is missing")
    return data


def _out_trade_no(value: object) -> str:
    if not isinstance(value, str) or not OUT_TRADE_NO_RE.fullmatch(value):
        raise _BadField(
            "out_trade_no",
            f"out_trade_no: must be 1 to 32 letters, digits, '_' or '-'; got {_shown(value)}",
        )
    return value


def _channel(value: object) -> str:
    if value not in CHANNELS:
        raise _BadField("channel", f"channel: must be one of {', '.join(CHANNELS)}; got {_shown(value)}")
    assert isinstance(value, str)
    return value


def _auth_code(value: object, channel: str) -> str:
    if not isinstance(value, str):
        raise _BadField("auth_code", f"auth_code: must be a string of digits, got {type(value).__name__}")
    classified = classify(value)
    if not classified.is_payment or classified.text != value:
        raise _BadField(
            "auth_code",
            f"auth_code: {mask(value[:64])} is not a WeChat Pay code (18 digits starting 10-15) "
            "or an Alipay code (16-24 digits starting 25-30); scan the customer's code again",
        )
    if classified.kind != CodeKind(channel):
        raise _BadField(
            "channel",
            f"channel: {channel} does not match auth_code {mask(value)}, a code for "
            f"{CHANNEL_NAMES[classified.kind]}; route the code by its prefix",
        )
    return value


def _amount_fen(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_AMOUNT_FEN:
        raise _BadField(
            "amount_fen",
            f"amount_fen: must be a whole number of fen from 1 to {MAX_AMOUNT_FEN}; got {_shown(value)}",
        )
    return value


def _subject(value: object) -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= MAX_SUBJECT_LEN
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    ):
        raise _BadField(
            "subject",
            f"subject: must be 1 to {MAX_SUBJECT_LEN} characters without control characters; got {_shown(value)}",
        )
    return value


def _view_json(view: TradeView) -> dict[str, str]:
    return {
        "status": view.status.value,
        "out_trade_no": view.out_trade_no,
        "transaction_id": view.transaction_id,
        "reason": view.reason,
    }


class JsonProtocol:
    """``/v1/pay``, ``/v1/query`` and ``/v1/cancel`` as JSON posts; see the module docstring."""

    name = "json"

    def __init__(self) -> None:
        self._routes: dict[str, Callable[[SimRequest, SimulatedBank], SimReply]] = {
            "/v1/pay": self._pay,
            "/v1/query": self._query,
            "/v1/cancel": self._cancel,
        }

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        route = self._routes.get(request.path)
        if route is None:
            return None
        if request.method != "POST":
            return json_error(405, f"{request.path} takes POST, not {request.method}")
        try:
            return route(request, bank)
        except _BadField as exc:
            log.info("rejected %s: %s", request.path, exc)
            return json_error(exc.status, str(exc), exc.field_name)

    def _pay(self, request: SimRequest, bank: SimulatedBank) -> SimReply:
        data = _body_object(request, PAY_FIELDS)
        out_trade_no = _out_trade_no(data["out_trade_no"])
        channel = _channel(data["channel"])
        order = PayOrder(
            out_trade_no=out_trade_no,
            channel=channel,
            auth_code=_auth_code(data["auth_code"], channel),
            amount_fen=_amount_fen(data["amount_fen"]),
            subject=_subject(data["subject"]),
        )
        try:
            view = bank.pay(order)
        except TradeConflict as exc:
            log.info("pay %s conflicts with an earlier trade", out_trade_no)
            return json_error(409, str(exc), "out_trade_no")
        log.info(
            "pay %s %s %d fen code %s -> %s %s",
            out_trade_no,
            channel,
            order.amount_fen,
            mask(order.auth_code),
            view.status.value,
            view.reason,
        )
        if view.deliver == DELIVER_SYSTEM_ERROR:
            return json_reply(
                200, _view_json(TradeView(out_trade_no, ChargeStatus.UNKNOWN, "", "SYSTEM_ERROR"))
            )
        reply = json_reply(200, _view_json(view))
        if view.deliver == DELIVER_DROP:
            return SimReply(reply.status, reply.body, drop=True)
        if view.deliver == DELIVER_SLOW:
            return SimReply(reply.status, reply.body, delay_s=bank.slow_s)
        return reply

    def _query(self, request: SimRequest, bank: SimulatedBank) -> SimReply:
        out_trade_no = _out_trade_no(_body_object(request, ORDER_FIELDS)["out_trade_no"])
        view = bank.query(out_trade_no)
        log.info("query %s -> %s %s", out_trade_no, view.status.value, view.reason)
        return json_reply(200, _view_json(view))

    def _cancel(self, request: SimRequest, bank: SimulatedBank) -> SimReply:
        out_trade_no = _out_trade_no(_body_object(request, ORDER_FIELDS)["out_trade_no"])
        view = bank.cancel(out_trade_no)
        log.info("cancel %s -> %s %s", out_trade_no, view.status.value, view.reason)
        return json_reply(200, _view_json(view))
