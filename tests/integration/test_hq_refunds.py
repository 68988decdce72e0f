"""Refunds at HQ beyond the sync endpoint (whose refund rules are tested in test_hq_sync_events.py):
the refund table's migration, and a sale's refunded amount."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hq_fixtures import make_sale, running_hq, sqlite_url
from sync_helpers import event, post_events, refund_of, results, sale_event

from hq.db import MIGRATIONS, connected, open_database
from hq.models import database
from hq.refunds import refunded_fen


def rows(db_file: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql).fetchall()


def test_a_sales_refunded_amount_is_the_sum_of_its_refunds(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        kiosk = hq.session(hq.enrol("kiosk-001"))
        sale, other = make_sale(), make_sale()
        reply = post_events(
            kiosk,
            hq,
            [
                sale_event(sale),
                sale_event(other),
                event("refund", refund_of(sale, amount_fen=100, out_refund_no="R-1")),
                event("refund", refund_of(sale, amount_fen=250, out_refund_no="R-2")),
            ],
        )
        assert [s for _, s in results(reply)] == ["stored"] * 4
        with connected():
            assert refunded_fen(sale["order_id"]) == 350
            assert refunded_fen(other["order_id"]) == 0


def test_the_migrations_bring_a_version_1_database_up_to_date(tmp_path: Path) -> None:
    db_file = tmp_path / "old.sqlite3"
    open_database(sqlite_url(db_file))
    with sqlite3.connect(db_file) as conn:  # make it what the first release left behind
        for table in ("refund", "store", "enrol_code", "request_nonce", "admin", "admin_session"):
            conn.execute(f"DROP TABLE {table}")
        for table in ("catalog_state", "category", "store_price", "scoped_setting", "payment_event"):
            conn.execute(f"DROP TABLE {table}")
        for table in ("audit_event", "heartbeat", "sync_event", "webhook_delivery"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP TABLE device")
        conn.execute(
            "CREATE TABLE device (id INTEGER PRIMARY KEY, kiosk_id VARCHAR(64) NOT NULL UNIQUE, "
            "api_key_hash VARCHAR(64) NOT NULL, created_at DATETIME NOT NULL, last_seen_at DATETIME)"
        )
        conn.execute("CREATE UNIQUE INDEX device_api_key_hash ON device (api_key_hash)")
        conn.execute("DROP INDEX product_version")
        conn.execute("DROP INDEX sale_store_id")
        for column in ("image_url", "version"):
            conn.execute(f"ALTER TABLE product DROP COLUMN {column}")
        conn.execute("ALTER TABLE sale DROP COLUMN store_id")
        conn.execute("UPDATE schema_version SET version = 1")
        conn.execute(
            "INSERT INTO device (kiosk_id, api_key_hash, created_at) VALUES ('k', 'h', '2026-01-01')"
        )
    open_database(sqlite_url(tmp_path / "elsewhere.sqlite3"))
    open_database(sqlite_url(db_file))
    assert rows(db_file, "SELECT version FROM schema_version") == [(len(MIGRATIONS),)]
    assert rows(db_file, "SELECT kiosk_id FROM device") == [("k",)]
    assert rows(db_file, "SELECT id, version FROM catalog_state") == [(1, 0)]
    with connected():
        assert database.execute_sql("SELECT count(*) FROM refund").fetchone()[0] == 0
