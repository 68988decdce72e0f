"""The seam between the simulator's HTTP server and the wire protocols it speaks.

The server reads a request and offers it to each protocol in turn; the first one that claims the
path answers it. A protocol turns bytes into a :class:`~paysim.bank.PayOrder`, asks the
bank, and turns the answer back into bytes. There are the two real channels' protocols only: Alipay
(:mod:`paysim.alipay`, form posts to ``/gateway.do``, RSA2) and WeChat Pay v2 (:mod:`paysim.wechat`,
XML posts to ``/pay/micropay`` ..., HMAC-SHA256/MD5), sharing the same bank and ledger. The kiosk
speaks to the simulator exactly as it speaks to the channels: there is one payment path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from paysim.bank import SimulatedBank


@dataclass(frozen=True, slots=True)
class SimRequest:
    """One HTTP request, already read off the socket; header names are lower case."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class SimReply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    #: close the connection without answering (the "network drop after charging" outcome)
    drop: bool = False
    #: answer this many seconds late (the "slow response" outcome)
    delay_s: float = 0.0


def json_reply(status: int, payload: object) -> SimReply:
    """A JSON answer; non-ASCII text (Chinese subjects, messages) is sent as UTF-8, not escaped."""
    return SimReply(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def json_error(status: int, message: str, field_name: str = "") -> SimReply:
    """The one error shape of the simulator: what was wrong, and which field, if one."""
    payload: dict[str, str] = {"error": message}
    if field_name:
        payload["field"] = field_name
    return json_reply(status, payload)


class SimProtocol(Protocol):
    """A wire protocol the simulator speaks."""

    name: str

    def handle(self, request: SimRequest, bank: SimulatedBank) -> SimReply | None:
        """The answer, or None when the path is not this protocol's (the next protocol is asked).

        Must never raise on bad input: malformed requests get a 4xx reply that names the problem.
        """
