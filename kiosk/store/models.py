"""Peewee models of the local store. The database is declared unbound and bound by ``open_store``.

Money columns are integer fen; timestamps are naive UTC ``datetime`` values (SQLite has no time zone).
Payment codes are never stored: a payment keeps the masked code for staff and a keyed digest of the
code (``kiosk.store.secrets``) so a code already charged can be recognised without keeping the secret.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import peewee as pw

database = pw.DatabaseProxy()


#: the ``setting`` row that counts this kiosk's paid sales (migration 3; see kiosk.store.watermark)
SALES_RECORDED_KEY = "sales_recorded"


def store_file(db: pw.Database) -> Path | None:
    """The file ``db`` lives in, or None for an in-memory database (nothing to keep beside it)."""
    name = str(db.database)
    if name in ("", ":memory:") or name.startswith("file::memory:"):
        return None
    return Path(name)


def utcnow() -> datetime:
    """Naive UTC now, the one form every timestamp column holds."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Product(BaseModel):
    sku = pw.CharField(primary_key=True, max_length=64)
    name_zh = pw.CharField(max_length=128)
    name_en = pw.CharField(max_length=128)
    price_fen = pw.IntegerField(constraints=[pw.Check("price_fen >= 0")])
    barcode = pw.CharField(max_length=32, null=True, unique=True)
    category = pw.CharField(max_length=64, default="")
    active = pw.BooleanField(default=True)
    updated_at = pw.DateTimeField(default=utcnow)


class Order(BaseModel):
    """One sale. ``status``: open -> paid | cancelled; ``needs_attention`` for staff follow-up."""

    id = pw.CharField(primary_key=True, max_length=36)
    kiosk_id = pw.CharField(max_length=64)
    status = pw.CharField(max_length=16, default="open", index=True)
    total_fen = pw.IntegerField(constraints=[pw.Check("total_fen >= 0")])
    currency = pw.CharField(max_length=3, default="CNY")
    created_at = pw.DateTimeField(default=utcnow, index=True)
    paid_at = pw.DateTimeField(null=True)
    receipt_printed = pw.BooleanField(default=False)
    #: the customer's language when paying (migration 8): the receipt and its reprints use it
    language = pw.CharField(max_length=8, default="zh_CN")

    lines: pw.BackrefAccessor


class OrderLine(BaseModel):
    id = pw.AutoField()
    order = pw.ForeignKeyField(Order, backref="lines", on_delete="CASCADE")
    sku = pw.CharField(max_length=64)
    name = pw.CharField(max_length=128)
    #: the product's English name when sold (migration 8; "" on older lines: the receipt uses ``name``)
    name_en = pw.CharField(max_length=128, default="")
    qty = pw.IntegerField(constraints=[pw.Check("qty > 0")])
    unit_price_fen = pw.IntegerField(constraints=[pw.Check("unit_price_fen >= 0")])
    line_total_fen = pw.IntegerField()


class Payment(BaseModel):
    """One attempt to charge one code for one order, under its own ``out_trade_no``."""

    id = pw.AutoField()
    order = pw.ForeignKeyField(Order, backref="payments", on_delete="RESTRICT")
    out_trade_no = pw.CharField(max_length=64, unique=True)
    channel = pw.CharField(max_length=16)
    gateway = pw.CharField(max_length=32)
    code_masked = pw.CharField(max_length=32)
    #: HMAC-SHA256(per-device key, SHA-256(code)); see kiosk.store.secrets
    code_digest = pw.CharField(max_length=64, index=True)
    amount_fen = pw.IntegerField(constraints=[pw.Check("amount_fen > 0")])
    status = pw.CharField(max_length=16, default="submitted", index=True)
    transaction_id = pw.CharField(max_length=64, default="")
    reason = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    order_id: str


#: the ``setting`` row holding the catalog version last applied from HQ (migration 4)
CATALOG_VERSION_KEY = "catalog_version"
#: prefix of the ``setting`` rows that are HQ's settings for this kiosk (``hq.<key>``, JSON values)
HQ_SETTING_PREFIX = "hq."


def new_event_key() -> str:
    return str(uuid.uuid4())


class OutboxEntry(BaseModel):
    """One event for HQ (docs/sync-protocol.md §3), written in the transaction of what it reports.

    ``key`` is its idempotency key, made once and never changed. ``state``: pending -> sent, or
    parked (HQ rejected it for good; ``parked_reason`` says why). ``next_attempt_at`` is no longer
    used (the pusher backs off per link, not per event) and is kept for old stores.
    """

    id = pw.AutoField()
    kind = pw.CharField(max_length=32)
    payload = pw.TextField()
    created_at = pw.DateTimeField(default=utcnow)
    attempts = pw.IntegerField(default=0)
    next_attempt_at = pw.DateTimeField(default=utcnow, index=True)
    sent_at = pw.DateTimeField(null=True, index=True)
    last_error = pw.CharField(max_length=255, default="")
    key = pw.CharField(max_length=36, unique=True, default=new_event_key)
    state = pw.CharField(max_length=8, default="pending", index=True)
    parked_reason = pw.TextField(default="")

    class Meta:
        table_name = "outbox"


class AuditLog(BaseModel):
    id = pw.AutoField()
    at = pw.DateTimeField(default=utcnow, index=True)
    actor = pw.CharField(max_length=64)
    action = pw.CharField(max_length=64)
    detail = pw.TextField(default="")


