"""The kiosk's adapter for the gateway simulator's JSON protocol (``payments.gateway = "simulator"``).

Its one rule: an answer that is not a well-formed reply about *this* order is not an answer. A
timeout, a refused connection, a 5xx, a page from some other server, or a reply about another
``out_trade_no`` raises :class:`~kiosk.ports.GatewayError`, which means "outcome unknown" — the
caller queries and, if still unsure, cancels. Only a well-formed ``failed`` (or a 400 to a pay
request, which the simulator guarantees charged nothing) is a decline.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests

from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, GatewayError, RefundRequest
from kiosk_common.codes import mask

log = logging.getLogger("kiosk.payments.simulator_gateway")

MAX_TIMEOUT_S = 120.0
MAX_ID_LEN = 64
MAX_REASON_LEN = 256
REASON_INVALID_REQUEST = "INVALID_REQUEST"


def parse_result(data: Any, out_trade_no: str) -> ChargeResult:
    """Check a reply's shape and that it is about ``out_trade_no``; GatewayError when it is not."""
    if not isinstance(data, dict):
        raise GatewayError(f"gateway reply is not a JSON object (got {type(data).__name__})")
    status_text = data.get("status")
    known = [s.value for s in ChargeStatus]
    if not isinstance(status_text, str) or status_text not in known:
        raise GatewayError(f"gateway reply has status {status_text!r}; expected one of {', '.join(known)}")
    status = ChargeStatus(status_text)
    echoed = data.get("out_trade_no")
    if echoed != out_trade_no:
        raise GatewayError(f"gateway reply is about out_trade_no {echoed!r}, not {out_trade_no!r}")
    transaction_id = data.get("transaction_id", "")
    reason = data.get("reason", "")
    if not isinstance(transaction_id, str) or len(transaction_id) > MAX_ID_LEN:
        raise GatewayError(
            f"gateway reply has a bad transaction_id (a string of at most {MAX_ID_LEN} expected)"
        )
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LEN:
        raise GatewayError(f"gateway reply has a bad reason (a string of at most {MAX_REASON_LEN} expected)")
    if status is ChargeStatus.PAID and not transaction_id:
        raise GatewayError("gateway reply says paid but has no transaction_id")
    return ChargeResult(
        status=status, out_trade_no=out_trade_no, transaction_id=transaction_id, reason=reason
    )


class SimulatorGateway:
    """:class:`~kiosk.ports.PaymentGateway` over the simulator's JSON protocol, with ``requests``.

    ``timeout_s`` bounds the connect and, separately, the wait for the answer. Pass a ``session`` to
    share a connection pool; otherwise the gateway owns one and ``close()`` releases it.
    """

    name = "simulator"

    def __init__(self, url: str, timeout_s: float, session: requests.Session | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"gateway url must look like http://127.0.0.1:8090, got {url!r}")
        if isinstance(timeout_s, bool) or not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(
                f"timeout_s must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds, got {timeout_s!r}"
            )
        self.url = url.rstrip("/")
        self.timeout_s = float(timeout_s)
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()

    def pay(self, request: ChargeRequest) -> ChargeResult:
        payload = {
            "out_trade_no": request.out_trade_no,
            "channel": request.channel,
            "auth_code": request.auth_code,
            "amount_fen": request.amount_fen,
            "subject": request.subject,
        }
        log.info(
            "pay %s %s %d fen code %s",
            request.out_trade_no,
            request.channel,
            request.amount_fen,
            mask(request.auth_code),
        )
        result = self._call("/v1/pay", payload, request.out_trade_no, rejection_is_decline=True)
        log.info("pay %s -> %s %s", request.out_trade_no, result.status.value, result.reason)
        return result

    def query(self, out_trade_no: str) -> ChargeResult:
        result = self._call("/v1/query", {"out_trade_no": out_trade_no}, out_trade_no)
        log.info("query %s -> %s %s", out_trade_no, result.status.value, result.reason)
        return result

    def cancel(self, out_trade_no: str) -> ChargeResult:
        result = self._call("/v1/cancel", {"out_trade_no": out_trade_no}, out_trade_no)
        log.info("cancel %s -> %s %s", out_trade_no, result.status.value, result.reason)
        return result

    def refund(self, request: RefundRequest) -> ChargeResult:
        """The JSON protocol has no refunds: use the Alipay or WeChat Pay protocol of the simulator."""
        raise GatewayError(
            "the simulator's JSON protocol has no refunds; configure payments.gateway wechat/alipay"
        )

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def _call(
        self, path: str, payload: dict[str, Any], out_trade_no: str, rejection_is_decline: bool = False
    ) -> ChargeResult:
        where = f"{self.url}{path}"
        try:
            response = self._session.post(
                where, json=payload, timeout=(self.timeout_s, self.timeout_s), allow_redirects=False
            )
        except requests.Timeout:
            raise GatewayError(f"{where}: no answer within {self.timeout_s:g} s; outcome unknown") from None
        except requests.RequestException as exc:
            raise GatewayError(
                f"{where}: cannot reach the gateway ({type(exc).__name__}); outcome unknown"
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        code = response.status_code
        if (
            code == 400
            and rejection_is_decline
            and isinstance(data, dict)
            and isinstance(data.get("error"), str)
        ):
            # The simulator validates before it records anything: a rejected pay charged nothing.
            error = data["error"][:200]
            log.warning("pay %s rejected by the gateway: %s", out_trade_no, error)
            return ChargeResult(ChargeStatus.FAILED, out_trade_no, "", f"{REASON_INVALID_REQUEST}: {error}")
        if code != 200:
            detail = data.get("error") if isinstance(data, dict) else None
            shown = f": {str(detail)[:200]}" if detail else ""
            raise GatewayError(f"{where}: gateway answered HTTP {code}{shown}; outcome unknown")
        if data is None:
            raise GatewayError(f"{where}: gateway answered something that is not JSON; outcome unknown")
        return parse_result(data, out_trade_no)
