"""What staff do in maintenance mode, and the day's work, as one service the maintenance screens call.

Every method takes the acting staff member (``Actor``, or any object with ``staff_id``, ``name`` and
``role``), checks the role against ``kiosk.maintenance.roles`` before anything else, and writes one
audit row (actor ``staff:<staff_id>``, the action's name, a JSON detail with the before and after
values). The audit row goes to HQ through the outbox like every other event.

The service reaches the store through its port (``kiosk.ports.SaleRepository``) and the payment
service, like the controller; the checkout (help phase, receipts) through the small ``StaffCheckout``
protocol the controller honours; HQ's day totals through an injected function. ``kiosk.bootstrap``
wires it; nothing here starts a thread or opens a file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from kiosk.core import checkout as co
from kiosk.core.money import Fen
from kiosk.core.payment import OPEN_STATES, RefundRules
from kiosk.core.receipt import ReceiptLayout
from kiosk.core.records import OrderStatus, SaleError
from kiosk.maintenance import zreport
from kiosk.maintenance.port import TaskBook
from kiosk.maintenance.roles import Action, Role, require
from kiosk.payments import service
from kiosk.ports import (
    ChargeResult,
    Clock,
    HqError,
    PaymentGateway,
    PrinterError,
    ReceiptPrinter,
    SaleRepository,
)

log = logging.getLogger(__name__)

#: the audit action of a closed shift; its detail is the Z-report's JSON (docs/operations.md)
SHIFT_CLOSE = "shift.close"

#: what the maintenance screen shows for the paper refill guide, step by step (zh_CN, en)
PAPER_GUIDE: tuple[tuple[str, str], ...] = (
    ("打开打印机盖（按下前方的按钮）。", "Open the printer cover (press the button at the front)."),
    ("取出用完的纸芯。", "Take out the empty paper core."),
    (
        "放入新纸卷，纸从底部朝外拉出（热敏面朝上）。",
        "Drop in a new roll so the paper comes off the bottom towards you (thermal side up).",
    ),
    (
        "拉出约 5 厘米纸，合上盖子直到咔哒一声。",
        "Pull out about 5 cm of paper and close the cover until it clicks.",
    ),
    (
        "打印机自动切纸；如指示灯仍闪烁，请检查纸张是否放正。",
        "The printer cuts the paper; if the light still blinks, check the roll sits straight.",
    ),
)


class StaffMember(Protocol):
    """Who acts: the signed-in staff member (the unlock's session object fits)."""

    @property
    def staff_id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def role(self) -> Role | str: ...


@dataclass(frozen=True, slots=True)
class Actor:
    staff_id: str
    name: str
    role: Role


class StaffCheckout(Protocol):
    """The part of the checkout controller the staff actions need."""

    @property
    def state(self) -> co.Checkout: ...

    def dispatch(self, event: co.Event) -> None: ...

    def receipt_layout(self, order_id: str) -> ReceiptLayout:
        """The receipt of ``order_id`` as the checkout prints it."""


class ReprintJob(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def order_id(self) -> str: ...

    @property
    def state(self) -> str: ...

    @property
    def reason(self) -> str: ...


class ReprintQueue(Protocol):
    """The persistent reprint queue (``kiosk.store.reprints.ReprintStore``)."""

    def jobs(self) -> Sequence[ReprintJob]: ...

    def drop(self, job_id: int) -> None: ...


class StaffActionError(RuntimeError):
    """The action cannot be done as asked (wrong state, unknown order); the message says what to do."""


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One of today's sales on the staff list."""

    order_id: str
    order_no: str
    status: str
    total_fen: Fen
    refunded_fen: Fen
    channel: str
    created_at: datetime
    receipt_printed: bool


@dataclass(frozen=True, slots=True)
class Task:
    """Something staff should look at, with the one-tap action that settles it (``action``, called
    with ``target``); ``action`` None: information only, dismissed with ``dismiss``."""

    key: str
    kind: str  # unknown_payment | receipt_failed | recovered_payment
    target: str  # out_trade_no or order id
    detail: str
    action: Action | None


#: the one tap a kept task (a payment settled at start-up) offers: "seen", which dismisses it. It needs
#: only the cashier's right to see today's sales, like reading the task list itself.
SEEN = Action.TODAYS_SALES


def _role(member: StaffMember) -> Role:
    try:
        return Role(member.role)
    except ValueError:
        raise StaffActionError(f"unknown staff role {member.role!r}") from None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StaffActions:
    def __init__(
        self,
        *,
        store: SaleRepository,
        gateway: PaymentGateway,
        printer: ReceiptPrinter,
        checkout: StaffCheckout,
        reprints: ReprintQueue,
        kiosk_id: str,
        timezone: str = "Asia/Shanghai",
        paper_columns: int = 32,
        language: str = "zh_CN",
        hq_totals: Callable[[date], zreport.DayTotals] | None = None,
        task_book: TaskBook | None = None,
        refund_rules: RefundRules | None = None,
        clock: Clock | None = None,
        now_utc: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.printer = printer
        self.checkout = checkout
        self.reprints = reprints
        self.kiosk_id = kiosk_id
        self.tz = ZoneInfo(timezone)
        self.timezone = timezone
        self.paper_columns = paper_columns
        self.language = language
        self._hq_totals = hq_totals
        #: kept tasks (payments settled at start-up) and their dismissal; None: there are none
        self._task_book = task_book
        self._refund_rules = refund_rules
        self._clock = clock
        self._now = now_utc

    # --- helpers ----------------------------------------------------------------------------------

    def use_hq_totals(self, hq_totals: Callable[[date], zreport.DayTotals]) -> None:
        """HQ's day totals from now on: the kiosk was enrolled while it ran (``Kiosk.enrolled``)."""
        self._hq_totals = hq_totals

    def _check(self, member: StaffMember, action: Action) -> str:
        require(_role(member), action)
        return f"staff:{member.staff_id}"

    def _audit(self, actor: str, action: Action | str, **detail: Any) -> None:
        self.store.audit(
            actor, str(action), json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
        )

    def _today(self) -> tuple[datetime, datetime]:
        """Today (the shop's calendar day) as [start, end) in UTC."""
        local = self._now().astimezone(self.tz)
        start = datetime(local.year, local.month, local.day, tzinfo=self.tz).astimezone(UTC)
        return start, start + timedelta(days=1)

    def _order(self, order_id: str) -> Any:
        try:
            return self.store.order(order_id)
        except SaleError:
            raise StaffActionError(f"no order {order_id}; pick one from today's sales") from None

    # --- cashier ----------------------------------------------------------------------------------

    def paper_guide(self, member: StaffMember) -> tuple[tuple[str, str], ...]:
        """The paper refill steps, (zh_CN, en) each, for the screen to show."""
        actor = self._check(member, Action.PAPER_GUIDE)
        self._audit(actor, Action.PAPER_GUIDE)
        return PAPER_GUIDE

    def todays_sales(self, member: StaffMember) -> list[SaleLine]:
        """Today's orders that were paid (refunded since or not), newest first."""
        actor = self._check(member, Action.TODAYS_SALES)
        start, end = self._today()
        out = []
        for o in self.store.orders_between(start, end):
            if o.status not in (OrderStatus.PAID, OrderStatus.REFUNDED):
                continue
            payment = self.store.refundable_payment(o.id) or self.store.paid_payment(o.id)
            channel, refunded = "", 0
            if payment is not None:
                channel, refunded = payment.channel, self.store.refunded_fen(payment.out_trade_no)
            elif o.status is OrderStatus.REFUNDED:
                refunded = o.total_fen
            out.append(
                SaleLine(
                    o.id,
                    o.id.split("-")[0].upper(),
                    o.status.value,
                    o.total_fen,
                    refunded,
                    channel,
                    o.created_at,
                    o.receipt_printed,
                )
            )
        out.reverse()
        self._audit(actor, Action.TODAYS_SALES, after={"count": len(out)})
        return out

    def reprint(self, member: StaffMember, order_id: str) -> None:
        """Print the receipt of one of today's paid sales again, marked as a reprint. A receipt that
        fails goes to the reprint queue like any other (the printer service queues it)."""
        actor = self._check(member, Action.REPRINT)
        order = self._order(order_id)
        start, end = self._today()
        if (
            order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED)
            or not start <= order.created_at < end
        ):
            raise StaffActionError(
                f"order {order_id} is not one of today's paid sales; only those can be reprinted"
            )
        layout = _marked(self.checkout.receipt_layout(order_id))
        before = {"receipt_printed": order.receipt_printed}
        try:
            self.printer.print_receipt(order_id, layout)
        except PrinterError as exc:
            self._audit(actor, Action.REPRINT, order_id=order_id, before=before, after={"error": str(exc)})
            raise StaffActionError(
                f"the receipt did not print ({exc}); it waits in the reprint queue"
            ) from exc
        self.store.mark_receipt_printed(order_id)
        # staff printed it now: a copy still queued for this order would be a second one
        dropped = [
            j.id for j in self.reprints.jobs() if j.order_id == order_id and j.state in ("held", "pending")
        ]
        for job_id in dropped:
            self.reprints.drop(job_id)
        self._audit(
            actor,
            Action.REPRINT,
            order_id=order_id,
            before=before,
            after={"receipt_printed": True, "queued_copies_dropped": dropped},
        )

    def resolve_help(self, member: StaffMember) -> co.Checkout:
        """ "Resolved, resume service" for a needs-help that involves no money: the same event the
        help screen's button sends (``StaffResolved``), after the role check. A payment whose outcome
        is unknown is refused: a manager settles it first (``resolve_payment``)."""
        actor = self._check(member, Action.RESOLVE_HELP)
        before = self.checkout.state
        if before.phase is not co.Phase.NEEDS_HELP:
            raise StaffActionError(f"the kiosk does not need help (it is at {before.phase.value})")
        if before.notice is co.Notice.PAYMENT_UNKNOWN:
            raise StaffActionError(
                "a payment's outcome is unknown: a manager must resolve the payment with the gateway first"
            )
        self.checkout.dispatch(co.StaffResolved())
        after = self.checkout.state
        self._audit(
            actor,
            Action.RESOLVE_HELP,
            before={"phase": before.phase.value, "notice": before.notice.value, "order_id": before.order_id},
            after={"phase": after.phase.value},
        )
        return after

    # --- manager ----------------------------------------------------------------------------------

    def void_order(self, member: StaffMember, order_id: str) -> None:
        """Cancel an unpaid, open order with no payment in flight (nothing was charged)."""
        actor = self._check(member, Action.VOID_ORDER)
        order = self._order(order_id)
        if order.status is not OrderStatus.OPEN:
            raise StaffActionError(
                f"order {order_id} is {order.status.value}; only an open order can be voided"
            )
        if any(p.order_id == order_id for p in self.store.unfinished_payments()):
            raise StaffActionError(
                f"order {order_id} has a payment in progress; resolve the payment first (manager)"
            )
        self.store.cancel_order(order_id)
        self._audit(
            actor,
            Action.VOID_ORDER,
            order_id=order_id,
            amount_fen=order.total_fen,
            before={"status": order.status.value},
            after={"status": self._order(order_id).status.value},
        )

    def refund(
        self, member: StaffMember, order_id: str, amount_fen: Fen | None = None
    ) -> service.RefundOutcome:
        """Give back a paid order, in full (``amount_fen`` None: all that is left) or in part, through
        the gateway (``kiosk.payments.service.refund_order``: each refund its own number, never more
        than was paid, a lost answer repeated, never twice)."""
        actor = self._check(member, Action.REFUND)
        if amount_fen is not None and amount_fen <= 0:
            raise StaffActionError(f"a refund must be more than 0 fen, not {amount_fen}")
        order = self._order(order_id)
        payment = self.store.refundable_payment(order_id)
        if payment is None:
            raise StaffActionError(
                f"order {order_id} is {order.status.value}: there is no paid payment to refund"
            )
        before = {"status": order.status.value, "refunded_fen": self.store.refunded_fen(payment.out_trade_no)}
        try:
            outcome = service.refund_order(
                self.store,
                self.gateway,
                order_id,
                actor,
                "staff refund",
                rules=self._refund_rules,
                clock=self._clock,
                amount_fen=amount_fen,
            )
        except SaleError as exc:
            raise StaffActionError(str(exc)) from exc
        after = {
            "status": self._order(order_id).status.value,
            "refunded_fen": self.store.refunded_fen(payment.out_trade_no),
            "outcome": outcome.status,
        }
        self._audit(
            actor,
            Action.REFUND,
            order_id=order_id,
            out_refund_no=outcome.out_refund_no,
            amount_fen=outcome.amount_fen,
            before=before,
            after=after,
        )
        return outcome

    def resolve_payment(self, member: StaffMember, out_trade_no: str) -> ChargeResult:
        """A payment whose outcome is unknown: ask the gateway, then record the sale (paid) or
        reverse it (still open), through the same seam start-up recovery uses."""
        actor = self._check(member, Action.RESOLVE_PAYMENT)
        row = self.store.payment(out_trade_no)
        if row is None:
            raise StaffActionError(f"no payment {out_trade_no}")
        if row.status not in OPEN_STATES:
            raise StaffActionError(
                f"payment {out_trade_no} is already {row.status.value}; nothing to resolve"
            )
        result = service.settle_payment(
            self.store, self.gateway, out_trade_no, None, actor, self._clock, self._now
        )
        after = self.store.payment(out_trade_no)
        self._audit(
            actor,
            Action.RESOLVE_PAYMENT,
            out_trade_no=out_trade_no,
            before={"status": row.status.value},
            after={"status": after.status.value if after else "", "gateway": result.status.value},
        )
        return result

    def close_shift(self, member: StaffMember) -> zreport.ZReport:
        """Close the shift: the Z-report of everything since the last close today (or the day's
        start), printed on the receipt printer and sent to HQ as the ``shift.close`` audit event."""
        actor = self._check(member, Action.CLOSE_SHIFT)
        report = self.z_report(closed_by=f"{member.name} ({actor})")
        layout = zreport.layout(report, self.paper_columns, self.language, self.timezone, self.tz)
        printed, error = True, ""
        try:
            self.printer.print_receipt(f"Z{report.shift_end:%Y%m%d%H%M%S}", layout)
        except PrinterError as exc:
            printed, error = False, str(exc)
            log.warning("Z-report not printed: %s", exc)
        detail = report.as_json() | {"printed": printed, "print_error": error}
        self.store.audit(actor, SHIFT_CLOSE, json.dumps(detail, ensure_ascii=False, sort_keys=True))
        if not printed:
            raise StaffActionError(
                f"the shift is closed and sent to HQ, but the Z-report did not print ({error}); "
                "fix the printer and reprint it from HQ's audit log or close again"
            )
        return report

    def z_report(self, closed_by: str = "") -> zreport.ZReport:
        """The Z-report as it would be now (no role check, no audit: ``close_shift`` is the action)."""
        now = self._now()
        day_start, day_end = self._today()
        closes = self.store.audit_between(day_start, now + timedelta(seconds=1), SHIFT_CLOSE)
        shift_start = self._last_close_end(closes[-1]) if closes else day_start
        # sales by their paid time, refunds by their confirmation, voids when voided: the moments HQ's
        # day totals and the channels' statements go by (docs/operations.md, "The Z-report")
        payments = self.store.sales_paid_between(shift_start, now + timedelta(seconds=1))
        refunds = self.store.refunds_between(shift_start, now + timedelta(seconds=1))
        voids = []
        for _at, _who, detail in self.store.audit_between(
            shift_start, now + timedelta(seconds=1), Action.VOID_ORDER
        ):
            try:
                voids.append(int(json.loads(detail).get("amount_fen", 0)))
            except (ValueError, AttributeError, TypeError):
                voids.append(0)
        unresolved = len(self.store.unfinished_payments())
        ledger = zreport.day_totals(
            self.store.sales_paid_between(day_start, day_end), self.store.refunds_between(day_start, day_end)
        )
        day = day_start.astimezone(self.tz).date()
        hq_day: zreport.DayTotals | None = None
        if self._hq_totals is not None:
            try:
                hq_day = self._hq_totals(day)
            except (HqError, OSError) as exc:
                log.warning("HQ's day totals not available: %s", exc)
        return zreport.build(
            kiosk_id=self.kiosk_id,
            shift_start=shift_start,
            shift_end=now,
            payments=payments,
            refunds=refunds,
            voids_fen=voids,
            unresolved_payments=unresolved,
            day=day.isoformat(),
            ledger_day=ledger,
            hq_day=hq_day,
            outbox_pending=self.store.counts().outbox_pending,
            closed_by=closed_by,
        )

    @staticmethod
    def _last_close_end(close: tuple[datetime, str, str]) -> datetime:
        """Where the last closed shift ended (its report's ``shift_end``): the next one starts there."""
        at, _who, detail = close
        try:
            return datetime.fromisoformat(str(json.loads(detail)["shift_end"]).replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            return at

    def override_price(self, member: StaffMember, sku: str, price_fen: Fen | None) -> None:
        """Sell ``sku`` at ``price_fen`` on this kiosk until cleared (``price_fen`` None: HQ's price
        again). Kept apart from HQ's catalog, so catalog updates do not undo it."""
        actor = self._check(member, Action.OVERRIDE_PRICE)
        if price_fen is not None and not 0 <= price_fen <= 10_000_000:
            raise StaffActionError(f"a price must be 0..10000000 fen (100000 yuan), not {price_fen}")
        product = self.store.catalog_product(sku)
        if product is None:
            raise StaffActionError(f"no product {sku} in the catalog")
        held = self.store.product_override(sku)
        out = held.out_of_stock if held else False
        before = {"price_fen": held.price_fen if held and held.price_fen is not None else product.price_fen}
        self.store.set_product_override(sku, price_fen, out, actor)
        self._audit(
            actor,
            Action.OVERRIDE_PRICE,
            sku=sku,
            catalog_price_fen=product.price_fen,
            before=before,
            after={
                "price_fen": product.price_fen if price_fen is None else price_fen,
                "cleared": price_fen is None,
            },
        )

    def mark_out_of_stock(self, member: StaffMember, sku: str, out: bool = True) -> None:
        """Take ``sku`` off sale on this kiosk (``out`` False: back on sale), until cleared."""
        actor = self._check(member, Action.OUT_OF_STOCK)
        if self.store.catalog_product(sku) is None:
            raise StaffActionError(f"no product {sku} in the catalog")
        held = self.store.product_override(sku)
        before = {"out_of_stock": held.out_of_stock if held else False}
        self.store.set_product_override(sku, held.price_fen if held else None, out, actor)
        self._audit(actor, Action.OUT_OF_STOCK, sku=sku, before=before, after={"out_of_stock": out})

    # --- the day's work ---------------------------------------------------------------------------

    def tasks(self, member: StaffMember) -> list[Task]:
        """What waits for staff: payments whose outcome is unknown (resolve), paid sales whose receipt
        failed (reprint), payments settled at start-up recovery (``SEEN``: dismiss). Reading is not
        audited."""
        _role(member)
        out: list[Task] = []
        for p in self.store.unfinished_payments():
            out.append(
                Task(
                    f"payment:{p.out_trade_no}",
                    "unknown_payment",
                    p.out_trade_no,
                    f"{p.channel} {p.amount_fen} fen: {p.status.value} {p.reason}".strip(),
                    Action.RESOLVE_PAYMENT,
                )
            )
        for job in self.reprints.jobs():
            if job.state in ("held", "pending"):
                out.append(
                    Task(
                        f"reprint:{job.id}",
                        "receipt_failed",
                        job.order_id,
                        f"{job.state}: {job.reason}",
                        Action.REPRINT,
                    )
                )
        if self._task_book is not None:
            # kept in the store (kiosk.store.tasks): written when the start-up recovery finished, so
            # neither a restart nor a late first look loses one; dismissed ones are not returned
            for kept in self._task_book.open_tasks():
                out.append(Task(kept.key, kept.kind, kept.target, kept.detail, SEEN))
        return out

    def dismiss(self, member: StaffMember, key: str) -> None:
        """Staff saw a kept task (a payment settled at start-up): it leaves the list, for
        good (the store keeps who dismissed it and when; a restart does not bring it back). Tasks with
        an action (resolve, reprint) leave the list when that is done, not by dismissal."""
        actor = self._check(member, Action.TODAYS_SALES)
        if self._task_book is None or not self._task_book.dismiss_task(key, actor):
            raise StaffActionError(f"no open task {key} to dismiss; it may have been dismissed already")
        self._audit(actor, "task_dismissed", key=key)


#: the reprint mark kiosk.printing puts on the queue's reprints, the same on staff's
REPRINT_MARK = "** 补打 REPRINT **"


def _marked(layout: ReceiptLayout) -> ReceiptLayout:
    if REPRINT_MARK in layout.header:
        return layout
    return replace(layout, header=(*layout.header, REPRINT_MARK))
