"""HQ's numbered schema migrations, the same steps on SQLite and on PostgreSQL.

Migration N brings the schema from version N-1 to N. Append; never edit one that has shipped. A
migration creates tables from *frozen* model classes (the table as it was when that migration
shipped), not from ``hq.models``, which keeps changing: when a later migration alters a table, the
table's earlier shape is copied here first. Columns are added and dropped with ``playhouse.migrate``.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee
from peewee import (
    BigIntegerField,
    CharField,
    DateTimeField,
    FloatField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator, migrate

from hq import frozen_fleet as fleet
from hq import frozen_schema as frozen


def _create(db: peewee.Database, tables: list[type[Model]]) -> None:
    with db.bind_ctx(tables, bind_refs=False, bind_backrefs=False):
        db.create_tables(tables)


def _migrator(db: peewee.Database) -> SchemaMigrator:
    if isinstance(db, peewee.PostgresqlDatabase):
        return PostgresqlMigrator(db)
    if isinstance(db, peewee.SqliteDatabase):
        return SqliteMigrator(db)
    raise TypeError(f"HQ has no migrator for {type(db).__name__}")


def _m001_initial(db: peewee.Database) -> None:
    _create(db, [frozen.Device, frozen.Product, frozen.Sale, frozen.SaleLine])


def _m002_refunds(db: peewee.Database) -> None:
    _create(db, [frozen.Refund])


def _m003_fleet(db: peewee.Database) -> None:
    """Stores, enrolled kiosks signing their requests, the versioned catalog, the sync ledger,
    payments, audit events, heartbeats and webhook deliveries (docs/sync-protocol.md)."""
    m = fleet
    _create(db, [m.Store, m.EnrolCode, m.RequestNonce, m.Admin, m.AdminSession, m.CatalogState])
    _create(db, [m.Category, m.StorePrice, m.ScopedSetting, m.PaymentEvent, m.AuditEvent])
    _create(db, [m.Heartbeat, m.SyncEvent, m.WebhookDelivery])
    with db.bind_ctx([m.CatalogState]):
        m.CatalogState.insert(id=1, version=0).execute()
    migrator = _migrator(db)
    # API keys are gone: kiosks sign each request with a secret derived from HQ's key file (hq.identity)
    migrate(
        migrator.drop_index("device", "device_api_key_hash"),
        migrator.drop_column("device", "api_key_hash"),
        migrator.add_column("device", "store_id", m.DEVICE_STORE),
        migrator.add_column("device", "generation", IntegerField(default=1)),
        migrator.add_column("device", "enrolled_at", DateTimeField(null=True)),
        migrator.add_column("device", "revoked_at", DateTimeField(null=True)),
        migrator.add_column("device", "clock_skew_s", FloatField(null=True)),
        migrator.add_column("device", "last_heartbeat_at", DateTimeField(null=True)),
        migrator.add_column("device", "last_heartbeat", TextField(null=True)),
        migrator.add_column("device", "app_version", CharField(max_length=64, null=True)),
        migrator.add_column("product", "image_url", CharField(max_length=512, default="")),
        migrator.add_column("product", "version", BigIntegerField(default=0)),
        migrator.add_index("product", ("version",), False),
        migrator.add_column("sale", "store_id", IntegerField(null=True)),
        migrator.add_index("sale", ("store_id",), False),
    )


def _m004_staff(db: peewee.Database) -> None:
    """Staff accounts that unlock the kiosks' maintenance mode, synced with the catalog (hq.staff)."""
    _create(db, [fleet.Staff])


def _m005_hq_audit(db: peewee.Database) -> None:
    """HQ's own audit of the changes its admins and commands make to staff accounts (hq.staff)."""
    _create(db, [fleet.HqAudit])


def _m006_ota(db: peewee.Database) -> None:
    """Releases, staged rollouts and each kiosk's update state and outcomes (hq.rollouts, docs/ota.md)."""
    m = fleet
    _create(db, [m.OtaRelease, m.OtaRollout, m.OtaDeviceStatus, m.OtaOutcome])


def _m007_promotions(db: peewee.Database) -> None:
    """Promotions sent down with the catalog, and the discounts each sale got (hq.promotions)."""
    _create(db, [fleet.Promotion, fleet.SaleDiscount])


def _m008_product_pictures(db: peewee.Database) -> None:
    """One picture per product, sent to the kiosks with the catalog (hq.pictures)."""
    _create(db, [fleet.ProductPicture])


MIGRATIONS: tuple[Callable[[peewee.Database], None], ...] = (
    _m001_initial,
    _m002_refunds,
    _m003_fleet,
    _m004_staff,
    _m005_hq_audit,
    _m006_ota,
    _m007_promotions,
    _m008_product_pictures,
)
