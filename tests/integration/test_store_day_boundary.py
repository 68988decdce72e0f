"""The store picks the Z-report's sales by their paid time (``SaleStore.sales_paid_between``), on a
real store whose clock the test sets: a sale opened before midnight and paid after it is the new
day's, and a refund counts when it was confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.cart import Cart
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


def _local(h: int, m: int, s: int, day: int = 14) -> datetime:
    return datetime(2026, 3, day, h, m, s, tzinfo=SHANGHAI)


def test_a_sale_opened_before_midnight_and_paid_after_it_is_the_new_days(tmp_path: Path) -> None:
    at = [_local(23, 59, 50)]
    store = SaleStore(
        open_store(tmp_path / "kiosk.sqlite3"), "k1", now=lambda: at[0].astimezone(UTC).replace(tzinfo=None)
    )
    store.replace_catalog([WATER])
    order_id = store.open_order(Cart().add(store.products()[0]))
    payment = store.begin_payment(order_id, "wechat", "wechat", "134567890123456789")
    at[0] = _local(0, 0, 5, day=15)
    store.record_paid(payment.out_trade_no, "T1")
    day1 = _local(0, 0, 0), _local(0, 0, 0) + timedelta(days=1)
    day2 = day1[1], day1[1] + timedelta(days=1)
    assert [p.out_trade_no for p in store.payments_between(*day1)] == [payment.out_trade_no]  # opened
    assert store.sales_paid_between(*day1) == []
    assert [p.out_trade_no for p in store.sales_paid_between(*day2)] == [payment.out_trade_no]
    # refunded the next evening: still a sale of the day it was paid, a refund of the day refunded
    at[0] = _local(20, 0, 0, day=15)
    store.begin_refund(payment.out_trade_no, "staff:7")
    at[0] = _local(0, 0, 1, day=16)
    store.record_refund(payment.out_trade_no, "R1", "staff:7")
    assert [p.status.value for p in store.sales_paid_between(*day2)] == ["refunded"]
    assert store.refunds_between(*day2) == []
    day3 = day2[1], day2[1] + timedelta(days=1)
    assert [r.out_trade_no for r in store.refunds_between(*day3)] == [payment.out_trade_no]
    store.db.close()
