"""The store on real SQLite files: pragmas, integrity checks, migrations and the money rules."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.payment import PayState
from kiosk.core.records import PaymentRecord
from kiosk.ports import CatalogItem
from kiosk.store.db import StoreError, open_store, store_health
from kiosk.store.migrations import LATEST
from kiosk.store.models import Order, OutboxEntry, Payment
from kiosk.store.sales import CodeAlreadyUsed, SaleError, SaleStore

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
WX = "134567890123456789"


def _pair(p: PaymentRecord) -> tuple[str, int]:
    return p.out_trade_no, p.amount_fen


@pytest.fixture
def store(tmp_path: Path) -> SaleStore:
    return SaleStore(open_store(tmp_path / "data" / "kiosk.sqlite3"), "kiosk-test")


def test_open_sets_and_checks_pragmas(store: SaleStore) -> None:
    health = store_health(store.db)
    assert health == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "quick_check": "ok",
        "schema_version": LATEST,
    }


def test_garbage_file_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="restore the last backup"):
        open_store(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {LATEST + 5}")
    con.close()
    with pytest.raises(StoreError, match="newer than this software knows"):
        open_store(path)


def test_reopen_keeps_data_and_does_not_remigrate(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    s = SaleStore(open_store(path), "k")
    oid = s.open_order(Cart().add(WATER))
    s.db.close()
    s2 = SaleStore(open_store(path), "k")
    assert s2.order(oid).total_fen == 200


def test_paid_sale_commits_payment_order_and_outbox_together(store: SaleStore) -> None:
    oid = store.open_order(Cart().add(WATER, 3))
    otn, amount = _pair(store.begin_payment(oid, "wechat", "wechat", WX))
    assert amount == 600
    assert Payment.get(Payment.out_trade_no == otn).status == "submitted"
    store.record_paid(otn, "TX1")
    assert store.order(oid).status == "paid"
    item, payment_event = store.due(10)  # the sale, and its payment's end
    assert (item.kind, payment_event.kind, payment_event.payload["status"]) == ("sale", "payment", "paid")
    assert item.payload["order_id"] == oid and item.payload["total_fen"] == 600
    assert item.payload["lines"] == [
        {"sku": "w", "name": "矿泉水", "qty": 3, "unit_price_fen": 200, "line_total_fen": 600}
    ]
    # the code itself is nowhere in the store
    dump = "\n".join(store.db.connection().iterdump())
    assert WX not in dump and "1345**********6789" in dump
    store.record_paid(otn, "TX1")  # idempotent
    assert OutboxEntry.select().count() == 2


def test_a_code_is_never_submitted_twice(store: SaleStore) -> None:
    oid = store.open_order(Cart().add(WATER))
    otn, _ = _pair(store.begin_payment(oid, "wechat", "wechat", WX))
    store.update_payment(otn, PayState.FAILED, "INSUFFICIENT_FUNDS")
    with pytest.raises(CodeAlreadyUsed):
        store.begin_payment(oid, "wechat", "wechat", WX)
    otn2, _ = _pair(store.begin_payment(oid, "wechat", "wechat", "104567890123456789"))
    assert otn2 != otn


def test_one_payment_in_flight_per_order(store: SaleStore) -> None:
    oid = store.open_order(Cart().add(WATER))
    store.begin_payment(oid, "wechat", "wechat", WX)
    with pytest.raises(SaleError, match="already has a payment in progress"):
        store.begin_payment(oid, "alipay", "wechat", "281234567890123456")
    assert [p.order_id for p in store.unfinished_payments()] == [oid]


def test_paid_or_cancelled_order_takes_no_payment(store: SaleStore) -> None:
    oid = store.open_order(Cart().add(WATER))
    store.cancel_order(oid)
    with pytest.raises(SaleError, match="cancelled, not open"):
        store.begin_payment(oid, "wechat", "wechat", WX)
    assert Order.get_by_id(oid).status == "cancelled"


def test_outbox_failed_stays_in_place_and_sent_leaves(store: SaleStore) -> None:
    """The backoff is the link's (kiosk.sync.pusher): a failed event keeps its place, oldest first."""
    for code in (WX, "104567890123456789"):
        oid = store.open_order(Cart().add(WATER))
        otn, _ = _pair(store.begin_payment(oid, "wechat", "wechat", code))
        store.record_paid(otn, "T")
    items = store.due(10)
    assert len(items) == 4 and store.pending_count() == 4
    store.mark_failed([items[0].id], "HQ down")
    again = store.due(10)
    assert [i.id for i in again] == [i.id for i in items] and again[0].attempts == 1
    store.mark_sent([items[1].id, items[2].id, items[3].id])
    assert store.pending_count() == 1 and [i.id for i in store.due(10)] == [items[0].id]


def test_catalog_replace_and_barcode_lookup(store: SaleStore) -> None:
    store.replace_catalog(
        [
            CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks"),
            CatalogItem("u", "薯片", "Chips", 650, "036000291452", "snacks"),
        ]
    )
    assert [p.sku for p in store.products()] == ["w", "u"]
    assert store.product_by_barcode("0036000291452") is not None  # UPC-A read as EAN-13
    store.replace_catalog([CatalogItem("w", "矿泉水", "Water", 250, "6901234567892", "drinks")])
    assert [(p.sku, p.price_fen) for p in store.products()] == [("w", 250)]
    assert store.product_by_barcode("036000291452") is None


def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    """Checkout, receipts and sync write from different threads: none may see "database is locked"."""
    import threading

    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k")
    errors: list[BaseException] = []

    def sell(worker: int) -> None:
        try:
            for n in range(40):
                oid = store.open_order(Cart().add(WATER))
                otn, _ = _pair(store.begin_payment(oid, "wechat", "wechat", f"13{worker:02d}{n:014d}"))
                store.record_paid(otn, f"T{worker}-{n}")
                store.mark_receipt_printed(oid)
        except BaseException as exc:
            errors.append(exc)

    def sync() -> None:
        try:
            for _ in range(200):
                items = store.due(50)
                store.mark_sent([i.id for i in items])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sell, args=(w,)) for w in range(3)] + [threading.Thread(target=sync)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert store.counts().paid == 120
