"""Store operations for the checkout, each one committed in a single transaction.

The rules that keep money safe live here, next to the data they guard:
- an order and its lines are committed before any gateway is called (``open_order``);
- each charge attempt gets a fresh ``out_trade_no``, committed before the call (``begin_payment``);
- a code that was ever submitted is never submitted again (``CodeAlreadyUsed``);
- "paid" commits the payment, the order and the outbox row for HQ together (``record_paid``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import peewee as pw

from kiosk.core.cart import Cart
from kiosk.core.cart import Product as CoreProduct
from kiosk.ports import CatalogItem, OutboxItem
from kiosk.store.models import AuditLog, Order, OrderLine, OutboxEntry, Payment, Product, utcnow
from kiosk_common.codes import mask

#: payment rows without a final answer (kiosk.core.payment.OPEN_STATES); start-up settles each of them
OPEN_PAYMENT_STATES = ("submitted", "user_paying", "unknown", "cancelling")


class SaleError(RuntimeError):
    """A store operation that must not happen (wrong order state, unknown order)."""


class CodeAlreadyUsed(SaleError):
    """This payment code was already submitted once; it is never submitted twice."""


@dataclass(frozen=True, slots=True)
class PendingPayment:
    out_trade_no: str
    order_id: str
    channel: str
    amount_fen: int
    status: str
    created_at: datetime


def code_digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def refund_number(out_trade_no: str) -> str:
    """The one ``out_refund_no`` of a payment's full refund: derived, so every repeat is the same refund."""
    return "R" + out_trade_no[1:]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


