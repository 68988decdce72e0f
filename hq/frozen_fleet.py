"""HQ tables as migrations 3 and later created them, frozen: ``hq.migrations`` creates them from here.

A migration must build the schema of its day for ever. Creating tables from ``hq.models`` would
make an old migration create today's columns on a new database, and the later migration that adds
such a column would then fail there (or, worse, differ between new and old databases). So these
are copies of the models as the migrations first created them; ``hq.models`` holds today's tables.
Foreign keys to tables of migrations 1 and 2 point at ``hq.frozen_schema``. Never import these
outside ``hq.migrations``; never edit a class here: add a migration instead.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from hq.frozen_schema import Device, Product, Sale
from hq.models import utc_now


class _Frozen(Model):
    class Meta:
        database = None


class Store(_Frozen):
    """A shop of the chain. Kiosks belong to one store; prices and settings may differ per store."""

    id = AutoField()
    #: short name admins type (``hq store add``): letters, digits, '.', '_' or '-'
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=128)
    created_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "store"


class EnrolCode(_Frozen):
    """A one-time code that lets one kiosk enrol into one store before ``expires_at``. Kept as a hash."""

    id = AutoField()
    code_sha256 = CharField(max_length=64, unique=True)
    store = ForeignKeyField(Store, column_name="store_id", on_delete="CASCADE")
    #: the kiosk id the code enrols; empty lets the kiosk propose its own
    kiosk_id = CharField(max_length=64, default="")
    created_at = DateTimeField(default=utc_now)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    used_by = CharField(max_length=64, null=True)

    class Meta:
        table_name = "enrol_code"


class RequestNonce(_Frozen):
    """Nonces of signed requests seen within the clock window; the unique index refuses a replay."""

    id = AutoField()
    kiosk_id = CharField(max_length=64)
    nonce = CharField(max_length=32)
    seen_at = DateTimeField(index=True)

    class Meta:
        table_name = "request_nonce"
        indexes = ((("kiosk_id", "nonce"), True),)


class Admin(_Frozen):
    """A person who may use the admin API. ``password_hash`` is argon2id (argon2-cffi)."""

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utc_now)
    disabled_at = DateTimeField(null=True)

    class Meta:
        table_name = "admin"


class AdminSession(_Frozen):
    """A signed-in admin: the SHA-256 of a random bearer token, valid until ``expires_at``."""

    token_sha256 = CharField(max_length=64, primary_key=True)
    admin = ForeignKeyField(Admin, column_name="admin_id", on_delete="CASCADE")
    created_at = DateTimeField(default=utc_now)
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "admin_session"


class CatalogState(_Frozen):
    """One row (id 1): the catalog's current version. Every change to products, categories, store
    prices or settings takes the next number while holding this row, so versions commit in order and
    a kiosk that asks for changes since N can never miss one."""

    id = IntegerField(primary_key=True)
    version = BigIntegerField(default=0)

    class Meta:
        table_name = "catalog_state"


class Category(_Frozen):
    code = CharField(max_length=64, primary_key=True)
    name_zh = CharField(max_length=128)
    name_en = CharField(max_length=128)
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "category"


class StorePrice(_Frozen):
    """A store's own price for a product (tax included). ``price_fen`` NULL: the store's price was
    removed and the product's own price applies again (kept as a row so deltas carry the removal)."""

    id = AutoField()
    store = ForeignKeyField(Store, column_name="store_id", on_delete="CASCADE")
    product = ForeignKeyField(Product, column_name="sku", on_delete="CASCADE")
    price_fen = IntegerField(null=True)
    version = BigIntegerField(default=0, index=True)

    store_id: int
    #: the product's sku (the foreign key's column; peewee names its accessor after it)
    sku: str

    class Meta:
        table_name = "store_price"
        indexes = ((("store", "product"), True),)


class ScopedSetting(_Frozen):
    """A setting for one store (``scope`` "store", ``scope_id`` its id) or one kiosk ("kiosk", its
    device id). ``value`` is JSON text; NULL means removed, kept so deltas carry the removal."""

    id = AutoField()
    scope = CharField(max_length=8)
    scope_id = IntegerField()
    key = CharField(max_length=128)
    value = TextField(null=True)
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "scoped_setting"
        indexes = ((("scope", "scope_id", "key"), True),)


class PaymentEvent(_Frozen):
    """A payment attempt's final state as the kiosk reported it (paid, failed, cancelled, unknown),
    for reconciling against the channels' statements. Keyed by ``out_trade_no``."""

    out_trade_no = CharField(max_length=64, primary_key=True)
    kiosk_id = CharField(max_length=64, index=True)
    order_id = CharField(max_length=36, index=True)
    channel = CharField(max_length=16)
    amount_fen = BigIntegerField()
    status = CharField(max_length=16)
    transaction_id = CharField(max_length=64, default="")
    at = DateTimeField()
    content_sha256 = CharField(max_length=64)
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "payment_event"