class Setting(BaseModel):
    key = pw.CharField(primary_key=True, max_length=64)
    value = pw.TextField()


ALL_MODELS: tuple[type[BaseModel], ...] = (Product, Order, OrderLine, Payment, OutboxEntry, AuditLog, Setting)


class ReprintJob(BaseModel):
    """A receipt that did not print, kept until it has (migration 2; see kiosk/store/reprints.py).

    ``state``: pending (print it when the printer is ready) -> printing (an attempt is on the wire)
    -> printed; held (it may already have printed: staff decide) -> pending or dropped.
    ``layout`` is the receipt as JSON, so the reprint shows what the sale was, not today's catalog.
    """

    id = pw.AutoField()
    order_id = pw.CharField(max_length=36, index=True)
    layout = pw.TextField()
    state = pw.CharField(max_length=16, default="pending", index=True)
    attempts = pw.IntegerField(default=0)
    reason = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "reprint_job"


class RefundEntry(BaseModel):
    """One partial refund (or the last part that completes a refund), under its own ``out_refund_no``
    (migration 5). ``state``: refunding -> refunded | failed. A full refund of a payment that was
    never partly refunded keeps using the payment row alone (``refund_number``), as before."""

    id = pw.AutoField()
    out_refund_no = pw.CharField(max_length=64, unique=True)
    out_trade_no = pw.CharField(max_length=64, index=True)
    order_id = pw.CharField(max_length=36, index=True)
    amount_fen = pw.IntegerField(constraints=[pw.Check("amount_fen > 0")])
    state = pw.CharField(max_length=16, default="refunding", index=True)
    refund_id = pw.CharField(max_length=64, default="")
    reason = pw.CharField(max_length=255, default="")
    actor = pw.CharField(max_length=64, default="")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "refund"


class ProductOverride(BaseModel):
    """Staff's local price or out-of-stock mark for one sku (migration 5). Kept apart from ``product``,
    which HQ's catalog rewrites, so an override survives every catalog delta and snapshot until staff
    clear it (price None and not out of stock: the row is deleted)."""

    sku = pw.CharField(primary_key=True, max_length=64)
    price_fen = pw.IntegerField(null=True, constraints=[pw.Check("price_fen IS NULL OR price_fen >= 0")])
    out_of_stock = pw.BooleanField(default=False)
    actor = pw.CharField(max_length=64, default="")
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "product_override"


class StaffAccount(BaseModel):
    """A staff account from HQ (migration 6), written with the catalog in one transaction
    (``SaleStore.apply_catalog``). Only active accounts are kept: an inactive one is deleted."""

    id = pw.IntegerField(primary_key=True)
    name = pw.CharField(max_length=64)
    role = pw.CharField(max_length=16)
    #: argon2id of the PIN, as HQ made it; the PIN itself never reaches the kiosk
    pin_hash = pw.CharField(max_length=255)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "staff"


class BadgeNonce(BaseModel):
    """A staff badge's nonce, once used (migration 6): a badge unlocks a kiosk once. Kept until the
    badge expires, when a replay fails on its expiry anyway."""

    nonce = pw.CharField(primary_key=True, max_length=64)
    expires_at = pw.DateTimeField(index=True)
    used_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "badge_nonce"


#: the ``setting`` row holding HQ's badge public key (base64), from the catalog (migration 6)
BADGE_KEY_SETTING = "badge_public_key"
#: the ``setting`` row holding the maintenance unlock limiter's state (JSON), so a reboot keeps it
UNLOCK_LIMITER_SETTING = "maintenance_limiter"


class StaffTask(BaseModel):
    """Something staff must see that no other table keeps (migration 7): a payment settled by the
    start-up recovery. Written when the recovery finishes, so a restart before anyone looks keeps
    it; it stays on the staff's task list until dismissed (``dismissed_at``, ``dismissed_by``), and a
    dismissed one stays dismissed across restarts. ``key`` is the task's key on the list."""

    key = pw.CharField(primary_key=True, max_length=96)
    kind = pw.CharField(max_length=32)
    target = pw.CharField(max_length=64)
    detail = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow, index=True)
    dismissed_at = pw.DateTimeField(null=True, index=True)
    dismissed_by = pw.CharField(max_length=64, default="")

    class Meta:
        table_name = "staff_task"


class PromotionRow(BaseModel):
    """A promotion from HQ (migration 9), written with the catalog in one transaction. ``body`` is the
    promotion as HQ sent it (JSON, ``kiosk.sync.promotions`` parses it), so a new kind from HQ needs
    no schema change; a body this release cannot parse is skipped when the cart is priced."""

    promo_id = pw.CharField(primary_key=True, max_length=64)
    body = pw.TextField()
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "promotion"


class OrderDiscount(BaseModel):
    """One promotion applied to an order (migration 9): the receipt prints it and HQ's sale record
    carries it, so the order's total is its lines less its discounts. ``sku`` "" is a whole-cart one."""

    id = pw.AutoField()
    order = pw.ForeignKeyField(Order, backref="discounts", on_delete="CASCADE")
    promo_id = pw.CharField(max_length=64)
    sku = pw.CharField(max_length=64, default="")
    name_zh = pw.CharField(max_length=64)
    name_en = pw.CharField(max_length=64)
    amount_fen = pw.IntegerField(constraints=[pw.Check("amount_fen > 0")])

    class Meta:
        table_name = "order_discount"
