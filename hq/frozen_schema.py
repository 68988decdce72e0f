"""HQ tables as migrations 1 and 2 created them, frozen: ``hq.migrations`` creates them from here.

The class names are the table names' models on purpose: Peewee names an index after its model
(``device_api_key_hash``), and a later migration that drops or renames one needs that exact name.
Never import these outside ``hq.migrations``; ``hq.models`` holds today's tables.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
)

from hq.models import utc_now


class _Frozen(Model):
    class Meta:
        database = None


class Device(_Frozen):
    id = AutoField()
    kiosk_id = CharField(max_length=64, unique=True)
    api_key_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utc_now)
    last_seen_at = DateTimeField(null=True)

    class Meta:
        table_name = "device"


class Product(_Frozen):
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


class Sale(_Frozen):
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


class SaleLine(_Frozen):
    id = AutoField()
    sale = ForeignKeyField(Sale, column_name="order_id", on_delete="CASCADE")
    line_no = IntegerField()
    sku = CharField(max_length=64)
    name = CharField(max_length=128)
    qty = IntegerField()
    unit_price_fen = IntegerField()
    line_total_fen = BigIntegerField()

    class Meta:
        table_name = "sale_line"
        indexes = ((("sale", "line_no"), True),)


class Refund(_Frozen):
    out_refund_no = CharField(max_length=64, primary_key=True)
    sale = ForeignKeyField(Sale, column_name="order_id", on_delete="CASCADE")
    kiosk_id = CharField(max_length=64, index=True)
    out_trade_no = CharField(max_length=64)
    amount_fen = BigIntegerField()
    refunded_at = DateTimeField(index=True)
    content_sha256 = CharField(max_length=64)
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "refund"
