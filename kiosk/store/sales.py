"""The SQLite implementation of :class:`kiosk.ports.SaleRepository`: every operation one transaction.

The rules that keep money safe live here, next to the data they guard:
- an order and its lines are committed before any gateway is called (``open_order``);
- each charge attempt gets a fresh ``out_trade_no``, committed before the call (``begin_payment``);
- a code that was ever submitted is never submitted again (``CodeAlreadyUsed``); the store keeps only
  a keyed digest of it (HMAC with a per-device key kept outside the database, ``kiosk.store.secrets``),
  so the hidden digits of a masked code cannot be brute-forced from a copy of the file;
- "paid" commits the payment, the order and the outbox row for HQ together (``record_paid``).

Reads return frozen records (``kiosk.core.records``), never Peewee rows.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import peewee as pw

from kiosk import crashpoints
from kiosk.core.cart import Cart
from kiosk.core.cart import Product as CoreProduct
from kiosk.core.payment import OPEN_STATES, PayState
from kiosk.core.pricing import AppliedDiscount, Promotion, PromotionError, promotion_from_dict
from kiosk.core.records import (
    CodeAlreadyUsed,
    OrderLineRecord,
    OrderRecord,
    OrderStatus,
    PaymentRecord,
    RefundRecord,
    SaleCounts,
    SaleError,
    StoreFull,
)
from kiosk.core.records import ProductOverride as OverrideRecord
from kiosk.ports import CatalogItem, CatalogUpdate, OutboxItem
from kiosk.store.models import (
    CATALOG_VERSION_KEY,
    HQ_SETTING_PREFIX,
    SALES_RECORDED_KEY,
    AuditLog,
    Order,
    OrderDiscount,
    OrderLine,
    OutboxEntry,
    Payment,
    Product,
    ProductOverride,
    PromotionRow,
    RefundEntry,
    ReprintJob,
    Setting,
    utcnow,
)
from kiosk.store.secrets import code_digest, device_fingerprint, load_code_key
from kiosk.store.staff import apply_staff
from kiosk.store.watermark import watermark_for
from kiosk_common.codes import mask

__all__ = ["CodeAlreadyUsed", "SaleError", "SaleStore", "StoreFull", "refund_number"]

log = logging.getLogger(__name__)

#: the kinds of outbox event (docs/sync-protocol.md §3)
SALE_EVENT, REFUND_EVENT, PAYMENT_EVENT, AUDIT_EVENT, HEARTBEAT_EVENT = (
    "sale",
    "refund",
    "payment",
    "audit",
    "heartbeat",
)
#: the payment states HQ is told of (a payment's end); "paid" goes with its sale
_REPORTED_PAYMENT_STATES = frozenset({PayState.FAILED, PayState.CANCELLED})

#: payment rows without a final answer (kiosk.core.payment.OPEN_STATES); start-up settles each of them
OPEN_PAYMENT_STATES = tuple(sorted(s.value for s in OPEN_STATES))


def refund_number(out_trade_no: str) -> str:
    """The one ``out_refund_no`` of a payment's full refund: derived, so every repeat is the same refund."""
    return "R" + out_trade_no[1:]


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC)


def _order_record(o: Order) -> OrderRecord:
    return OrderRecord(
        id=str(o.id),
        kiosk_id=str(o.kiosk_id),
        status=OrderStatus(o.status),
        total_fen=int(o.total_fen),
        currency=str(o.currency),
        created_at=_aware(o.created_at),
        paid_at=None if o.paid_at is None else _aware(o.paid_at),
        receipt_printed=bool(o.receipt_printed),
        language=str(o.language),
    )


def _receipt_language(language: str) -> str:
    """The two receipt languages: any Chinese locale prints Chinese, anything else English."""
    return "zh_CN" if language.startswith("zh") else "en"


def _payment_record(p: Payment) -> PaymentRecord:
    return PaymentRecord(
        out_trade_no=str(p.out_trade_no),
        order_id=str(p.order_id),
        channel=str(p.channel),
        gateway=str(p.gateway),
        code_masked=str(p.code_masked),
        amount_fen=int(p.amount_fen),
        status=PayState(p.status),
        transaction_id=str(p.transaction_id),
        reason=str(p.reason),
        created_at=_aware(p.created_at),
        updated_at=_aware(p.updated_at),
    )


def is_full_error(exc: BaseException | None) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), also when it hides behind the error of the
    rollback that followed it ("cannot rollback - no transaction is active": SQLite already rolled
    back on its own)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, (pw.OperationalError, sqlite3.OperationalError)) and "is full" in str(exc).lower():
            return True
        exc = exc.__context__ or exc.__cause__
        seen += 1
    return False


