"""The store's side of sync protocol v1 on real SQLite files: outbox events written in the
transaction of what they report (migration 4 keys and states), heartbeats coalesced, the catalog
applied in one transaction, and the product search."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.payment import PayState
from kiosk.ports import CatalogItem, CatalogUpdate
from kiosk.store.db import open_store
from kiosk.store.migrations import LATEST
from kiosk.store.models import OutboxEntry, Setting
from kiosk.store.sales import SaleError, SaleStore

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
WX = "134567890123456789"


@pytest.fixture
def store(tmp_path: Path) -> SaleStore:
    return SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "kiosk-test")


def _paid(store: SaleStore, code: str = WX) -> tuple[str, str]:
    order_id = store.open_order(Cart().add(WATER))
    pay = store.begin_payment(order_id, "wechat", "sim", code)
    store.record_paid(pay.out_trade_no, "4200001")
    return order_id, pay.out_trade_no


def _kinds(store: SaleStore) -> list[str]:
    return [i.kind for i in store.due(100)]


def test_a_paid_sale_queues_its_sale_and_payment_events_with_unique_keys(store: SaleStore) -> None:
    order_id, otn = _paid(store)
    items = store.due(100)
    assert [i.kind for i in items] == ["sale", "payment"]
    assert items[0].payload["order_id"] == order_id
    assert items[1].payload == {
        "out_trade_no": otn,
        "order_id": order_id,
        "channel": "wechat",
        "amount_fen": 200,
        "status": "paid",
        "transaction_id": "4200001",
        "at": items[1].payload["at"],
    }
    assert items[1].payload["at"].endswith("Z")
    assert len({i.key for i in items}) == 2 and all(uuid.UUID(i.key) for i in items)


def test_failed_and_cancelled_payments_are_reported_once(store: SaleStore) -> None:
    order_id = store.open_order(Cart().add(WATER))
    pay = store.begin_payment(order_id, "alipay", "sim", "281234567890123456")
    store.update_payment(pay.out_trade_no, PayState.USER_PAYING)
    assert _kinds(store) == []  # not an end
    store.update_payment(pay.out_trade_no, PayState.FAILED, "declined")
    store.update_payment(pay.out_trade_no, PayState.FAILED, "declined")  # the same end again
    events = store.due(100)
    assert [(e.kind, e.payload["status"]) for e in events] == [("payment", "failed")]


def test_audit_and_refund_events(store: SaleStore) -> None:
    _order_id, otn = _paid(store)
    store.audit("staff", "door_opened", "back door")
    store.begin_refund(otn, "staff")
    store.record_refund(otn, "RF1", "staff")
    kinds = _kinds(store)
    assert kinds == ["sale", "payment", "audit", "audit", "refund", "audit"]
    audit = store.due(100)[2].payload
    assert (audit["actor"], audit["action"], audit["detail"]) == ("staff", "door_opened", "back door")


def test_an_event_is_written_with_its_change_or_not_at_all(store: SaleStore, tmp_path: Path) -> None:
    """GIVEN a store whose outbox refuses inserts, WHEN a sale is paid, THEN neither the payment
    nor the order changed: nothing is told that did not happen, nothing happens untold."""
    order_id = store.open_order(Cart().add(WATER))
    pay = store.begin_payment(order_id, "wechat", "sim", WX)
    store.db.execute_sql(
        "CREATE TRIGGER no_events BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'outbox refused'); END"
    )
    with pytest.raises(Exception, match="outbox refused"):
        store.record_paid(pay.out_trade_no, "4200001")
    assert store.order(order_id).status.value == "open"
    record = store.payment(pay.out_trade_no)
    assert record is not None and record.status is PayState.SUBMITTED


def test_only_the_newest_unsent_heartbeat_is_kept(store: SaleStore) -> None:
    store.enqueue_heartbeat({"n": 1})
    _paid(store)
    store.enqueue_heartbeat({"n": 2})
    store.enqueue_heartbeat({"n": 3})
    items = store.due(100)
    assert [(i.kind, i.payload.get("n")) for i in items] == [
        ("sale", None),
        ("payment", None),
        ("heartbeat", 3),
    ]
    store.mark_sent([items[2].id])
    store.enqueue_heartbeat({"n": 4})  # a sent one is history, not replaced
    assert OutboxEntry.select().where(OutboxEntry.kind == "heartbeat").count() == 2


def test_parked_events_leave_the_queue_keep_their_reason_and_are_audited(store: SaleStore) -> None:
    _paid(store)
    sale = store.due(100)[0]
    store.park(sale.id, "rejected by HQ: lines[0].qty: must be > 0")
    assert [i.kind for i in store.due(100)] == ["payment", "audit"]
    assert store.parked_count() == 1 and store.pending_count() == 2
    assert store.parked() == [(sale.key, "sale", "rejected by HQ: lines[0].qty: must be > 0")]
    assert "event_parked" in [i.payload.get("action") for i in store.due(100)]


def test_migration_4_gives_old_rows_keys_and_states(tmp_path: Path) -> None:
    """A store of schema 3 (no key, state or parked_reason) with one sent and one unsent row."""
    path = tmp_path / "old.sqlite3"
    SaleStore(open_store(path), "k").db.close()
    con = sqlite3.connect(path)
    con.executescript(
        """
        DROP INDEX outbox_key; DROP INDEX outbox_state;
        ALTER TABLE outbox DROP COLUMN key; ALTER TABLE outbox DROP COLUMN state;
        ALTER TABLE outbox DROP COLUMN parked_reason;
        INSERT INTO outbox (kind, payload, created_at, attempts, next_attempt_at, sent_at, last_error)
            VALUES ('sale', '{"order_id": "a"}', '2026-01-01 00:00:00', 0, '2026-01-01 00:00:00', '2026-01-01 00:01:00', ''),
                   ('sale', '{"order_id": "b"}', '2026-01-01 00:00:00', 3, '2026-01-01 00:00:00', NULL, 'down');
        PRAGMA user_version = 3;
        """
    )
    con.close()
    store = SaleStore(open_store(path), "k")
    assert store.db.execute_sql("PRAGMA user_version").fetchone()[0] == LATEST >= 4
    rows = store.db.execute_sql("SELECT payload, state, key FROM outbox ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [('{"order_id": "a"}', "sent"), ('{"order_id": "b"}', "pending")]
    assert len({uuid.UUID(r[2]) for r in rows}) == 2
    assert [i.payload for i in store.due(10)] == [{"order_id": "b"}]
    with pytest.raises(Exception, match="UNIQUE"):
        store.db.execute_sql("UPDATE outbox SET key = ? WHERE id = 2", (rows[0][2],))


# --- the catalog ------------------------------------------------------------------------------------


def _item(sku: str, price: int = 100, barcode: str | None = None, active: bool = True) -> CatalogItem:
    return CatalogItem(sku, f"品{sku}", f"Item {sku}", price, barcode, "c", active)


def test_a_snapshot_replaces_the_catalog_and_settings(store: SaleStore) -> None:
    store.apply_catalog(
        CatalogUpdate(
            "snapshot", 0, 5, (_item("a"), _item("b", barcode="6901234567892")), {"lang": "en", "x": 1}
        )
    )
    assert store.catalog_version() == 5 and [p.sku for p in store.products()] == ["a", "b"]
    assert store.hq_settings() == {"lang": "en", "x": 1}
    store.apply_catalog(CatalogUpdate("snapshot", 0, 9, (_item("b", 150),), {"lang": "zh_CN"}))
    assert [(p.sku, p.price_fen) for p in store.products()] == [("b", 150)]  # a: absent, so inactive
    assert store.hq_settings() == {"lang": "zh_CN"} and store.catalog_version() == 9


def test_a_delta_changes_only_what_it_lists(store: SaleStore) -> None:
    store.apply_catalog(CatalogUpdate("snapshot", 0, 5, (_item("a"), _item("b")), {"lang": "en", "x": 1}))
    store.apply_catalog(
        CatalogUpdate("delta", 5, 7, (_item("a", 120), _item("b", active=False), _item("c")), {"x": None})
    )
    assert [(p.sku, p.price_fen) for p in store.products()] == [("a", 120), ("c", 100)]
    assert store.hq_settings() == {"lang": "en"} and store.catalog_version() == 7


def test_a_delta_that_does_not_fit_changes_nothing(store: SaleStore) -> None:
    store.apply_catalog(CatalogUpdate("snapshot", 0, 5, (_item("a"),), {}))
    with pytest.raises(SaleError, match="does not fit"):
        store.apply_catalog(CatalogUpdate("delta", 3, 8, (_item("a", 999),), {"x": 1}))
    assert [(p.sku, p.price_fen) for p in store.products()] == [("a", 100)]
    assert store.catalog_version() == 5 and store.hq_settings() == {}


def test_a_catalog_that_fails_half_way_leaves_the_old_one_whole(store: SaleStore) -> None:
    """GIVEN a catalog of two products, WHEN a snapshot fails on its second product (the price check
    of the table), THEN the first product and the version are as before: never half of each."""
    store.apply_catalog(CatalogUpdate("snapshot", 0, 5, (_item("a"), _item("b")), {"k": 1}))
    with pytest.raises(Exception, match="CHECK"):
        store.apply_catalog(CatalogUpdate("snapshot", 0, 6, (_item("a", 300), _item("b", -1)), {}))
    assert [(p.sku, p.price_fen) for p in store.products()] == [("a", 100), ("b", 100)]
    assert store.catalog_version() == 5 and store.hq_settings() == {"k": 1}


def test_barcodes_may_move_between_products_in_one_answer(store: SaleStore) -> None:
    store.apply_catalog(
        CatalogUpdate(
            "snapshot", 0, 1, (_item("a", barcode="6901234567892"), _item("b", barcode="4006381333931")), {}
        )
    )
    store.apply_catalog(
        CatalogUpdate(
            "delta", 1, 2, (_item("a", barcode="4006381333931"), _item("b", barcode="6901234567892")), {}
        )
    )
    a = store.product_by_barcode("4006381333931")
    b = store.product_by_barcode("6901234567892")
    assert a is not None and b is not None and (a.sku, b.sku) == ("a", "b")


def test_search_finds_by_name_sku_or_barcode_among_active_products(store: SaleStore) -> None:
    store.apply_catalog(
        CatalogUpdate(
            "snapshot",
            0,
            1,
            (
                CatalogItem("D001", "矿泉水", "Mineral water", 200, "6901234567892", "d", True),
                CatalogItem("D002", "可乐", "Cola", 350, None, "d", True),
                CatalogItem("D003", "旧水", "Old water", 100, None, "d", False),
                CatalogItem("X_1", "百分%", "Percent", 100, None, "d", True),
            ),
            {},
        )
    )
    assert [p.sku for p in store.search_products("WATER")] == ["D001"]
    assert [p.sku for p in store.search_products("可乐")] == ["D002"]
    assert [p.sku for p in store.search_products("4567892")] == ["D001"]
    assert [p.sku for p in store.search_products("d00")] == ["D001", "D002"]
    assert [p.sku for p in store.search_products("%")] == ["X_1"]  # a wildcard is a character here
    assert [p.sku for p in store.search_products("_")] == ["X_1"]
    assert store.search_products("d00", limit=1)[0].sku == "D001"
    assert store.search_products("  ") == []


def test_the_version_row_is_a_setting(store: SaleStore) -> None:
    store.apply_catalog(CatalogUpdate("snapshot", 0, 42, (), {}))
    assert Setting.get(Setting.key == "catalog_version").value == "42"
