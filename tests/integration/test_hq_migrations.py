"""HQ's numbered migrations on both back ends: from empty, and migration 3 over a version-2 database
holding data. Each test runs on SQLite and on a real PostgreSQL database (``hq_db_url``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import peewee
import pytest
from hq_fixtures import sqlite_url

from hq.db import DatabaseOpenError, _bound_url, connect_database, connected, open_database
from hq.migrations import MIGRATIONS
from hq.models import (
    ALL_MODELS,
    CatalogState,
    Device,
    Product,
    Refund,
    Sale,
    SaleLine,
    SchemaVersion,
    database,
)


def _columns(db: peewee.Database, table: str) -> set[str]:
    return {c.name for c in db.get_columns(table)}


def _assert_schema_is_the_models(db: peewee.Database) -> None:
    """Every model's table exists with exactly the model's columns: what the migrations built is
    what the code reads and writes, on either back end."""
    tables = set(db.get_tables())
    for model in ALL_MODELS:
        table = model._meta.table_name
        assert table in tables, f"migrations made no table {table}"
        expected = {field.column_name for field in model._meta.sorted_fields}
        assert _columns(db, table) == expected, f"table {table} differs from hq.models"


def test_an_empty_database_migrates_to_the_current_schema(hq_db_url: str) -> None:
    db = open_database(hq_db_url)
    with connected():
        versions = db.execute_sql("SELECT version FROM schema_version").fetchall()
        assert [tuple(v) for v in versions] == [(len(MIGRATIONS),)]
        _assert_schema_is_the_models(db)
        assert CatalogState.get_by_id(1).version == 0
    # opening again applies nothing and keeps the one version row
    open_database(hq_db_url)
    with connected():
        assert db.execute_sql("SELECT count(*) FROM schema_version").fetchone()[0] == 1


def _make_version_2(url: str) -> None:
    """A database as HQ left it at schema version 2 (migrations 1 and 2 only), with a kiosk, a
    product, a sale with its lines and a refund, written in the columns version 2 had."""
    db = connect_database(url)
    db.connect()
    try:
        with db.atomic():
            for step in MIGRATIONS[:2]:
                step(db)
            with db.bind_ctx([SchemaVersion]):
                db.create_tables([SchemaVersion])
                SchemaVersion.create(version=2)
            db.execute_sql(
                "INSERT INTO device (kiosk_id, api_key_hash, created_at, last_seen_at) "
                "VALUES ('kiosk-001', 'abcd', '2026-11-01 08:00:00', '2026-11-24 12:01:00')"
            )
            db.execute_sql(
                "INSERT INTO product (sku, name_zh, name_en, price_fen, barcode, category, active, "
                "updated_at) VALUES ('D001', '矿泉水', 'Water', 200, '6901234560015', 'drinks', "
                "TRUE, '2026-11-01 08:00:00')"
            )
            db.execute_sql(
                "INSERT INTO sale (order_id, kiosk_id, created_at, paid_at, total_fen, currency, channel, "
                "out_trade_no, transaction_id, content_sha256, received_at) VALUES "
                "('0f8fad5b-d9cb-469f-a165-70867728950e', 'kiosk-001', '2026-11-24 12:00:00', "
                "'2026-11-24 12:00:31', 400, 'CNY', 'wechat', 'K001-0f8fad5b', '42000f8fad5b', "
                "'aa', '2026-11-24 12:01:00')"
            )
            db.execute_sql(
                "INSERT INTO sale_line (order_id, line_no, sku, name, qty, unit_price_fen, "
                "line_total_fen) VALUES ('0f8fad5b-d9cb-469f-a165-70867728950e', 1, 'D001', "
                "'矿泉水 Water', 2, 200, 400)"
            )
            db.execute_sql(
                "INSERT INTO refund (out_refund_no, order_id, kiosk_id, out_trade_no, amount_fen, "
                "refunded_at, content_sha256, received_at) VALUES ('R001', "
                "'0f8fad5b-d9cb-469f-a165-70867728950e', 'kiosk-001', 'K001-0f8fad5b', 200, "
                "'2026-11-24 12:05:00', 'bb', '2026-11-24 12:06:00')"
            )
    finally:
        db.close()


def test_migration_3_upgrades_a_version_2_database_and_keeps_its_data(hq_db_url: str) -> None:
    _make_version_2(hq_db_url)
    db = open_database(hq_db_url)
    with connected():
        assert db.execute_sql("SELECT version FROM schema_version").fetchone()[0] == len(MIGRATIONS) == 8
        _assert_schema_is_the_models(db)
        assert "api_key_hash" not in _columns(db, "device")
        device = Device.get(Device.kiosk_id == "kiosk-001")
        # kept, but no longer able to sign anything: no store until the kiosk enrols again
        assert device.store_id is None
        assert device.generation == 1
        assert device.revoked_at is None
        assert device.last_seen_at == datetime(2026, 11, 24, 12, 1)
        product = Product.get_by_id("D001")
        assert (product.name_zh, product.price_fen, product.barcode, product.active) == (
            "矿泉水",
            200,
            "6901234560015",
            True,
        )
        assert (product.image_url, product.version) == ("", 0)
        sale = Sale.get_by_id("0f8fad5b-d9cb-469f-a165-70867728950e")
        assert (sale.total_fen, sale.channel, sale.store_id) == (400, "wechat", None)
        assert [(line.sku, line.qty) for line in SaleLine.select().where(SaleLine.sale == sale)] == [
            ("D001", 2)
        ]
        assert [r.amount_fen for r in Refund.select()] == [200]
        assert CatalogState.get_by_id(1).version == 0
        # the tables migration 3 made take new rows, with the constraints the models declare
        with pytest.raises(peewee.IntegrityError), database.atomic():
            database.execute_sql(
                "INSERT INTO sale_line (order_id, line_no, sku, name, qty, unit_price_fen, "
                "line_total_fen) VALUES ('0f8fad5b-d9cb-469f-a165-70867728950e', 1, 'X', 'x', 1, 1, 1)"
            )


def test_a_newer_schema_version_is_refused_on_both_back_ends(hq_db_url: str) -> None:
    open_database(hq_db_url)
    with connected():
        SchemaVersion.update(version=len(MIGRATIONS) + 1).execute()
    _bound_url.clear()  # make open_database look at the database again rather than reuse the binding
    with pytest.raises(DatabaseOpenError, match=rf"schema version {len(MIGRATIONS) + 1} .*upgrade HQ"):
        open_database(hq_db_url)


@pytest.mark.postgres
def test_both_back_ends_build_the_same_schema(tmp_path: Path, pg_database_url: str) -> None:
    """SQLite and PostgreSQL, migrated from empty, agree on the version and on every table's columns."""
    shapes = []
    for url in (sqlite_url(tmp_path / "hq.sqlite3"), pg_database_url):
        db = open_database(url)
        with connected():
            version = db.execute_sql("SELECT version FROM schema_version").fetchone()[0]
            shape = {table: _columns(db, table) for table in db.get_tables()}
        shapes.append((version, shape))
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == len(MIGRATIONS)


def test_the_old_migrations_build_the_tables_of_their_day_whatever_hq_models_says(tmp_path: Path) -> None:
    """A column added to a model today must come from a new migration, not from an old one creating
    the table from today's model (a new database would then fail the new migration's add_column)."""
    from hq import models

    added = [(model, f"added_later_{model._meta.table_name}") for model in models.ALL_MODELS]
    for model, name in added:
        model._meta.add_field(name, peewee.IntegerField(null=True))
    try:
        db = connect_database(sqlite_url(tmp_path / "hq.db"))
        db.connect()
        try:
            for step in MIGRATIONS:
                step(db)
            leaked = [
                model._meta.table_name
                for model, name in added
                if model._meta.table_name in db.get_tables() and name in _columns(db, model._meta.table_name)
            ]
        finally:
            db.close()
    finally:
        for model, name in added:
            model._meta.remove_field(name)
    assert leaked == [], f"migrations created these tables from hq.models: {leaked}"