class SaleStore:
    """The checkout's and sync's view of the store. Implements the ``Outbox`` port."""

    def __init__(self, db: pw.Database, kiosk_id: str) -> None:
        self.db = db
        self.kiosk_id = kiosk_id

    # --- catalog ----------------------------------------------------------------------------------

    def replace_catalog(self, items: Iterable[CatalogItem]) -> int:
        """Make the local catalog equal to HQ's list (products HQ no longer lists become inactive)."""
        rows = list(items)
        now = utcnow()
        with self.db.atomic():
            Product.update(active=False, updated_at=now).execute()
            for it in rows:
                Product.insert(
                    sku=it.sku,
                    name_zh=it.name_zh,
                    name_en=it.name_en,
                    price_fen=it.price_fen,
                    barcode=it.barcode,
                    category=it.category,
                    active=it.active,
                    updated_at=now,
                ).on_conflict_replace().execute()
        return len(rows)

    def products(self) -> list[CoreProduct]:
        query = Product.select().where(Product.active == True).order_by(Product.category, Product.sku)  # noqa: E712
        return [self._core(p) for p in query]

    def product_by_barcode(self, barcode: str) -> CoreProduct | None:
        candidates = {barcode}
        if len(barcode) == 12:
            candidates.add("0" + barcode)  # UPC-A is EAN-13 with a leading 0
        if len(barcode) == 13 and barcode.startswith("0"):
            candidates.add(barcode[1:])
        p = Product.get_or_none((Product.barcode.in_(candidates)) & (Product.active == True))  # noqa: E712
        return None if p is None else self._core(p)

    @staticmethod
    def _core(p: Product) -> CoreProduct:
        return CoreProduct(
            sku=p.sku,
            name_zh=p.name_zh,
            name_en=p.name_en,
            price_fen=p.price_fen,
            barcode=p.barcode,
            category=p.category,
        )

    # --- orders and payments ----------------------------------------------------------------------

    def open_order(self, cart: Cart) -> str:
        if cart.is_empty:
            raise SaleError("cannot open an order for an empty cart")
        order_id = str(uuid.uuid4())
        with self.db.atomic():
            Order.create(id=order_id, kiosk_id=self.kiosk_id, total_fen=cart.total_fen)
            OrderLine.insert_many(
                [
                    {
                        "order": order_id,
                        "sku": line.product.sku,
                        "name": line.product.name_zh,
                        "qty": line.qty,
                        "unit_price_fen": line.product.price_fen,
                        "line_total_fen": line.total_fen,
                    }
                    for line in cart.lines
                ]
            ).execute()
        return order_id

    def begin_payment(self, order_id: str, channel: str, gateway: str, code: str) -> tuple[str, int]:
        """Commit a new payment attempt and return its ``out_trade_no`` and amount, before any call."""
        digest = code_digest(code)
        out_trade_no = f"K{utcnow():%Y%m%d%H%M%S}{uuid.uuid4().hex[:12].upper()}"
        with self.db.atomic():
            order = Order.get_or_none(Order.id == order_id)
            if order is None:
                raise SaleError(f"order {order_id} does not exist")
            if order.status != "open":
                raise SaleError(f"order {order_id} is {order.status}, not open")
            if Payment.select().where(Payment.code_sha256 == digest).exists():
                raise CodeAlreadyUsed(f"payment code {mask(code)} was already submitted")
            if (
                Payment.select()
                .where((Payment.order == order_id) & (Payment.status.in_(OPEN_PAYMENT_STATES)))
                .exists()
            ):
                raise SaleError(f"order {order_id} already has a payment in progress")
            Payment.create(
                order=order_id,
                out_trade_no=out_trade_no,
                channel=channel,
                gateway=gateway,
                code_masked=mask(code),
                code_sha256=digest,
                amount_fen=order.total_fen,
                status="submitted",
            )
        return out_trade_no, int(order.total_fen)

    def update_payment(self, out_trade_no: str, status: str, reason: str = "") -> None:
        """Record a non-final or failed outcome (user_paying, unknown, failed, cancelled)."""
        if status == "paid":
            raise SaleError("use record_paid for a paid payment")
        with self.db.atomic():
            Payment.update(status=status, reason=reason[:255], updated_at=utcnow()).where(
                (Payment.out_trade_no == out_trade_no) & (Payment.status != "paid")
            ).execute()

    def record_paid(self, out_trade_no: str, transaction_id: str) -> str:
        """Payment paid, order paid and the sale queued for HQ, in one transaction. Idempotent."""
        now = utcnow()
        with self.db.atomic():
            payment = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            if payment is None:
                raise SaleError(f"no payment {out_trade_no}")
            order = payment.order
            if payment.status == "paid":
                return str(order.id)
            payment.status, payment.transaction_id, payment.updated_at = "paid", transaction_id, now
            payment.save()
            if order.status == "paid":
                # A second attempt was charged for an order already paid: keep it visible to staff.
                self.audit("kiosk", "double_payment", f"order {order.id} paid again by {out_trade_no}")
                return str(order.id)
            order.status, order.paid_at = "paid", now
            order.save()
            OutboxEntry.create(kind="sale", payload=json.dumps(self._sale_payload(order, payment)))
        return str(order.id)

    def _sale_payload(self, order: Order, payment: Payment) -> dict[str, Any]:
        return {
            "order_id": order.id,
            "kiosk_id": order.kiosk_id,
            "created_at": _iso(order.created_at),
            "paid_at": _iso(order.paid_at),
            "total_fen": order.total_fen,
            "currency": order.currency,
            "channel": payment.channel,
            "out_trade_no": payment.out_trade_no,
            "transaction_id": payment.transaction_id,
            "lines": [
                {
                    "sku": line.sku,
                    "name": line.name,
                    "qty": line.qty,
                    "unit_price_fen": line.unit_price_fen,
                    "line_total_fen": line.line_total_fen,
                }
                for line in order.lines.order_by(OrderLine.id)
            ],
        }

    def cancel_order(self, order_id: str) -> None:
        with self.db.atomic():
            Order.update(status="cancelled").where(
                (Order.id == order_id) & (Order.status == "open")
            ).execute()

    def mark_receipt_printed(self, order_id: str) -> None:
        Order.update(receipt_printed=True).where(Order.id == order_id).execute()

    def order(self, order_id: str) -> Order:
        o = Order.get_or_none(Order.id == order_id)
        if o is None:
            raise SaleError(f"order {order_id} does not exist")
        return o

    def paid_payment(self, order_id: str) -> Payment | None:
        return Payment.get_or_none((Payment.order == order_id) & (Payment.status == "paid"))

    def order_lines(self, order_id: str) -> list[OrderLine]:
        return list(OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id))

    def unfinished_payments(self) -> list[PendingPayment]:
        """Payments with no final outcome: what a crash or power cut left behind."""
        q = Payment.select().where(Payment.status.in_(OPEN_PAYMENT_STATES)).order_by(Payment.id)
        return [
            PendingPayment(p.out_trade_no, p.order_id, p.channel, p.amount_fen, p.status, p.created_at)
            for p in q
        ]

    def payment_channel(self, out_trade_no: str) -> str | None:
        """The channel a payment went to (for routing a query, cancel or refund), or None if unknown."""
        p = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
        return None if p is None else str(p.channel)

    def payment_row(self, out_trade_no: str) -> Payment | None:
        return Payment.get_or_none(Payment.out_trade_no == out_trade_no)

    def refunds_in_flight(self) -> list[tuple[str, str]]:
        """(out_trade_no, order_id) of refunds started but never confirmed or refused (a crash, lost answers)."""
        q = Payment.select().where(Payment.status == "refunding").order_by(Payment.id)
        return [(str(p.out_trade_no), str(p.order_id)) for p in q]

    def refundable_payment(self, order_id: str) -> Payment | None:
        """The order's paid (or refund-started) payment, the one a refund gives back."""
        row: Payment | None = (
            Payment.select()
            .where((Payment.order == order_id) & (Payment.status.in_(("paid", "refunding"))))
            .order_by(Payment.id)
            .first()
        )
        return row

    def begin_refund(self, out_trade_no: str, actor: str) -> str:
        """Commit "refunding" and return the refund number before the gateway is called.

        The number is derived from the payment, so a refund repeated after a lost answer or a crash is
        the same refund at the gateway, never a second one (full refunds only).
        """
        out_refund_no = refund_number(out_trade_no)
        with self.db.atomic():
            changed = (
                Payment.update(status="refunding", updated_at=utcnow())
                .where((Payment.out_trade_no == out_trade_no) & (Payment.status.in_(("paid", "refunding"))))
                .execute()
            )
            if not changed:
                raise SaleError(f"payment {out_trade_no} is not paid; only a paid payment can be refunded")
            self.audit(actor, "refund_started", f"{out_trade_no} as {out_refund_no}")
        return out_refund_no

    def record_refund(self, out_trade_no: str, refund_id: str, actor: str) -> None:
        """Payment and order refunded, audited, and the refund queued for HQ, in one transaction.

        Idempotent: a payment already refunded is left alone, so HQ is told of a refund once.
        """
        now = utcnow()
        with self.db.atomic():
            payment = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            if payment is None:
                raise SaleError(f"no payment {out_trade_no}")
            if payment.status == "refunded":
                return
            payment.status, payment.updated_at = "refunded", now
            payment.reason = f"refund {refund_id}"[:255]
            payment.save()
            order = payment.order
            Order.update(status="refunded").where(Order.id == order.id).execute()
            OutboxEntry.create(
                kind="refund",
                payload=json.dumps(
                    {
                        "order_id": order.id,
                        "kiosk_id": order.kiosk_id,
                        "out_trade_no": out_trade_no,
                        "out_refund_no": refund_number(out_trade_no),
                        "amount_fen": int(payment.amount_fen),
                        "refunded_at": _iso(now),
                    }
                ),
            )
            self.audit(actor, "refunded", f"{out_trade_no} refund {refund_id}")

    def abandon_refund(self, out_trade_no: str, reason: str, actor: str) -> None:
        """The gateway refused the refund for good: the payment is paid again, the refusal audited."""
        with self.db.atomic():
            Payment.update(status="paid", updated_at=utcnow()).where(
                (Payment.out_trade_no == out_trade_no) & (Payment.status == "refunding")
            ).execute()
            self.audit(actor, "refund_refused", f"{out_trade_no}: {reason}"[:500])

    def payments_between(self, start: datetime, end: datetime) -> list[Payment]:
        """Every payment created in [start, end) (UTC), oldest first: what reconciliation compares."""
        return list(
            Payment.select()
            .where((Payment.created_at >= start) & (Payment.created_at < end))
            .order_by(Payment.id)
        )

    def counts(self) -> dict[str, int]:
        return {
            "orders": Order.select().count(),
            "paid": Order.select().where(Order.status == "paid").count(),
            "printed": Order.select().where(Order.receipt_printed == True).count(),  # noqa: E712
            "outbox_pending": self.pending_count(),
        }

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        AuditLog.create(actor=actor, action=action, detail=detail)

    # --- Outbox port ------------------------------------------------------------------------------

    def due(self, limit: int) -> list[OutboxItem]:
        q = (
            OutboxEntry.select()
            .where(OutboxEntry.sent_at.is_null() & (OutboxEntry.next_attempt_at <= utcnow()))
            .order_by(OutboxEntry.id)
            .limit(limit)
        )
        return [OutboxItem(e.id, e.kind, json.loads(e.payload), e.attempts) for e in q]

    def mark_sent(self, ids: Sequence[int]) -> None:
        if ids:
            with self.db.atomic():
                OutboxEntry.update(sent_at=utcnow(), last_error="").where(
                    OutboxEntry.id.in_(list(ids))
                ).execute()

    def mark_failed(self, ids: Sequence[int], error: str, retry_in_s: float) -> None:
        if ids:
            with self.db.atomic():
                OutboxEntry.update(
                    attempts=OutboxEntry.attempts + 1,
                    next_attempt_at=utcnow() + timedelta(seconds=retry_in_s),
                    last_error=error[:255],
                ).where(OutboxEntry.id.in_(list(ids))).execute()

    def pending_count(self) -> int:
        return int(OutboxEntry.select().where(OutboxEntry.sent_at.is_null()).count())