class SaleStore:
    """Sales, payments, refunds and the audit log on one SQLite file. Implements ``SaleRepository``
    and the ``Outbox`` port (sync)."""

    def __init__(self, db: pw.SqliteDatabase, kiosk_id: str, now: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.kiosk_id = kiosk_id
        #: naive UTC now for a sale's times (opened, paid, refunded); a test moves it across midnight
        self._now = now
        self._code_key = load_code_key(db)
        #: the fsynced count of this kiosk's own sales outside the file (``kiosk.store.watermark``)
        self._watermark = watermark_for(db)

    def device_fingerprint(self) -> str:
        """This device's key, as the enrolment screen names it (``kiosk.store.secrets.device_fingerprint``)."""
        return device_fingerprint(self._code_key)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction; a full disk becomes :class:`StoreFull` (nothing of it committed)."""
        try:
            with self.db.atomic():
                yield
        except (pw.OperationalError, sqlite3.OperationalError) as exc:
            if is_full_error(exc):
                raise StoreFull(
                    f"the store {self.db.database} is full (disk or size limit): free space on the data "
                    "partition; paid sales already recorded are kept"
                ) from exc
            raise

    # --- catalog ----------------------------------------------------------------------------------

    def replace_catalog(self, items: Iterable[CatalogItem]) -> int:
        """Make the local catalog equal to HQ's list (products HQ no longer lists become inactive)."""
        rows = list(items)
        now = utcnow()
        with self._tx():
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

    def catalog_version(self) -> int:
        """The catalog version last applied from HQ (0: none yet)."""
        row = Setting.get_or_none(Setting.key == CATALOG_VERSION_KEY)
        return int(row.value) if row is not None and str(row.value).isdigit() else 0

    def apply_catalog(self, update: CatalogUpdate) -> int:
        """Products, HQ's settings, staff accounts and the version in ONE transaction, so the till shows the old
        catalog or the new one, never half of each (docs/sync-protocol.md §5). A snapshot makes
        every product absent from it inactive and drops every HQ setting it does not name; a delta
        must start at the version held (else it is refused: ask again). Returns the products written.

        Barcodes move between products in one answer (a swap): the incoming products' barcodes, and
        those of other products that hold an incoming barcode, are cleared first, then written.
        """
        now = utcnow()
        with self._tx():
            held = self.catalog_version()
            if update.kind == "delta" and update.since != held:
                raise SaleError(
                    f"catalog delta from version {update.since} does not fit the version held ({held}); "
                    "not applied, the next pull asks again"
                )
            if update.kind == "snapshot":
                Product.update(active=False, updated_at=now).execute()
                Setting.delete().where(Setting.key.startswith(HQ_SETTING_PREFIX)).execute()
            skus = [it.sku for it in update.products]
            barcodes = [it.barcode for it in update.products if it.barcode]
            for chunk in range(0, len(skus), 500):
                Product.update(barcode=None).where(Product.sku.in_(skus[chunk : chunk + 500])).execute()
            for chunk in range(0, len(barcodes), 500):
                Product.update(barcode=None, updated_at=now).where(
                    Product.barcode.in_(barcodes[chunk : chunk + 500])
                ).execute()
            rows = [
                {
                    "sku": it.sku,
                    "name_zh": it.name_zh,
                    "name_en": it.name_en,
                    "price_fen": it.price_fen,
                    "barcode": it.barcode,
                    "category": it.category,
                    "active": it.active,
                    "updated_at": now,
                }
                for it in update.products
            ]
            for chunk in range(0, len(rows), 100):  # 8 columns x 100 rows: within SQLite's 999 variables
                Product.insert_many(rows[chunk : chunk + 100]).on_conflict(
                    conflict_target=[Product.sku],
                    preserve=[
                        Product.name_zh,
                        Product.name_en,
                        Product.price_fen,
                        Product.barcode,
                        Product.category,
                        Product.active,
                        Product.updated_at,
                    ],
                ).execute()
            for key, value in update.settings.items():
                name = HQ_SETTING_PREFIX + key
                if value is None:
                    Setting.delete().where(Setting.key == name).execute()
                else:
                    Setting.insert(key=name, value=json.dumps(value)).on_conflict_replace().execute()
            apply_staff(update)
            if update.promotions is not None:
                self._replace_promotions(update.promotions)
            Setting.insert(
                key=CATALOG_VERSION_KEY, value=str(int(update.version))
            ).on_conflict_replace().execute()
        return len(update.products)

    def hq_settings(self) -> dict[str, Any]:
        """The settings HQ sent for this kiosk (store's, overridden by the kiosk's own), by key."""
        out: dict[str, Any] = {}
        for row in Setting.select().where(Setting.key.startswith(HQ_SETTING_PREFIX)):
            try:
                out[str(row.key)[len(HQ_SETTING_PREFIX) :]] = json.loads(row.value)
            except ValueError:
                log.warning("HQ setting %s is not JSON; ignored", row.key)
        return out

    def search_products(self, text: str, limit: int = 20) -> list[CoreProduct]:
        """Active products whose name (zh or en), sku or barcode contains ``text`` (any case), at
        most ``limit``, by sku. The staff search of a catalog of thousands (bench/)."""
        needle = text.strip()
        if not needle or limit < 1:
            return []
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

        def like(field: pw.Field) -> pw.NodeList:
            # SQLite's LIKE: case-blind for ASCII; peewee would turn its own LIKE into GLOB
            return pw.NodeList((field, pw.SQL("LIKE ? ESCAPE '\\'", [pattern])))

        query = (
            Product.select()
            .where(
                (Product.active == True)  # noqa: E712
                & (like(Product.name_zh) | like(Product.name_en) | like(Product.sku) | like(Product.barcode))
            )
            .order_by(Product.sku)
            .limit(limit)
        )
        overrides = self._overrides()
        return [self._sold(p, overrides) for p in query]

    def products(self) -> list[CoreProduct]:
        """Active products as the till sells them: staff's price overrides applied, items staff
        marked out of stock kept but marked ``sold_out`` (the catalog shows them as sold out, and the
        checkout refuses to add them)."""
        query = Product.select().where(Product.active == True).order_by(Product.category, Product.sku)  # noqa: E712
        overrides = self._overrides()
        return [self._sold(p, overrides) for p in query]

    def product_by_barcode(self, barcode: str) -> CoreProduct | None:
        """The active product with this barcode at the price the till charges (a staff override
        wins over HQ's price), marked ``sold_out`` when staff marked it out of stock (so the customer
        hears "sold out", not "unknown"); None when there is none."""
        candidates = {barcode}
        if len(barcode) == 12:
            candidates.add("0" + barcode)  # UPC-A is EAN-13 with a leading 0
        if len(barcode) == 13 and barcode.startswith("0"):
            candidates.add(barcode[1:])
        p = Product.get_or_none((Product.barcode.in_(candidates)) & (Product.active == True))  # noqa: E712
        if p is None:
            return None
        return self._sold(p, self._overrides(p.sku))

    @staticmethod
    def _overrides(sku: str | None = None) -> dict[str, ProductOverride]:
        q = ProductOverride.select()
        if sku is not None:
            q = q.where(ProductOverride.sku == sku)
        return {str(o.sku): o for o in q}

    def _sold(self, p: Product, overrides: dict[str, ProductOverride]) -> CoreProduct:
        core = self._core(p)
        o = overrides.get(str(p.sku))
        if o is None:
            return core
        price = core.price_fen if o.price_fen is None else int(o.price_fen)
        return replace(core, price_fen=price, sold_out=bool(o.out_of_stock))

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

    # --- orders -----------------------------------------------------------------------------------

    # --- promotions -------------------------------------------------------------------------------

    def promotions(self) -> list[Promotion]:
        """Every promotion HQ sent that this release can apply; one it cannot read is logged and left out
        (the customer pays the normal price for it rather than a wrong one)."""
        out = []
        for row in PromotionRow.select().order_by(PromotionRow.promo_id):
            try:
                out.append(promotion_from_dict(json.loads(row.body)))
            except (ValueError, PromotionError) as exc:
                log.warning("promotion %s from HQ is not applied: %s", row.promo_id, exc)
        return out

    @staticmethod
    def _replace_promotions(bodies: Sequence[dict[str, Any]]) -> None:
        """Inside the catalog's transaction: the kiosk's promotions become exactly HQ's list."""
        now = utcnow()
        PromotionRow.delete().execute()
        for body in bodies:
            promo_id = body.get("id")
            if not isinstance(promo_id, str) or not 1 <= len(promo_id) <= 64:
                log.warning("a promotion from HQ has no usable id; skipped")
                continue
            PromotionRow.insert(
                promo_id=promo_id, body=json.dumps(body, ensure_ascii=False), updated_at=now
            ).on_conflict_replace().execute()

    def order_discounts(self, order_id: str) -> list[AppliedDiscount]:
        return [
            AppliedDiscount(str(d.promo_id), str(d.name_zh), str(d.name_en), int(d.amount_fen), str(d.sku))
            for d in OrderDiscount.select().where(OrderDiscount.order == order_id).order_by(OrderDiscount.id)
        ]

    def open_order(
        self, cart: Cart, language: str = "zh_CN", discounts: Sequence[AppliedDiscount] = ()
    ) -> str:
        if cart.is_empty:
            raise SaleError("cannot open an order for an empty cart")
        off = sum(d.amount_fen for d in discounts)
        if any(d.amount_fen <= 0 for d in discounts) or off > cart.total_fen:
            raise SaleError(
                f"discounts of {off} fen do not fit a cart of {cart.total_fen} fen (each must be more than "
                "0 and together at most the cart's total)"
            )
        order_id = str(uuid.uuid4())
        with self._tx():
            Order.create(
                id=order_id,
                kiosk_id=self.kiosk_id,
                total_fen=cart.total_fen - off,
                created_at=self._now(),
                language=_receipt_language(language),
            )
            OrderLine.insert_many(
                [
                    {
                        "order": order_id,
                        "sku": line.product.sku,
                        "name": line.product.name_zh,
                        "name_en": line.product.name_en,
                        "qty": line.qty,
                        "unit_price_fen": line.product.price_fen,
                        "line_total_fen": line.total_fen,
                    }
                    for line in cart.lines
                ]
            ).execute()
            for d in discounts:
                OrderDiscount.create(
                    order=order_id,
                    promo_id=d.promo_id,
                    sku=d.sku,
                    name_zh=d.name_zh[:64],
                    name_en=d.name_en[:64],
                    amount_fen=d.amount_fen,
                )
            crashpoints.reached("order_before_commit")
        crashpoints.reached("order_committed")
        return order_id

    def set_order_language(self, order_id: str, language: str) -> None:
        """The customer switched language before paying: the receipt follows. A paid order keeps
        the language it was paid in."""
        with self._tx():
            Order.update(language=_receipt_language(language)).where(
                (Order.id == order_id) & (Order.status == OrderStatus.OPEN.value)
            ).execute()

    def cancel_order(self, order_id: str) -> None:
        with self._tx():
            Order.update(status=OrderStatus.CANCELLED.value).where(
                (Order.id == order_id) & (Order.status == OrderStatus.OPEN.value)
            ).execute()

    def close_abandoned_orders(self) -> list[str]:
        open_payment = Payment.select(Payment.order).where(Payment.status.in_(OPEN_PAYMENT_STATES))
        with self._tx():
            ids = [
                str(o.id)
                for o in Order.select(Order.id).where(
                    (Order.status == OrderStatus.OPEN.value) & Order.id.not_in(open_payment)
                )
            ]
            if ids:
                Order.update(status=OrderStatus.CANCELLED.value).where(Order.id.in_(ids)).execute()
        return ids

    def unprinted_paid_orders(self, since: datetime) -> list[str]:
        """Paid orders since ``since`` whose receipt never printed and is not in the reprint queue: a
        crash came between "paid" and the printer. Oldest first."""
        queued = ReprintJob.select(ReprintJob.order_id)
        lo = since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
        return [
            str(o.id)
            for o in Order.select(Order.id)
            .where(
                (Order.status == OrderStatus.PAID.value)
                & (Order.receipt_printed == False)  # noqa: E712
                & (Order.paid_at >= lo)
                & Order.id.not_in(queued)
            )
            .order_by(Order.paid_at)
        ]

    def mark_receipt_printed(self, order_id: str) -> None:
        with self._tx():
            Order.update(receipt_printed=True).where(Order.id == order_id).execute()

    def order(self, order_id: str) -> OrderRecord:
        o = Order.get_or_none(Order.id == order_id)
        if o is None:
            raise SaleError(f"order {order_id} does not exist")
        return _order_record(o)

    def order_lines(self, order_id: str) -> list[OrderLineRecord]:
        return [
            OrderLineRecord(
                li.sku, li.name, int(li.qty), int(li.unit_price_fen), int(li.line_total_fen), str(li.name_en)
            )
            for li in OrderLine.select().where(OrderLine.order == order_id).order_by(OrderLine.id)
        ]

    # --- payments ---------------------------------------------------------------------------------

    def begin_payment(self, order_id: str, channel: str, gateway: str, code: str) -> PaymentRecord:
        digest = code_digest(self._code_key, code)
        out_trade_no = f"K{self._now():%Y%m%d%H%M%S}{uuid.uuid4().hex[:12].upper()}"
        with self._tx():
            order = Order.get_or_none(Order.id == order_id)
            if order is None:
                raise SaleError(f"order {order_id} does not exist")
            if order.status != OrderStatus.OPEN.value:
                raise SaleError(f"order {order_id} is {order.status}, not open")
            if Payment.select().where(Payment.code_digest == digest).exists():
                raise CodeAlreadyUsed(f"payment code {mask(code)} was already submitted")
            if (
                Payment.select()
                .where((Payment.order == order_id) & (Payment.status.in_(OPEN_PAYMENT_STATES)))
                .exists()
            ):
                raise SaleError(f"order {order_id} already has a payment in progress")
            row = Payment.create(
                order=order_id,
                out_trade_no=out_trade_no,
                channel=channel,
                gateway=gateway,
                code_masked=mask(code),
                code_digest=digest,
                amount_fen=order.total_fen,
                status=PayState.SUBMITTED.value,
                created_at=self._now(),
                updated_at=self._now(),
            )
        return _payment_record(row)

    def update_payment(self, out_trade_no: str, state: PayState, reason: str = "") -> None:
        if state is PayState.PAID:
            raise SaleError("use record_paid for a paid payment")
        now = self._now()
        with self._tx():
            before = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            changed = (
                Payment.update(status=state.value, reason=reason[:255], updated_at=now)
                .where((Payment.out_trade_no == out_trade_no) & (Payment.status != PayState.PAID.value))
                .execute()
            )
            if (
                changed
                and before is not None
                and before.status != state.value
                and state in _REPORTED_PAYMENT_STATES
            ):
                before.status, before.updated_at = state.value, now
                self._event(PAYMENT_EVENT, self._payment_body(before), now)

    def record_paid(self, out_trade_no: str, transaction_id: str) -> str:
        """Idempotent; an order paid twice (by two attempts) is audited, never hidden."""
        now = self._now()
        with self._tx():
            payment = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            if payment is None:
                raise SaleError(f"no payment {out_trade_no}")
            order = payment.order
            if payment.status == PayState.PAID.value:
                return str(order.id)
            payment.status, payment.transaction_id, payment.updated_at = (
                PayState.PAID.value,
                transaction_id,
                now,
            )
            payment.save()
            if order.status == OrderStatus.PAID.value:
                # A second attempt was charged for an order already paid: keep it visible to staff.
                self.audit("kiosk", "double_payment", f"order {order.id} paid again by {out_trade_no}")
                self._event(PAYMENT_EVENT, self._payment_body(payment), now)
                return str(order.id)
            order.status, order.paid_at = OrderStatus.PAID.value, now
            order.save()
            self._event(SALE_EVENT, self._sale_payload(order, payment), now)
            self._event(PAYMENT_EVENT, self._payment_body(payment), now)
            sales = self._bump_sales_count()
        if self._watermark is not None:
            try:
                self._watermark.advance(sales)
            except OSError as exc:  # the sale is committed; a lagging watermark is safe, never ahead
                log.warning("sales watermark %s not advanced: %s", self._watermark.path, exc)
        return str(order.id)

    def _bump_sales_count(self) -> int:
        """The kiosk's own count of paid sales, inside the sale's transaction (see ``Watermark``)."""
        row = Setting.get_or_none(Setting.key == SALES_RECORDED_KEY)
        count = (int(row.value) if row is not None else 0) + 1
        Setting.insert(key=SALES_RECORDED_KEY, value=str(count)).on_conflict_replace().execute()
        return count

    @staticmethod
    def _event(kind: str, body: dict[str, Any], at: datetime | None = None) -> None:
        """Queue one event for HQ; call inside the transaction of the change it reports."""
        OutboxEntry.create(kind=kind, payload=json.dumps(body), created_at=at or utcnow())

    @staticmethod
    def _payment_body(p: Payment) -> dict[str, Any]:
        """A payment's end as HQ takes it (``payment`` event, docs/sync-protocol.md §3)."""
        return {
            "out_trade_no": str(p.out_trade_no),
            "order_id": str(p.order_id),
            "channel": str(p.channel),
            "amount_fen": int(p.amount_fen),
            "status": str(p.status),
            "transaction_id": str(p.transaction_id),
            "at": _iso(p.updated_at),
        }

    def _sale_payload(self, order: Order, payment: Payment) -> dict[str, Any]:
        body: dict[str, Any] = {
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
        discounts = list(
            OrderDiscount.select().where(OrderDiscount.order == order.id).order_by(OrderDiscount.id)
        )
        if discounts:  # only when there are any: a sale without keeps the payload (and hash) it had
            body["discounts"] = [
                {"promo_id": d.promo_id, "sku": d.sku, "name": d.name_zh, "amount_fen": int(d.amount_fen)}
                for d in discounts
            ]
        return body

    def payment(self, out_trade_no: str) -> PaymentRecord | None:
        p = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
        return None if p is None else _payment_record(p)

    def payment_channel(self, out_trade_no: str) -> str | None:
        """The channel a payment went to (for routing a query, cancel or refund), or None if unknown."""
        p = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
        return None if p is None else str(p.channel)

    def paid_payment(self, order_id: str) -> PaymentRecord | None:
        p = Payment.get_or_none((Payment.order == order_id) & (Payment.status == PayState.PAID.value))
        return None if p is None else _payment_record(p)

    def unfinished_payments(self) -> list[PaymentRecord]:
        q = Payment.select().where(Payment.status.in_(OPEN_PAYMENT_STATES)).order_by(Payment.id)
        return [_payment_record(p) for p in q]

    def payments_between(self, start: datetime, end: datetime) -> list[PaymentRecord]:
        """Every payment created in [start, end) (naive or aware UTC), oldest first."""
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t in (start, end))
        return [
            _payment_record(p)
            for p in Payment.select()
            .where((Payment.created_at >= lo) & (Payment.created_at < hi))
            .order_by(Payment.id)
        ]

    def sales_paid_between(self, start: datetime, end: datetime) -> list[PaymentRecord]:
        """The payments that made a sale paid in [start, end): paid (refunded since or not), their
        order's ``paid_at`` in the window, oldest paid first. A sale counts on the day and shift it
        was paid, as HQ's day totals and the channels' statements count it, not the day its order
        was opened (a sale opened at 23:59:50 and paid at 00:00:05 is the next day's)."""
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t in (start, end))
        sold = (PayState.PAID.value, PayState.REFUNDING.value, PayState.REFUNDED.value)
        q = (
            Payment.select()
            .join(Order)
            .where(Payment.status.in_(sold) & (Order.paid_at >= lo) & (Order.paid_at < hi))
            .order_by(Order.paid_at, Payment.id)
        )
        return [_payment_record(p) for p in q]

    # --- refunds ----------------------------------------------------------------------------------

    def refunds_in_flight(self) -> list[PaymentRecord]:
        """Refunds started but never confirmed or refused (a crash, lost answers): the payments of full
        refunds ("refunding") and of partial refunds still unconfirmed."""
        parts = RefundEntry.select(RefundEntry.out_trade_no).where(RefundEntry.state == "refunding")
        q = (
            Payment.select()
            .where((Payment.status == PayState.REFUNDING.value) | Payment.out_trade_no.in_(parts))
            .order_by(Payment.id)
        )
        return [_payment_record(p) for p in q]

    def refundable_payment(self, order_id: str) -> PaymentRecord | None:
        """The order's paid (or refund-started) payment, the one a refund gives back."""
        row: Payment | None = (
            Payment.select()
            .where(
                (Payment.order == order_id)
                & (Payment.status.in_((PayState.PAID.value, PayState.REFUNDING.value)))
            )
            .order_by(Payment.id)
            .first()
        )
        return None if row is None else _payment_record(row)

    def begin_refund(self, out_trade_no: str, actor: str) -> str:
        """The number is derived from the payment, so a refund repeated after a lost answer or a crash is
        the same refund at the gateway, never a second one (full refunds only)."""
        out_refund_no = refund_number(out_trade_no)
        with self._tx():
            changed = (
                Payment.update(status=PayState.REFUNDING.value, updated_at=self._now())
                .where(
                    (Payment.out_trade_no == out_trade_no)
                    & (Payment.status.in_((PayState.PAID.value, PayState.REFUNDING.value)))
                )
                .execute()
            )
            if not changed:
                raise SaleError(f"payment {out_trade_no} is not paid; only a paid payment can be refunded")
            self.audit(actor, "refund_started", f"{out_trade_no} as {out_refund_no}")
        return out_refund_no

    def record_refund(self, out_trade_no: str, refund_id: str, actor: str) -> None:
        """Idempotent: a payment already refunded is left alone, so HQ is told of a refund once."""
        now = self._now()
        with self._tx():
            payment = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            if payment is None:
                raise SaleError(f"no payment {out_trade_no}")
            if payment.status == PayState.REFUNDED.value:
                return
            payment.status, payment.updated_at = PayState.REFUNDED.value, now
            payment.reason = f"refund {refund_id}"[:255]
            payment.save()
            order = payment.order
            Order.update(status=OrderStatus.REFUNDED.value).where(Order.id == order.id).execute()
            self._event(
                REFUND_EVENT,
                {
                    "order_id": order.id,
                    "kiosk_id": order.kiosk_id,
                    "out_trade_no": out_trade_no,
                    "out_refund_no": refund_number(out_trade_no),
                    "amount_fen": int(payment.amount_fen),
                    "refunded_at": _iso(now),
                },
                now,
            )
            self.audit(actor, "refunded", f"{out_trade_no} refund {refund_id}")

    def abandon_refund(self, out_trade_no: str, reason: str, actor: str) -> None:
        """The gateway refused the refund for good: the payment is paid again, the refusal audited."""
        with self._tx():
            Payment.update(status=PayState.PAID.value, updated_at=utcnow()).where(
                (Payment.out_trade_no == out_trade_no) & (Payment.status == PayState.REFUNDING.value)
            ).execute()
            self.audit(actor, "refund_refused", f"{out_trade_no}: {reason}"[:500])

    # --- partial refunds (maintenance mode) --------------------------------------------------------

    def refunded_fen(self, out_trade_no: str) -> int:
        """What has gone back of this payment so far (refunds confirmed), fen."""
        p = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
        if p is None:
            return 0
        parts = self._refund_rows(out_trade_no, ("refunded",))
        if p.status == PayState.REFUNDED.value and not parts:
            return int(p.amount_fen)  # a full refund made on the payment row alone
        return sum(int(r.amount_fen) for r in parts)

    @staticmethod
    def _refund_rows(out_trade_no: str, states: tuple[str, ...]) -> list[RefundEntry]:
        return list(
            RefundEntry.select()
            .where((RefundEntry.out_trade_no == out_trade_no) & RefundEntry.state.in_(states))
            .order_by(RefundEntry.id)
        )

    def partial_refund_in_flight(self, order_id: str) -> RefundRecord | None:
        """The order's partial refund started but never confirmed or refused, if any (at most one)."""
        row = (
            RefundEntry.select()
            .where((RefundEntry.order_id == order_id) & (RefundEntry.state == "refunding"))
            .order_by(RefundEntry.id)
            .first()
        )
        return None if row is None else self._refund_record(row)

    @staticmethod
    def _refund_record(r: RefundEntry) -> RefundRecord:
        p = Payment.get_or_none(Payment.out_trade_no == r.out_trade_no)
        return RefundRecord(
            out_refund_no=str(r.out_refund_no),
            out_trade_no=str(r.out_trade_no),
            order_id=str(r.order_id),
            channel="" if p is None else str(p.channel),
            amount_fen=int(r.amount_fen),
            state=str(r.state),
            actor=str(r.actor),
            at=_aware(r.updated_at),
        )

    def begin_partial_refund(self, out_trade_no: str, amount_fen: int, actor: str) -> RefundRecord:
        """Commit a new refund of ``amount_fen`` under a fresh refund number, before the gateway call.

        Refused (SaleError) unless the payment is paid, no other refund of it is unconfirmed, and what
        went back before plus this stays within what was paid. The number is ``R<trade>-<n>``: each
        part is its own refund at the gateway, and a repeat of this one uses the same number.
        """
        if amount_fen <= 0:
            raise SaleError(f"a refund must be more than 0 fen, not {amount_fen}")
        with self._tx():
            p = Payment.get_or_none(Payment.out_trade_no == out_trade_no)
            if p is None or p.status != PayState.PAID.value:
                raise SaleError(f"payment {out_trade_no} is not paid; only a paid payment can be refunded")
            if self._refund_rows(out_trade_no, ("refunding",)):
                raise SaleError(f"a refund of {out_trade_no} is still unconfirmed; finish it first")
            done = sum(int(r.amount_fen) for r in self._refund_rows(out_trade_no, ("refunded",)))
            if done + amount_fen > int(p.amount_fen):
                raise SaleError(
                    f"refunds of {out_trade_no} would come to {done + amount_fen} fen, more than the "
                    f"{int(p.amount_fen)} fen paid ({int(p.amount_fen) - done} fen can still go back)"
                )
            n = RefundEntry.select().where(RefundEntry.out_trade_no == out_trade_no).count() + 1
            row = RefundEntry.create(
                out_refund_no=f"{refund_number(out_trade_no)}-{n}",
                out_trade_no=out_trade_no,
                order_id=str(p.order_id),
                amount_fen=amount_fen,
                actor=actor[:64],
            )
            self.audit(actor, "refund_started", f"{out_trade_no} as {row.out_refund_no}: {amount_fen} fen")
        return self._refund_record(row)

    def record_partial_refund(self, out_refund_no: str, refund_id: str, actor: str) -> None:
        """The gateway confirmed this part: HQ is told of it (its own amount) in the same transaction;
        when the parts reach what was paid, the payment and the order become refunded. Idempotent."""
        now = self._now()
        with self._tx():
            row = RefundEntry.get_or_none(RefundEntry.out_refund_no == out_refund_no)
            if row is None:
                raise SaleError(f"no refund {out_refund_no}")
            if row.state == "refunded":
                return
            row.state, row.refund_id, row.updated_at = "refunded", refund_id[:64], now
            row.save()
            payment = Payment.get(Payment.out_trade_no == row.out_trade_no)
            order = payment.order
            self._event(
                REFUND_EVENT,
                {
                    "order_id": order.id,
                    "kiosk_id": order.kiosk_id,
                    "out_trade_no": str(row.out_trade_no),
                    "out_refund_no": out_refund_no,
                    "amount_fen": int(row.amount_fen),
                    "refunded_at": _iso(now),
                },
                now,
            )
            done = sum(int(r.amount_fen) for r in self._refund_rows(str(row.out_trade_no), ("refunded",)))
            if done >= int(payment.amount_fen):
                payment.status, payment.updated_at = PayState.REFUNDED.value, now
                payment.reason = f"refunded in parts, last {refund_id}"[:255]
                payment.save()
                Order.update(status=OrderStatus.REFUNDED.value).where(Order.id == order.id).execute()
            self.audit(actor, "refunded", f"{row.out_trade_no} {out_refund_no} {int(row.amount_fen)} fen")

    def abandon_partial_refund(self, out_refund_no: str, reason: str, actor: str) -> None:
        """The gateway refused this part for good: it is failed, nothing went back, the refusal audited."""
        with self._tx():
            RefundEntry.update(state="failed", reason=reason[:255], updated_at=utcnow()).where(
                (RefundEntry.out_refund_no == out_refund_no) & (RefundEntry.state == "refunding")
            ).execute()
            self.audit(actor, "refund_refused", f"{out_refund_no}: {reason}"[:500])

    def refunds_between(self, start: datetime, end: datetime) -> list[RefundRecord]:
        """Every refund confirmed in [start, end): the parts, and full refunds made on the payment row."""
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t in (start, end))
        out = [
            self._refund_record(r)
            for r in RefundEntry.select()
            .where(
                (RefundEntry.state == "refunded")
                & (RefundEntry.updated_at >= lo)
                & (RefundEntry.updated_at < hi)
            )
            .order_by(RefundEntry.id)
        ]
        parted = RefundEntry.select(RefundEntry.out_trade_no)
        for p in (
            Payment.select()
            .where(
                (Payment.status == PayState.REFUNDED.value)
                & (Payment.updated_at >= lo)
                & (Payment.updated_at < hi)
                & Payment.out_trade_no.not_in(parted)
            )
            .order_by(Payment.id)
        ):
            out.append(
                RefundRecord(
                    refund_number(str(p.out_trade_no)),
                    str(p.out_trade_no),
                    str(p.order_id),
                    str(p.channel),
                    int(p.amount_fen),
                    "refunded",
                    "",
                    _aware(p.updated_at),
                )
            )
        return out

    def orders_between(self, start: datetime, end: datetime) -> list[OrderRecord]:
        """Every order created in [start, end) (naive or aware UTC), oldest first."""
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t in (start, end))
        q = (
            Order.select()
            .where((Order.created_at >= lo) & (Order.created_at < hi))
            .order_by(Order.created_at)
        )
        return [_order_record(o) for o in q]

    def audit_between(self, start: datetime, end: datetime, action: str) -> list[tuple[datetime, str, str]]:
        """(at, actor, detail) of the audit rows named ``action`` in [start, end), oldest first."""
        lo, hi = (t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t for t in (start, end))
        q = (
            AuditLog.select()
            .where((AuditLog.action == action) & (AuditLog.at >= lo) & (AuditLog.at < hi))
            .order_by(AuditLog.id)
        )
        return [(_aware(a.at), str(a.actor), str(a.detail)) for a in q]

    # --- staff overrides of the catalog (maintenance mode) -----------------------------------------

    def catalog_product(self, sku: str) -> CoreProduct | None:
        """The product as HQ's catalog has it (no override applied), active or not."""
        p = Product.get_or_none(Product.sku == sku)
        return None if p is None else self._core(p)

    def product_override(self, sku: str) -> OverrideRecord | None:
        o = ProductOverride.get_or_none(ProductOverride.sku == sku)
        if o is None:
            return None
        return OverrideRecord(
            str(o.sku),
            None if o.price_fen is None else int(o.price_fen),
            bool(o.out_of_stock),
            str(o.actor),
            _aware(o.updated_at),
        )

    def set_product_override(self, sku: str, price_fen: int | None, out_of_stock: bool, actor: str) -> None:
        """Keep staff's price and stock mark for ``sku``; both cleared (None, False) deletes the row."""
        if price_fen is not None and price_fen < 0:
            raise SaleError(f"a price cannot be negative ({price_fen} fen)")
        with self._tx():
            if price_fen is None and not out_of_stock:
                ProductOverride.delete().where(ProductOverride.sku == sku).execute()
                return
            ProductOverride.insert(
                sku=sku, price_fen=price_fen, out_of_stock=out_of_stock, actor=actor[:64], updated_at=utcnow()
            ).on_conflict_replace().execute()

    # --- staff and figures ------------------------------------------------------------------------

    def counts(self) -> SaleCounts:
        return SaleCounts(
            orders=Order.select().count(),
            paid=Order.select().where(Order.status == OrderStatus.PAID.value).count(),
            printed=Order.select().where(Order.receipt_printed == True).count(),  # noqa: E712
            outbox_pending=self.pending_count(),
        )

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """The audit row and its event for HQ together (nested in a caller's transaction, with it)."""
        now = self._now()
        with self._tx():
            AuditLog.create(actor=actor, action=action, detail=detail, at=now)
            self._event(
                AUDIT_EVENT, {"at": _iso(now), "actor": actor, "action": action, "detail": detail}, now
            )

    def enqueue_heartbeat(self, body: dict[str, Any]) -> None:
        """Queue a heartbeat, dropping any older one still unsent: only the newest says anything."""
        with self._tx():
            OutboxEntry.delete().where(
                (OutboxEntry.kind == HEARTBEAT_EVENT) & (OutboxEntry.state == "pending")
            ).execute()
            self._event(HEARTBEAT_EVENT, body)

    # --- Outbox port ------------------------------------------------------------------------------

    def due(self, limit: int) -> list[OutboxItem]:
        q = OutboxEntry.select().where(OutboxEntry.state == "pending").order_by(OutboxEntry.id).limit(limit)
        return [
            OutboxItem(e.id, str(e.key), e.kind, json.loads(e.payload), e.attempts, e.created_at) for e in q
        ]

    def mark_sent(self, ids: Sequence[int]) -> None:
        if ids:
            with self._tx():
                for chunk in range(0, len(ids), 500):
                    OutboxEntry.update(state="sent", sent_at=utcnow(), last_error="").where(
                        OutboxEntry.id.in_(list(ids[chunk : chunk + 500])) & (OutboxEntry.state == "pending")
                    ).execute()

    def mark_failed(self, ids: Sequence[int], error: str) -> None:
        if ids:
            with self._tx():
                for chunk in range(0, len(ids), 500):
                    OutboxEntry.update(attempts=OutboxEntry.attempts + 1, last_error=error[:255]).where(
                        OutboxEntry.id.in_(list(ids[chunk : chunk + 500]))
                    ).execute()

    def park(self, item_id: int, reason: str) -> None:
        """Out of the queue for good, kept with HQ's reason, and audited (the audit goes to HQ too)."""
        with self._tx():
            entry = OutboxEntry.get_or_none(OutboxEntry.id == item_id)
            if entry is None or entry.state != "pending":
                return
            OutboxEntry.update(state="parked", parked_reason=reason, last_error=reason[:255]).where(
                OutboxEntry.id == item_id
            ).execute()
            self.audit("sync", "event_parked", f"{entry.kind} {entry.key}: {reason}"[:1000])

    def parked(self) -> list[tuple[str, str, str]]:
        """(key, kind, reason) of every parked event, oldest first: what staff look into."""
        q = OutboxEntry.select().where(OutboxEntry.state == "parked").order_by(OutboxEntry.id)
        return [(str(e.key), str(e.kind), str(e.parked_reason)) for e in q]

    def pending_count(self) -> int:
        return int(OutboxEntry.select().where(OutboxEntry.state == "pending").count())

    def parked_count(self) -> int:
        return int(OutboxEntry.select().where(OutboxEntry.state == "parked").count())

    def oldest_pending_at(self) -> datetime | None:
        row = (
            OutboxEntry.select(OutboxEntry.created_at)
            .where(OutboxEntry.state == "pending")
            .order_by(OutboxEntry.id)
            .first()
        )
        return None if row is None else row.created_at
