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
    BlobField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

database = DatabaseProxy()


def utc_now() -> datetime:
    """Now in UTC, naive, the form every HQ datetime column stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_text(moment: datetime) -> str:
    """A stored (naive UTC) time as HQ shows and sends it: ``2026-12-02T08:00:00Z``."""
    return moment.isoformat(timespec="seconds") + "Z"


class BaseModel(Model):
    class Meta:
        database = database


class SchemaVersion(BaseModel):
    """One row: the number of the last migration applied (see ``hq.db.MIGRATIONS``)."""

    version = IntegerField()

    class Meta:
        table_name = "schema_version"


class Store(BaseModel):
    """A shop of the chain. Kiosks belong to one store; prices and settings may differ per store."""

    id = AutoField()
    #: short name admins type (``hq store add``): letters, digits, '.', '_' or '-'
    code = CharField(max_length=64, unique=True)
    name = CharField(max_length=128)
    created_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "store"


class Device(BaseModel):
    """A kiosk enrolled at HQ, in one store.

    No secret is kept here: a kiosk's signing secret is derived from HQ's key file and the kiosk's
    ``generation`` (``hq.identity``), so a copy of the database signs nothing. Revoking sets
    ``revoked_at``; enrolling the same kiosk id again bumps ``generation``, which voids the old secret.
    The ``last_*`` columns are the latest heartbeat and clock reading, for ``hq fleet status``.
    """

    id = AutoField()
    kiosk_id = CharField(max_length=64, unique=True)
    store = ForeignKeyField(Store, backref="devices", column_name="store_id", null=True)
    generation = IntegerField(default=1)
    created_at = DateTimeField(default=utc_now)
    enrolled_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    last_seen_at = DateTimeField(null=True)
    #: HQ's clock minus the kiosk's, in seconds, from the kiosk's last signed request
    clock_skew_s = FloatField(null=True)
    last_heartbeat_at = DateTimeField(null=True)
    #: the last heartbeat's body (JSON text), see docs/sync-protocol.md §4
    last_heartbeat = TextField(null=True)
    app_version = CharField(max_length=64, null=True)

    store_id: int | None

    class Meta:
        table_name = "device"


class EnrolCode(BaseModel):
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


class RequestNonce(BaseModel):
    """Nonces of signed requests seen within the clock window; the unique index refuses a replay."""

    id = AutoField()
    kiosk_id = CharField(max_length=64)
    nonce = CharField(max_length=32)
    seen_at = DateTimeField(index=True)

    class Meta:
        table_name = "request_nonce"
        indexes = ((("kiosk_id", "nonce"), True),)


class Admin(BaseModel):
    """A person who may use the admin API. ``password_hash`` is argon2id (argon2-cffi)."""

    id = AutoField()
    name = CharField(max_length=64, unique=True)
    password_hash = CharField(max_length=255)
    created_at = DateTimeField(default=utc_now)
    disabled_at = DateTimeField(null=True)

    class Meta:
        table_name = "admin"


class AdminSession(BaseModel):
    """A signed-in admin: the SHA-256 of a random bearer token, valid until ``expires_at``."""

    token_sha256 = CharField(max_length=64, primary_key=True)
    admin = ForeignKeyField(Admin, column_name="admin_id", on_delete="CASCADE")
    created_at = DateTimeField(default=utc_now)
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = "admin_session"


class CatalogState(BaseModel):
    """One row (id 1): the catalog's current version. Every change to products, categories, store
    prices or settings takes the next number while holding this row, so versions commit in order and
    a kiosk that asks for changes since N can never miss one."""

    id = IntegerField(primary_key=True)
    version = BigIntegerField(default=0)

    class Meta:
        table_name = "catalog_state"


class Category(BaseModel):
    code = CharField(max_length=64, primary_key=True)
    name_zh = CharField(max_length=128)
    name_en = CharField(max_length=128)
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "category"


class Product(BaseModel):
    sku = CharField(max_length=64, primary_key=True)
    name_zh = CharField(max_length=128)
    name_en = CharField(max_length=128)
    price_fen = IntegerField()
    barcode = CharField(max_length=14, null=True, unique=True)
    category = CharField(max_length=64)
    active = BooleanField(default=True)
    updated_at = DateTimeField(default=utc_now)
    #: an https:// (or /-relative) picture of the product for the kiosk's screen; empty for none
    image_url = CharField(max_length=512, default="")
    #: the catalog version of this row's last change (CatalogState), so deltas find it
    version = BigIntegerField(default=0, index=True)

    class Meta:
        table_name = "product"


class StorePrice(BaseModel):
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


class ScopedSetting(BaseModel):
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
    #: the store of the kiosk that sold it, at the time HQ received it (migration 3)
    store_id = IntegerField(null=True, index=True)

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


class PaymentEvent(BaseModel):
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


class AuditEvent(BaseModel):
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


class Heartbeat(BaseModel):
    """A kiosk's health report. The latest is also copied onto its ``device`` row."""

    id = AutoField()
    kiosk_id = CharField(max_length=64, index=True)
    at = DateTimeField(index=True)
    body = TextField()
    received_at = DateTimeField(default=utc_now)

    class Meta:
        table_name = "heartbeat"


class SyncEvent(BaseModel):
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


class WebhookDelivery(BaseModel):
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


class Staff(BaseModel):
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


class HqAudit(BaseModel):
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


class OtaRelease(BaseModel):
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


class OtaRollout(BaseModel):
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


class OtaDeviceStatus(BaseModel):
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


class OtaOutcome(BaseModel):
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


class Promotion(BaseModel):
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


class SaleDiscount(BaseModel):
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


class ProductPicture(BaseModel):
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


#: in dependency order: a table comes after the tables it refers to
ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaVersion,
    Store,
    Device,
    EnrolCode,
    RequestNonce,
    Admin,
    AdminSession,
    CatalogState,
    Category,
    Product,
    StorePrice,
    ScopedSetting,
    Sale,
    SaleLine,
    Refund,
    PaymentEvent,
    AuditEvent,
    Heartbeat,
    SyncEvent,
    WebhookDelivery,
    Staff,
    HqAudit,
    OtaRelease,
    OtaRollout,
    OtaDeviceStatus,
    OtaOutcome,
    Promotion,
    SaleDiscount,
    ProductPicture,
)
