"""The maintenance unlock's store on real SQLite: staff accounts change with the catalog in one
transaction (a refused delta changes none of them), badge nonces and the attempt limiter outlast
a reopened store (a reboot), and the lock's audit rows become events for HQ."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from kiosk.core.records import SaleError
from kiosk.maintenance.attempts import LimiterConfig
from kiosk.maintenance.session import MaintenanceConfig, MaintenanceLock, Refusal
from kiosk.ports import CatalogUpdate, StaffItem
from kiosk.store.db import open_store
from kiosk.store.models import OutboxEntry
from kiosk.store.sales import SaleStore
from kiosk.store.staff import StaffStore

_FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
ANA = StaffItem(1, "ana", "manager", _FAST.hash("135790"), True)
BOB = StaffItem(2, "bob", "cashier", _FAST.hash("246813"), True)
KEY = "A" * 43 + "="


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


def open_(path: Path) -> tuple[SaleStore, StaffStore]:
    store = SaleStore(open_store(path), "kiosk-001")
    return store, StaffStore(store.db, store.audit)


def test_staff_change_with_the_catalog_and_a_refused_delta_changes_none(tmp_path: Path) -> None:
    store, staff = open_(tmp_path / "k.sqlite3")
    try:
        store.apply_catalog(CatalogUpdate("snapshot", 0, 5, (), {}, (ANA, BOB), KEY))
        assert [a.name for a in staff.active_staff()] == ["ana", "bob"]
        assert staff.badge_public_key() == KEY
        with pytest.raises(SaleError):  # a delta that does not start at the version held
            store.apply_catalog(
                CatalogUpdate("delta", 3, 6, (), {}, (StaffItem(1, "ana", "manager", "x", False),))
            )
        assert [a.name for a in staff.active_staff()] == ["ana", "bob"]
        store.apply_catalog(
            CatalogUpdate("delta", 5, 6, (), {}, (StaffItem(2, "bob", "cashier", "", False),))
        )
        assert [a.name for a in staff.active_staff()] == ["ana"]
        store.apply_catalog(CatalogUpdate("snapshot", 0, 7, (), {}, (BOB,), ""))
        assert [a.name for a in staff.active_staff()] == ["bob"]
        assert staff.badge_public_key() == KEY  # an answer without a key keeps the one held
    finally:
        store.db.close()


def test_badge_nonces_and_the_limiter_outlast_a_reboot(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite3"
    store, staff = open_(path)
    clock = Clock()
    config = MaintenanceConfig(limiter=LimiterConfig(5, 10, 1.0, 600.0))
    try:
        store.apply_catalog(CatalogUpdate("snapshot", 0, 1, (), {}, (ANA,), KEY))
        expires = datetime(2030, 1, 1)
        assert staff.use_badge_nonce("n" * 32, expires)
        lock = MaintenanceLock(config, staff, clock, lambda: False)
        for _ in range(10):
            clock.now += lock.wait_s()
            assert lock.unlock_pin("000001").refusal is Refusal.WRONG_PIN
        assert lock.lockouts() == 1
    finally:
        store.db.close()
    store, staff = open_(path)  # the kiosk restarted
    try:
        assert not staff.use_badge_nonce("n" * 32, expires)
        lock = MaintenanceLock(config, staff, clock, lambda: False)
        refused = lock.unlock_pin("135790")
        assert refused.refusal is Refusal.LOCKED_OUT and refused.wait_s == 600.0
        assert lock.lockouts() == 1
        kinds = [e.kind for e in OutboxEntry.select()]
        assert kinds.count("audit") == 11  # 10 failures and the lockout, each an event for HQ
        # a nonce is forgotten once its badge has expired (a replay then fails on the expiry)
        assert staff.use_badge_nonce("m" * 32, datetime(2000, 1, 1))
        assert staff.use_badge_nonce("o" * 32, datetime(2030, 1, 1) + timedelta(days=1))
        assert staff.use_badge_nonce("m" * 32, datetime(2000, 1, 1))
    finally:
        store.db.close()
