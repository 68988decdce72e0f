"""The money side of the gateway simulator: which charge succeeds, what was charged, what was reversed.

This module knows nothing about HTTP or wire formats, so the WeChat Pay and Alipay protocols play the
same customers against one ledger.
The outcome of a charge is chosen by the last four digits of the payment code, which lets a test or
an installer pick the outcome by choosing the code:

========  =========================================================================================
``9001``  the customer must enter a password: "user paying", then paid ``password_delay_s`` later
``9002``  failed, ``INSUFFICIENT_FUNDS`` (余额不足, the balance is not enough)
``9003``  failed, ``AUTH_CODE_EXPIRED`` (the customer showed an old code)
``9004``  the customer must enter a password and never does: "user paying" until cancelled
``9005``  the gateway answers "system error" to the pay, though the charge went through
``9006``  the charge goes through, then the connection drops before the answer is sent
``9007``  paid, but the answer comes ``slow_s`` late
other     paid at once
========  =========================================================================================

A code submitted for a charge that was paid or waited for a password is used up, as with the real
channels: charging it again fails with ``AUTH_CODE_USED``. Payment codes are kept only as a SHA-256
digest and a masked form, so a dump of the simulator holds no usable code.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from kiosk.core.money import Fen
from kiosk.ports import ChargeStatus
from kiosk_common.codes import mask

SUFFIX_USER_PAYING = "9001"
SUFFIX_INSUFFICIENT_FUNDS = "9002"
SUFFIX_EXPIRED = "9003"
SUFFIX_NEVER_CONFIRMED = "9004"
SUFFIX_SYSTEM_ERROR = "9005"
SUFFIX_DROP_AFTER_CHARGE = "9006"
SUFFIX_SLOW = "9007"

#: outcomes an admin call may script for the next pay, whatever the code's digits say
OUTCOMES = (
    "success",
    "password_then_success",
    "password_then_timeout",
    "insufficient_funds",
    "expired",
    "system_error",
    "drop_after_charge",
    "slow",
)
#: outcomes an admin call may script for the next refund call: "drop" makes the refund, then loses the answer
REFUND_OUTCOMES = ("success", "drop")
_SUFFIX_OUTCOME = {
    SUFFIX_USER_PAYING: "password_then_success",
    SUFFIX_INSUFFICIENT_FUNDS: "insufficient_funds",
    SUFFIX_EXPIRED: "expired",
    SUFFIX_NEVER_CONFIRMED: "password_then_timeout",
    SUFFIX_SYSTEM_ERROR: "system_error",
    SUFFIX_DROP_AFTER_CHARGE: "drop_after_charge",
    SUFFIX_SLOW: "slow",
}
#: how the protocol must deliver the answer to a pay
DELIVER_NORMAL = ""
DELIVER_SYSTEM_ERROR = "system_error"
DELIVER_DROP = "drop"
DELIVER_SLOW = "slow"

REASON_USER_PAYING = "USER_PAYING"
REASON_INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
REASON_EXPIRED = "AUTH_CODE_EXPIRED"
REASON_CODE_USED = "AUTH_CODE_USED"
REASON_NOT_EXIST = "ORDER_NOT_EXIST"
REASON_REVERSED = "REVERSED"
REASON_CLOSED = "CLOSED"
REASON_REFUND_TOO_MUCH = "REFUND_AMOUNT_EXCEEDS"
REASON_NOT_PAID = "TRADE_NOT_PAID"

MAX_PASSWORD_DELAY_S = 600.0


class TradeConflict(ValueError):
    """A charge reused an ``out_trade_no`` with a different code, channel or amount.

    Answering with the earlier trade would hide the caller's bug; answering "failed" could tell a
    kiosk that a paid order failed. So the protocol reports a conflict and the caller queries.
    """


@dataclass(frozen=True, slots=True)
class PayOrder:
    """One charge as the protocols hand it to the bank, already validated."""

    out_trade_no: str
    channel: str
    auth_code: str
    amount_fen: Fen
    subject: str


@dataclass(frozen=True, slots=True)
class TradeView:
    """What a protocol may tell the caller about one trade."""

    out_trade_no: str
    status: ChargeStatus
    transaction_id: str = ""
    reason: str = ""
    #: for a pay only: how the protocol must deliver this answer (normal, system error, drop, slow)
    deliver: str = DELIVER_NORMAL


@dataclass(frozen=True, slots=True)
class RefundView:
    out_trade_no: str
    out_refund_no: str
    refunded: bool
    refund_id: str = ""
    reason: str = ""
    #: how the protocol must deliver this answer (normal, or dropped after the refund was made)
    deliver: str = DELIVER_NORMAL


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One movement of money: a charge or the reversal of one."""

    seq: int
    kind: str  # "charge" | "reversal"
    out_trade_no: str
    transaction_id: str
    channel: str
    amount_fen: Fen
    auth_code_masked: str
    at_utc: str
    #: SHA-256 of the payment code, so a test can assert that no code was charged twice
    code_sha256: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "out_trade_no": self.out_trade_no,
            "transaction_id": self.transaction_id,
            "channel": self.channel,
            "amount_fen": self.amount_fen,
            "auth_code": self.auth_code_masked,
            "code_sha256": self.code_sha256,
            "at": self.at_utc,
        }