class AuditEvent(_Frozen):
    """One line of a kiosk's audit log (who did what, when), as the kiosk recorded it."""

    id = AutoField()
    kiosk_id = CharField(max_length=64, index=True)
    at = DateTimeField(index=True)
    actor = CharField(max_length=64)
    action = CharField(max_length=64)
    detail = TextField(default="")
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "audit_event"


class Heartbeat(_Frozen):
    """A kiosk's health report. The latest is also copied onto its ``device`` row."""

    id = AutoField()
    kiosk_id = CharField(max_length=64, index=True)
    at = DateTimeField(index=True)
    body = TextField()
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "heartbeat"


class SyncEvent(_Frozen):
    """The ledger that makes ingest exactly-once: one row per (kiosk, idempotency key).

    The event's effect and this row are written in one transaction, and the unique index, not a
    lookup, decides who wins a race; a replay is answered with ``answer`` as first given.
    """

    id = AutoField()
    kiosk_id = CharField(max_length=64)
    key = CharField(max_length=64)
    kind = CharField(max_length=16)
    #: what HQ answered first ("stored" or "rejected"), JSON text, repeated to any replay
    answer = TextField()
    received_at = DateTimeField(default=utc_now, index=True)

    class Meta:
        table_name = "sync_event"
        indexes = ((("kiosk_id", "key"), True),)


class WebhookDelivery(_Frozen):
    """An event for other systems, written with the sale or refund it announces and sent at least
    once by the deliverer (``hq.webhooks``). ``event_id`` is the id receivers de-duplicate on."""

    id = AutoField()
    event_id = CharField(max_length=36, unique=True)
    kind = CharField(max_length=32)
    payload = TextField()
    created_at = DateTimeField(default=utc_now)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utc_now, index=True)
    lease_until = DateTimeField(null=True)
    delivered_at = DateTimeField(null=True, index=True)
    #: set when HQ gave up (after [webhooks] max_age_s of failures); the row is kept for the record
    failed_at = DateTimeField(null=True, index=True)
    last_error = CharField(max_length=255, default="")

    class Meta:
        table_name = "webhook_delivery"


class Staff(_Frozen):
    """A member of store staff who may unlock a kiosk's maintenance mode (``hq staff add``).

    ``pin_hash`` is argon2id of the PIN, made by HQ's CLI: the PIN itself is never stored or sent;
    kiosks get the hash and check a PIN offline. ``stores`` is a JSON list of store codes, or empty
    for every store. ``version`` is the catalog version of the row's last change, so the account rides
    the catalog deltas to the kiosks (docs/sync-protocol.md §5). Added by migration 4.
    """

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    role = CharField(max_length=16)
    pin_hash = CharField(max_length=255)
    stores = TextField(default="")
    created_at = DateTimeField(default=utc_now)
    disabled_at = DateTimeField(null=True)
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "staff"


class HqAudit(_Frozen):
    """One change HQ itself made on an admin's or a command's word (``hq.staff``: accounts added,
    disabled, re-roled, PINs reset, badges issued), so "who changed this account" has an answer.
    ``actor`` is the admin's name, or ``cli:<user>`` for HQ's own commands; ``detail`` is JSON and
    never holds a PIN, a hash or a badge. Added by migration 5."""

    id = AutoField()
    at = DateTimeField(default=utc_now, index=True)
    actor = CharField(max_length=80)
    action = CharField(max_length=64)
    target = CharField(max_length=64, index=True)
    detail = TextField(default="")

    class Meta:
        table_name = "hq_audit"


class OtaRelease(_Frozen):
    """A release kiosks may be told to run: the TUF target ``target`` (``kiosk-<version>.tar``) in
    ``channel``. Registered by ``ota release register`` or by the TUF publish step (``hq.rollouts``);
    the bundle itself lives in HQ's TUF repository, not here. Added by migration 6."""

    id = AutoField()
    version = CharField(max_length=64)
    channel = CharField(max_length=32)
    target = CharField(max_length=128)
    #: the newest kiosk store migration the release ships (manifest ``min_store_schema``)
    min_store_schema = IntegerField()
    published_at = DateTimeField(default=utc_now)
    published_by = CharField(max_length=64)

    class Meta:
        table_name = "ota_release"
        indexes = ((("version", "channel"), True),)


class OtaRollout(_Frozen):
    """A staged rollout of one release (docs/ota.md). ``stages`` is JSON, e.g. ``[1, 10, 50, 100]``;
    ``current_stage`` indexes it; ``previous_release`` is what an abort sends the fleet back to (None:
    no earlier rollout finished, so an abort tells kiosks nothing to install). ``reason`` says why the
    rollout last paused, finished or was aborted. Added by migration 6."""

    id = AutoField()
    release = ForeignKeyField(OtaRelease, column_name="release_id")
    previous_release = ForeignKeyField(
        OtaRelease, column_name="previous_release_id", null=True, backref="superseded_by"
    )
    stages = CharField(max_length=512)
    max_failure_rate = FloatField()
    stage_deadline_s = IntegerField()
    state = CharField(max_length=16, index=True)
    current_stage = IntegerField(default=0)
    stage_started_at = DateTimeField()
    reason = TextField(default="")
    created_at = DateTimeField(default=utc_now)
    created_by = CharField(max_length=64)
    updated_at = DateTimeField(default=utc_now)
    updated_by = CharField(max_length=64)

    release_id: int
    previous_release_id: int | None

    class Meta:
        table_name = "ota_rollout"


