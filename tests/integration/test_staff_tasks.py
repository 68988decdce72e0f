"""Staff's kept tasks (kiosk.store.tasks, migration 7) on a real store file, closed and opened again
as a restart does: a payment settled at start-up stays a task until dismissed, a dismissed one stays
dismissed, and a store of the release before gets the table by migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kiosk.core.cart import Cart
from kiosk.core.records import OrderStatus
from kiosk.maintenance.actions import SEEN, Actor, StaffActionError, StaffActions
from kiosk.maintenance.roles import Role
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.migrations import LATEST, schema_version
from kiosk.store.models import AuditLog, StaffTask
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from kiosk.store.tasks import TaskStore
from tests.fakes.payments import FakePaymentGateway

WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
CASHIER = Actor("3", "Wang", Role.CASHIER)


def _open(path: Path) -> tuple[SaleStore, StaffActions]:
    store = SaleStore(open_store(path), "k1")
    staff = StaffActions(
        store=store,
        gateway=FakePaymentGateway(),
        printer=None,  # type: ignore[arg-type]  # no action here prints
        checkout=None,  # type: ignore[arg-type]
        reprints=ReprintStore(store.db),
        kiosk_id="k1",
        task_book=TaskStore(store.db),
    )
    return store, staff


def _payment(store: SaleStore, n: int) -> str:
    order_id = store.open_order(Cart().add(store.products()[0]))
    return store.begin_payment(order_id, "wechat", "wechat", f"13456789012345{n:04d}").out_trade_no


def test_recovered_payments_stay_tasks_until_dismissed_and_stay_dismissed_across_restarts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store, staff = _open(path)
    store.replace_catalog([WATER])
    paid, cancelled, unknown = (_payment(store, n) for n in range(3))
    assert (
        TaskStore(store.db).record_recovery({paid: "paid", cancelled: "cancelled", unknown: "unknown"}) == 2
    )
    store.db.close()

    store, staff = _open(path)  # restart before anyone looked
    listed = {t.key: t for t in staff.tasks(CASHIER) if t.kind == "recovered_payment"}
    assert set(listed) == {f"recovered:{paid}", f"recovered:{cancelled}"}
    assert listed[f"recovered:{paid}"].action is SEEN
    assert listed[f"recovered:{paid}"].detail == f"wechat ¥2.00 {paid}: paid"
    staff.dismiss(CASHIER, f"recovered:{paid}")
    row = StaffTask.get(StaffTask.key == f"recovered:{paid}")
    assert row.dismissed_by == "staff:3" and row.dismissed_at is not None
    audit = AuditLog.select().where(AuditLog.action == "task_dismissed").get()
    assert (audit.actor, f"recovered:{paid}" in audit.detail) == ("staff:3", True)
    store.db.close()

    store, staff = _open(path)
    # the same outcome told again (a second recovery, a replay) does not bring it back
    assert TaskStore(store.db).record_recovery({paid: "paid"}) == 0
    assert [t.key for t in staff.tasks(CASHIER) if t.kind == "recovered_payment"] == [
        f"recovered:{cancelled}"
    ]
    with pytest.raises(StaffActionError, match="dismissed already"):
        staff.dismiss(CASHIER, f"recovered:{paid}")
    assert AuditLog.select().where(AuditLog.action == "task_dismissed").count() == 1
    assert store.order(store.payment(paid).order_id).status is OrderStatus.OPEN  # tasks touch no sale
    store.db.close()


def test_a_store_of_the_release_before_gets_the_task_table(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.sqlite3"
    store = SaleStore(open_store(path), "k1")
    store.db.close()
    con = sqlite3.connect(path)
    con.execute("DROP TABLE staff_task")
    con.execute("PRAGMA user_version = 6")
    con.commit()
    con.close()
    store = SaleStore(open_store(path), "k1")
    assert schema_version(store.db) == LATEST
    assert TaskStore(store.db).add("recovered:x", "recovered_payment", "x", "x: paid")
    assert [t.key for t in TaskStore(store.db).open_tasks()] == ["recovered:x"]
    store.db.close()