@dataclass(slots=True)
class _Trade:
    out_trade_no: str
    channel: str
    code_sha256: str
    code_masked: str
    amount_fen: Fen
    status: ChargeStatus
    reason: str
    created_at: float
    transaction_id: str = ""
    never_pays: bool = False
    refunded_fen: Fen = 0
    refunds: dict[str, RefundView] | None = None

    def view(self) -> TradeView:
        return TradeView(self.out_trade_no, self.status, self.transaction_id, self.reason)


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _utc_now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SimulatedBank:
    """The simulator's trades and ledger, safe to call from many request threads at once.

    ``clock`` is monotonic seconds; tests pass their own to play the password delay without sleeping.
    A "user paying" trade becomes paid lazily, the first time anyone looks at it (or at the ledger)
    once the delay has passed: the result is the same as a timer, with no thread to stop.
    """

    def __init__(self, password_delay_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 <= password_delay_s <= MAX_PASSWORD_DELAY_S:
            raise ValueError(
                f"password_delay_s must be from 0 to {MAX_PASSWORD_DELAY_S:g} seconds, got {password_delay_s!r}"
            )
        self.password_delay_s = password_delay_s
        self._clock = clock
        self._lock = threading.Lock()
        self._trades: dict[str, _Trade] = {}
        self._used_codes: set[str] = set()
        #: trades waiting for a password, kept apart so settling costs nothing when there are none
        self._waiting: set[str] = set()
        self._ledger: list[LedgerEntry] = []
        self._txn_seq = 0
        self._scripted: list[str] = []
        self._scripted_refunds: list[str] = []
        #: how late a "slow" answer comes
        self.slow_s = 1.0

    def script_next(self, outcome: str) -> None:
        """Play ``outcome`` (one of :data:`OUTCOMES`) for the next new pay, whatever its code says."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        with self._lock:
            self._scripted.append(outcome)

    def script_next_refund(self, outcome: str) -> None:
        """Play ``outcome`` (one of :data:`REFUND_OUTCOMES`) for the next refund call, new or repeated."""
        if outcome not in REFUND_OUTCOMES:
            raise ValueError(f"refund outcome must be one of {', '.join(REFUND_OUTCOMES)}, got {outcome!r}")
        with self._lock:
            self._scripted_refunds.append(outcome)

    # --- the three operations every protocol offers ---------------------------------------------

    def pay(self, order: PayOrder) -> TradeView:
        """Charge once per ``out_trade_no``; a repeat returns what the first call decided."""
        with self._lock:
            now = self._clock()
            self._settle_due(now)
            known = self._trades.get(order.out_trade_no)
            if known is not None:
                return self._repeat(known, order)
            digest = _digest(order.auth_code)
            if self._scripted:
                outcome = self._scripted.pop(0)
            else:
                outcome = _SUFFIX_OUTCOME.get(order.auth_code[-4:], "success")
            trade = _Trade(
                out_trade_no=order.out_trade_no,
                channel=order.channel,
                code_sha256=digest,
                code_masked=mask(order.auth_code),
                amount_fen=order.amount_fen,
                status=ChargeStatus.FAILED,
                reason="",
                created_at=now,
            )
            deliver = DELIVER_NORMAL
            if digest in self._used_codes:
                trade.reason = REASON_CODE_USED
            elif outcome == "insufficient_funds":
                trade.reason = REASON_INSUFFICIENT_FUNDS
            elif outcome == "expired":
                trade.reason = REASON_EXPIRED
            elif outcome in ("password_then_success", "password_then_timeout"):
                trade.status, trade.reason = ChargeStatus.USER_PAYING, REASON_USER_PAYING
                trade.never_pays = outcome == "password_then_timeout"
                self._used_codes.add(digest)
                self._waiting.add(order.out_trade_no)
            else:
                self._used_codes.add(digest)
                self._charge(trade)
                deliver = {
                    "system_error": DELIVER_SYSTEM_ERROR,
                    "drop_after_charge": DELIVER_DROP,
                    "slow": DELIVER_SLOW,
                }.get(outcome, DELIVER_NORMAL)
            trade.code_sha256 = digest
            self._trades[order.out_trade_no] = trade
            if trade.status is ChargeStatus.USER_PAYING:
                self._settle_due(now)  # a zero password delay pays at once
            view = trade.view()
            return TradeView(view.out_trade_no, view.status, view.transaction_id, view.reason, deliver)

    def query(self, out_trade_no: str) -> TradeView:
        """The trade's state now; ``UNKNOWN`` with ``ORDER_NOT_EXIST`` for a number never seen."""
        with self._lock:
            self._settle_due(self._clock())
            trade = self._trades.get(out_trade_no)
            if trade is None:
                return TradeView(out_trade_no, ChargeStatus.UNKNOWN, "", REASON_NOT_EXIST)
            return trade.view()

    def cancel(self, out_trade_no: str) -> TradeView:
        """Close the trade for good; a paid trade is reversed (the money goes back, once).

        An ``out_trade_no`` never seen is closed too, so a pay request that was delayed in the network
        and arrives after the kiosk gave up can never charge the customer.
        """
        with self._lock:
            self._settle_due(self._clock())
            trade = self._trades.get(out_trade_no)
            if trade is None:
                trade = _Trade(
                    out_trade_no=out_trade_no,
                    channel="",
                    code_sha256="",
                    code_masked="",
                    amount_fen=0,
                    status=ChargeStatus.CANCELLED,
                    reason=REASON_CLOSED,
                    created_at=self._clock(),
                )
                self._trades[out_trade_no] = trade
            elif trade.status is ChargeStatus.PAID:
                self._reverse(trade)
            elif trade.status is not ChargeStatus.CANCELLED:
                trade.status, trade.reason = ChargeStatus.CANCELLED, REASON_CLOSED
            return trade.view()

    def refund(self, out_trade_no: str, out_refund_no: str, amount_fen: Fen) -> RefundView:
        """Give back part or all of a paid charge, once per ``out_refund_no`` (a repeat returns the first answer).

        A scripted "drop" does the refund all the same and asks the protocol to lose the answer.
        """
        with self._lock:
            outcome = self._scripted_refunds.pop(0) if self._scripted_refunds else "success"
            view = self._refund(out_trade_no, out_refund_no, amount_fen)
            if outcome == "drop":
                return replace(view, deliver=DELIVER_DROP)
            return view

    def _refund(self, out_trade_no: str, out_refund_no: str, amount_fen: Fen) -> RefundView:
        """The refund itself; the caller holds the lock."""
        self._settle_due(self._clock())
        trade = self._trades.get(out_trade_no)
        if trade is None:
            return RefundView(out_trade_no, out_refund_no, False, "", REASON_NOT_EXIST)
        refunds = trade.refunds if trade.refunds is not None else {}
        trade.refunds = refunds
        if out_refund_no in refunds:
            return refunds[out_refund_no]
        if trade.status is not ChargeStatus.PAID:
            return RefundView(out_trade_no, out_refund_no, False, "", REASON_NOT_PAID)
        if amount_fen <= 0 or trade.refunded_fen + amount_fen > trade.amount_fen:
            return RefundView(out_trade_no, out_refund_no, False, "", REASON_REFUND_TOO_MUCH)
        trade.refunded_fen += amount_fen
        self._txn_seq += 1
        view = RefundView(out_trade_no, out_refund_no, True, f"SIMR{self._txn_seq:010d}")
        refunds[out_refund_no] = view
        self._record("refund", trade, amount_fen)
        return view

    # --- for tests and the installer ------------------------------------------------------------

    def ledger(self) -> list[LedgerEntry]:
        """Every charge and reversal, oldest first (after settling charges whose password is due)."""
        with self._lock:
            self._settle_due(self._clock())
            return list(self._ledger)

    # --- inside the lock ------------------------------------------------------------------------

    def _repeat(self, known: _Trade, order: PayOrder) -> TradeView:
        if known.code_sha256 and (
            known.channel != order.channel
            or known.amount_fen != order.amount_fen
            or known.code_sha256 != _digest(order.auth_code)
        ):
            raise TradeConflict(
                f"out_trade_no {order.out_trade_no} was already used for a different charge "
                "(code, channel or amount differ); use a new out_trade_no for each attempt"
            )
        return known.view()

    def _settle_due(self, now: float) -> None:
        for out_trade_no in sorted(self._waiting, key=lambda n: self._trades[n].created_at):
            trade = self._trades[out_trade_no]
            if trade.status is not ChargeStatus.USER_PAYING:
                self._waiting.discard(out_trade_no)
            elif not trade.never_pays and now - trade.created_at >= self.password_delay_s:
                self._waiting.discard(out_trade_no)
                self._charge(trade)

    def _charge(self, trade: _Trade) -> None:
        self._txn_seq += 1
        trade.transaction_id = f"SIM{datetime.now(UTC):%Y%m%d}{self._txn_seq:010d}"
        trade.status, trade.reason = ChargeStatus.PAID, ""
        self._record("charge", trade)

    def _reverse(self, trade: _Trade) -> None:
        trade.status, trade.reason = ChargeStatus.CANCELLED, REASON_REVERSED
        self._record("reversal", trade)

    def _record(self, kind: str, trade: _Trade, amount_fen: Fen | None = None) -> None:
        self._ledger.append(
            LedgerEntry(
                seq=len(self._ledger) + 1,
                kind=kind,
                out_trade_no=trade.out_trade_no,
                transaction_id=trade.transaction_id,
                channel=trade.channel,
                amount_fen=trade.amount_fen if amount_fen is None else amount_fen,
                auth_code_masked=trade.code_masked,
                at_utc=_utc_now_text(),
                code_sha256=trade.code_sha256,
            )
        )
