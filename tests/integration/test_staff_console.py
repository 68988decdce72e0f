"""Maintenance mode as the screens reach it on a real kiosk: the real controller answers the screens'
protocol (kiosk.ui.controller_api.MaintenanceControl) through kiosk.staff_console, on a real store
with staff accounts as HQ sends them, the real unlock and the real staff actions; the gateway is
faked at the network edge and receipts go to files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.camera.types import Decoded
from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from hq.staff import public_key_b64, sign_badge
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.codes import CodeKind
from kiosk.core.payment import RefundRules
from kiosk.core.receipt import ReceiptTemplate
from kiosk.maintenance.actions import StaffActions
from kiosk.maintenance.roles import Action, Role, actions_for
from kiosk.maintenance.session import MaintenanceConfig, MaintenanceLock
from kiosk.ports import CatalogItem, CatalogUpdate, StaffItem
from kiosk.staff_console import StaffConsole
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from kiosk.store.staff import StaffStore
from kiosk.ui.controller_api import MaintenanceControl
from tests.fakes.clock import FakeClock, SetTime
from tests.fakes.payments import FakePaymentGateway

BADGE_KEY = Ed25519PrivateKey.generate()
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
#: cheap argon2 parameters: the hashes are HQ's format, the cost is only the test's
HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
STAFF = (
    StaffItem(3, "Wang", "cashier", HASHER.hash("246813"), True),
    StaffItem(7, "Li", "manager", HASHER.hash("135790"), True),
)


Rig = tuple[CheckoutController, SaleStore, SetTime]


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[Rig]:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.apply_catalog(
        CatalogUpdate("snapshot", 0, 1, (WATER,), {}, staff=STAFF, badge_public_key=public_key_b64(BADGE_KEY))
    )
    gateway = FakePaymentGateway()
    printer = FileReceiptPrinter(tmp_path / "receipts")
    clock = FakeClock()
    controller = CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=gateway,
        printer=printer,
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=False,
    )
    wall = SetTime(1_800_000_000.0)  # wall-clock seconds: badges expire by it
    lock = MaintenanceLock(
        MaintenanceConfig(idle_lock_s=120),
        StaffStore(store.db, store.audit),
        wall,
        controller.payment_in_flight,
    )
    staff = StaffActions(
        store=store,
        gateway=gateway,
        printer=printer,
        checkout=controller,
        reprints=ReprintStore(store.db),
        kiosk_id="k1",
        refund_rules=RefundRules(retry_interval_s=0.05, give_up_after_s=1.0, max_tries=3),
        clock=clock,
    )
    controller.maintenance = lock
    controller.console = StaffConsole(lock, staff, lambda: "en")
    yield controller, store, wall
    store.db.close()


def _sell(controller: CheckoutController) -> str:
    controller.dispatch(co.StartTapped())
    controller.dispatch(co.ProductTapped(controller.catalog()[0]))
    controller.dispatch(co.PayTapped())
    order_id = controller.state.order_id
    assert order_id
    controller.dispatch(co.PaymentCodeScanned(CodeKind.WECHAT, "134567890123456789"))
    assert controller.state.phase is co.Phase.DONE
    controller.dispatch(co.TimedOut())
    return order_id


def test_the_real_controller_offers_maintenance_mode_to_the_screens(kiosk: Rig) -> None:
    controller, _store, _wall = kiosk
    assert isinstance(controller, MaintenanceControl)


def test_a_wrong_pin_opens_nothing_and_the_right_one_opens_the_roles_menu(kiosk: Rig) -> None:
    controller, _store, _wall = kiosk
    wrong = controller.maintenance_unlock_pin("999999")
    assert (
        not wrong.ok and controller.maintenance_session() is None and controller.maintenance_actions() == []
    )
    answer = controller.maintenance_unlock_pin("246813")
    assert answer.ok and answer.role is Role.CASHIER and answer.name == "Wang"
    assert controller.maintenance_actions() == actions_for(Role.CASHIER)
    # a cashier's refund is refused on screen, never raised
    refused = controller.maintenance_run(Action.REFUND, order_id="x")
    assert not refused.ok and "role" in refused.message
    controller.maintenance_lock()
    assert controller.maintenance_session() is None
    audited = [row.action for row in AuditLog.select().order_by(AuditLog.id)]
    assert "maintenance.unlock_failed" in audited and "maintenance.unlock" in audited
    assert all("246813" not in row.detail and "999999" not in row.detail for row in AuditLog.select())


def test_a_manager_refunds_part_of_todays_sale_from_the_menu(kiosk: Rig) -> None:
    controller, _store, _wall = kiosk
    order_id = _sell(controller)
    assert controller.maintenance_unlock_pin("135790").role is Role.MANAGER
    sales = controller.maintenance_run(Action.TODAYS_SALES)
    assert sales.ok and [item.key for item in sales.items] == [order_id]
    refund = controller.maintenance_run(Action.REFUND, order_id=order_id, amount_fen=50)
    assert refund.ok, refund.message
    too_much = controller.maintenance_run(Action.REFUND, order_id=order_id, amount_fen=500)
    assert not too_much.ok and too_much.message.startswith("not done")
    shift = controller.maintenance_run(Action.CLOSE_SHIFT)
    assert shift.ok and shift.text  # the Z-report as printed


def test_the_session_locks_itself_after_the_idle_time(kiosk: Rig) -> None:
    controller, _store, wall = kiosk
    assert controller.maintenance_unlock_pin("135790").ok
    wall.now += 119
    controller.maintenance_touch()
    wall.now += 119
    assert controller.maintenance_session() is not None  # the touch restarted the idle time
    wall.now += 1
    assert controller.maintenance_session() is None
    locked = controller.maintenance_run(Action.TODAYS_SALES)
    assert not locked.ok and "locked" in locked.message


def test_a_staff_badge_shown_to_the_camera_opens_maintenance_once(kiosk: Rig) -> None:
    controller, _store, wall = kiosk
    now = int(wall.now)
    badge = sign_badge(BADGE_KEY, 7, "manager", now, now + 600, "b" * 32)
    controller.handle_codes([Decoded("QRCode", badge)])
    session = controller.maintenance_session()
    assert session is not None and session.name == "Li" and session.role is Role.MANAGER
    assert controller.state.phase is co.Phase.ATTRACT  # the badge was not taken for a product or a payment
    controller.maintenance_lock()
    controller.handle_codes([Decoded("QRCode", badge)])  # shown again: a replay
    assert controller.maintenance_session() is None
