"""``FakePaymentGateway``: the network edge of payment, scripted, for tests of the code that charges.

Each method answers from its own script, in order: a :class:`~kiosk.ports.ChargeStatus` (turned into
a result about the request's order), a whole :class:`~kiosk.ports.ChargeResult` (returned as given,
so a test can play a gateway that talks about the wrong order), or an exception instance (raised,
typically a :class:`~kiosk.ports.GatewayError`). When a script runs out the fake behaves like a
well-mannered gateway: pay succeeds, query repeats the order's last known state, cancel cancels.
Every call is recorded in ``calls`` so a test can assert what was asked and how often.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable

from kiosk.core.payment import ChannelRules
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus, RefundRequest

#: short timers for a fake gateway; with a FakeClock they pass in no real time at all
FAST_RULES = ChannelRules("fake", query_interval_s=0.5, give_up_after_s=1.0, cancel_retry_interval_s=0.5)

Outcome = ChargeStatus | ChargeResult | BaseException

DEFAULT_REASONS = {
    ChargeStatus.FAILED: "DECLINED",
    ChargeStatus.USER_PAYING: "USER_PAYING",
    ChargeStatus.UNKNOWN: "ORDER_NOT_EXIST",
}


class FakePaymentGateway:
    """A :class:`~kiosk.ports.PaymentGateway` whose answers a test writes down in advance."""

    name = "fake"

    def __init__(
        self,
        pay: Iterable[Outcome] = (),
        query: Iterable[Outcome] = (),
        cancel: Iterable[Outcome] = (),
        refund: Iterable[Outcome] = (),
        rules: ChannelRules = FAST_RULES,
    ) -> None:
        self.rules = rules
        self._scripts: dict[str, deque[Outcome]] = {
            "pay": deque(pay),
            "query": deque(query),
            "cancel": deque(cancel),
            "refund": deque(refund),
        }
        self._lock = threading.Lock()
        self._last: dict[str, ChargeResult] = {}
        self._txn_seq = 0
        #: (method, out_trade_no) for every call, in order
        self.calls: list[tuple[str, str]] = []
        #: every ChargeRequest passed to pay(), in order
        self.requests: list[ChargeRequest] = []

    def rules_for(self, channel: str) -> ChannelRules:
        return self.rules

    def pay(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            self.requests.append(request)
            return self._answer("pay", request.out_trade_no, ChargeStatus.PAID)

    def query(self, out_trade_no: str) -> ChargeResult:
        with self._lock:
            known = self._last.get(out_trade_no)
            fallback = known.status if known is not None else ChargeStatus.UNKNOWN
            return self._answer("query", out_trade_no, fallback)

    def cancel(self, out_trade_no: str) -> ChargeResult:
        with self._lock:
            return self._answer("cancel", out_trade_no, ChargeStatus.CANCELLED)

    def refund(self, request: RefundRequest) -> ChargeResult:
        with self._lock:
            return self._answer("refund", request.out_trade_no, ChargeStatus.REFUNDED)

    def count(self, method: str, out_trade_no: str | None = None) -> int:
        """How many times ``method`` was called (for one order, when given)."""
        with self._lock:
            return sum(
                1 for m, o in self.calls if m == method and (out_trade_no is None or o == out_trade_no)
            )

    def _answer(self, method: str, out_trade_no: str, fallback: ChargeStatus) -> ChargeResult:
        self.calls.append((method, out_trade_no))
        script = self._scripts[method]
        outcome: Outcome = script.popleft() if script else fallback
        if isinstance(outcome, BaseException):
            raise outcome
        result = outcome if isinstance(outcome, ChargeResult) else self._result(out_trade_no, outcome)
        if result.out_trade_no == out_trade_no:
            self._last[out_trade_no] = result
        return result

    def _result(self, out_trade_no: str, status: ChargeStatus) -> ChargeResult:
        known = self._last.get(out_trade_no)
        transaction_id = ""
        if status in (ChargeStatus.PAID, ChargeStatus.CANCELLED):
            if known is not None and known.transaction_id:
                transaction_id = known.transaction_id
            elif status is ChargeStatus.PAID:
                self._txn_seq += 1
                transaction_id = f"FAKE{self._txn_seq:08d}"
        return ChargeResult(status, out_trade_no, transaction_id, DEFAULT_REASONS.get(status, ""))
