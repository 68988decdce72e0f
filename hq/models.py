"""HQ tables as Peewee models, declared against an unbound database.

``database`` is a ``DatabaseProxy``: nothing connects when this module is imported, and
``hq.db.open_database`` binds it to SQLite or PostgreSQL at start-up. Peewee binds models per class,
so one process serves one HQ database at a time.

Every datetime column holds naive UTC (``datetime.now(UTC).replace(tzinfo=None)``): SQLite has no
time zones, and one convention for both back ends keeps comparisons honest.
"""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
)

database = DatabaseProxy()


def utc_now() -> datetime:
    """Now in UTC, naive, the form every HQ datetime column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database


class SchemaVersion(BaseModel):
    """One row: the number of the last migration applied (see ``hq.db.MIGRATIONS``)."""

    version = IntegerField()

    class Meta:
        table_name = "schema_version"


class Device(BaseModel):
    """A kiosk allowed to talk to HQ. Only the SHA-256 of its API key is kept: a stolen database is no key."""

    id = AutoField()
    kiosk_id = CharField(max_length=64, unique=True)
    api_key_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utc_now)
    last_seen_at = DateTimeField(null=True)

    class Meta:
        table_name = "device"


class Product(BaseModel):
    sku = CharField(max_length=64, primary_key=True)
    name_zh = CharField(max_length=128)
    name_en = CharField(max_length=128)
    price_fen = IntegerField()
    barcode = CharField(max_length=14, null=True, unique=True)
    category = CharField(max_length=64)
    active = BooleanField(default=True)
    updated_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "product"


class Sale(BaseModel):
    """One paid sale as a kiosk reported it. ``content_sha256`` tells a retry from a conflicting record."""

    order_id = CharField(max_length=36, primary_key=True)
    kiosk_id = CharField(max_length=64, index=True)
    created_at = DateTimeField()
    paid_at = DateTimeField(index=True)
    total_fen = BigIntegerField()
    currency = CharField(max_length=3)
    channel = CharField(max_length=16)
    out_trade_no = CharField(max_length=64)
    transaction_id = CharField(max_length=64)
    content_sha256 = CharField(max_length=64)
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "sale"


class SaleLine(BaseModel):
    id = AutoField()
    sale = ForeignKeyField(Sale, backref="lines", column_name="order_id", on_delete="CASCADE")
    line_no = IntegerField()
    sku = CharField(max_length=64)
    name = CharField(max_length=128)
    qty = IntegerField()
    unit_price_fen = IntegerField()
    line_total_fen = BigIntegerField()

    class Meta:
        table_name = "sale_line"
        indexes = ((("sale", "line_no"), True),)


class Refund(BaseModel):
    """A refund a kiosk made of a sale HQ holds, keyed by the kiosk's ``out_refund_no``.

    A sale's refunded amount is the sum of its refunds (``sale.refunds``); ``content_sha256`` tells a
    re-upload from a conflicting record, as for sales. Added by migration 2.
    """

    out_refund_no = CharField(max_length=64, primary_key=True)
    sale = ForeignKeyField(Sale, backref="refunds", column_name="order_id", on_delete="CASCADE")
    kiosk_id = CharField(max_length=64, index=True)
    out_trade_no = CharField(max_length=64)
    amount_fen = BigIntegerField()
    refunded_at = DateTimeField(index=True)
    content_sha256 = CharField(max_length=64)
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "refund"


#: in dependency order: a table comes after the tables it refers to
ALL_MODELS: tuple[type[BaseModel], ...] = (SchemaVersion, Device, Product, Sale, SaleLine, Refund)