class OtaDeviceStatus(_Frozen):
    """A kiosk's latest update state as its agent last reported it (directly or in a heartbeat), and
    whether an admin asked it to check for an update now. Added by migration 6."""

    device = ForeignKeyField(Device, column_name="device_id", primary_key=True, on_delete="CASCADE")
    version = CharField(max_length=64, null=True)
    state = CharField(max_length=16, null=True)
    detail = TextField(default="")
    updated_at = DateTimeField(null=True)
    #: set by ``ota rollout check-now``; cleared by the assignment answer that carries it
    check_now = BooleanField(default=False)

    device_id: int

    class Meta:
        table_name = "ota_device_status"


class OtaOutcome(_Frozen):
    """How one rollout's release ended on one kiosk (healthy, failed or rolled_back): what stage
    failure rates are counted from. A later final report replaces an earlier one. Migration 6."""

    id = AutoField()
    rollout = ForeignKeyField(OtaRollout, column_name="rollout_id", on_delete="CASCADE")
    device = ForeignKeyField(Device, column_name="device_id", on_delete="CASCADE")
    state = CharField(max_length=16)
    detail = TextField(default="")
    at = DateTimeField()

    rollout_id: int
    device_id: int

    class Meta:
        table_name = "ota_outcome"
        indexes = ((("rollout", "device"), True),)


class Promotion(_Frozen):
    """A promotion the kiosks apply to carts (``hq promo add``; the rules are kiosk.core.pricing's,
    docs/sync-protocol.md §5). ``store_code`` "" runs it in every store. Every change takes a catalog
    version, so the kiosks pull the list again; ``ended_at`` is when an admin ended it early (the
    kiosks get it with ``ends_at`` moved to then). Added by migration 7."""

    promo_id = CharField(max_length=64, primary_key=True)
    kind = CharField(max_length=16)
    name_zh = CharField(max_length=64)
    name_en = CharField(max_length=64)
    store_code = CharField(max_length=32, default="", index=True)
    starts_at = DateTimeField()
    ends_at = DateTimeField(null=True)
    priority = IntegerField(default=0)
    sku = CharField(max_length=64, default="")
    category = CharField(max_length=64, default="")
    percent = IntegerField(default=0)
    qty = IntegerField(default=0)
    price_fen = BigIntegerField(default=0)
    threshold_fen = BigIntegerField(default=0)
    off_fen = BigIntegerField(default=0)
    members_only = BooleanField(default=False)
    created_at = DateTimeField(default=utc_now)
    ended_at = DateTimeField(null=True)
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "promotion"


class SaleDiscount(_Frozen):
    """A promotion a kiosk applied to a sale (migration 7): a sale's total is its lines less these."""

    id = AutoField()
    sale = ForeignKeyField(Sale, backref="discounts", column_name="order_id", on_delete="CASCADE")
    line_no = IntegerField()
    promo_id = CharField(max_length=64, index=True)
    sku = CharField(max_length=64, default="")
    name = CharField(max_length=128)
    amount_fen = BigIntegerField()

    class Meta:
        table_name = "sale_discount"
        indexes = ((("sale", "line_no"), True),)


class ProductPicture(_Frozen):
    """The one picture of a product the kiosks show on its tile (``hq catalog image set``), stored
    in the database as bytes rather than as a file under HQ's data folder: a picture is at most
    512 KiB (``kiosk_common.pictures``), so a catalog's worth is a few hundred MB at the very most;
    in the database it is written in the same transaction as the catalog version that announces it
    (a kiosk is never told of a picture that is not there yet), it is in HQ's database backup with
    the rest of the catalog, and HQ's workers on several machines (PostgreSQL) all see it without
    a shared folder. The kiosks fetch it by sku (``GET /api/v1/sync/pictures/{sku}``) and check it
    against ``sha256``. Added by migration 8."""

    product = ForeignKeyField(
        Product,
        primary_key=True,
        column_name="sku",
        object_id_name="product_id",
        backref="pictures",
        on_delete="CASCADE",
    )
    #: the file name a kiosk writes: ``<sku>.png`` or ``<sku>.jpg``, by what the bytes are
    name = CharField(max_length=80)
    media_type = CharField(max_length=32)
    sha256 = CharField(max_length=64)
    size = IntegerField()
    width = IntegerField()
    height = IntegerField()
    data = BlobField()
    uploaded_at = DateTimeField(default=utc_now)

    product_id: str

    class Meta:
        table_name = "product_picture"


#: migration 3 adds the device's store column with this field (a foreign key to ``Store``)
DEVICE_STORE = ForeignKeyField(Store, field=Store.id, column_name="store_id", null=True)
