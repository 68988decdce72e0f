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

from drivers.camera.sources import HeldImageSource
from drivers.camera.types import Decoded
from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from hq.staff import public_key_b64, sign_badge
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.cart import Cart
from kiosk.core.codes import CodeKind
from kiosk.core.payment import RefundRules
from kiosk.core.receipt import ReceiptTemplate
from kiosk.maintenance.actions import StaffActions
from kiosk.maintenance.roles import Action, Role, actions_for
from kiosk.maintenance.session import MaintenanceConfig, MaintenanceLock
from kiosk.ports import CatalogItem, CatalogUpdate, StaffItem
from kiosk.settings import load_settings
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


TEA = CatalogItem("t", "绿茶", "Green tea", 350, "6920000000012", "drinks")


def test_a_manager_finds_a_product_overrides_its_price_and_marks_it_out_of_stock(kiosk: Rig) -> None:
    """GIVEN a kiosk selling water and tea and a manager signed in
    WHEN the manager finds the products by category and by typed text, sells water at ¥1.50 and
    marks tea out of stock
    THEN the customer's catalog charges ¥1.50 for water, a customer scanning tea hears it is sold out
    (not "unknown"), and clearing both puts HQ's price and the tea back."""
    controller, store, _wall = kiosk
    store.apply_catalog(CatalogUpdate("delta", 1, 2, (TEA,), {}))
    assert controller.console is not None
    controller.console.catalog_changed = controller.refresh_catalog
    assert controller.maintenance_unlock_pin("135790").ok
    start = controller.maintenance_run(Action.OVERRIDE_PRICE)
    assert start.ok and [i.key for i in start.items] == ["category:drinks"]
    drinks = controller.maintenance_run(Action.OVERRIDE_PRICE, category="drinks")
    assert [i.key for i in drinks.items] == ["t", "w"] and drinks.message == "2 product(s)"
    assert [i.key for i in controller.maintenance_run(Action.OUT_OF_STOCK, query="TEA").items] == ["t"]
    assert [i.key for i in controller.maintenance_run(Action.OVERRIDE_PRICE, query="6901").items] == ["w"]
    shown = controller.maintenance_run(Action.OVERRIDE_PRICE, sku="w")
    assert "HQ price ¥2.00" in shown.text and "in stock" in shown.text

    priced = controller.maintenance_run(Action.OVERRIDE_PRICE, sku="w", price_fen=150)
    assert priced.ok and priced.message == "Water now sells at ¥1.50", priced.message
    assert priced.items[0].label == "Water  ¥1.50 (was ¥2.00)"
    out = controller.maintenance_run(Action.OUT_OF_STOCK, sku="t", out=True)
    assert out.ok and out.message == "Green tea is marked out of stock"
    assert [(p.sku, p.price_fen, p.sold_out) for p in controller.catalog()] == [
        ("t", 350, True),
        ("w", 150, False),
    ]
    controller.dispatch(co.StartTapped())
    controller.handle_codes([Decoded("EAN13", TEA.barcode or "")])
    assert controller.state.notice is co.Notice.SOLD_OUT and controller.state.cart.is_empty
    controller.handle_codes([Decoded("EAN13", WATER.barcode or "")])
    assert controller.state.cart.total_fen == 150

    cleared = controller.maintenance_run(Action.OVERRIDE_PRICE, sku="w", price_fen=None)
    assert cleared.ok and cleared.message == "Water is back at HQ's price ¥2.00"
    back = controller.maintenance_run(Action.OUT_OF_STOCK, sku="t", out=False)
    assert back.ok and back.items[0].label == "Green tea  ¥3.50"
    assert [(p.sku, p.price_fen, p.sold_out) for p in controller.catalog()] == [
        ("t", 350, False),
        ("w", 200, False),
    ]
    missing = controller.maintenance_run(Action.OVERRIDE_PRICE, sku="nope", price_fen=100)
    assert not missing.ok and "no product nope" in missing.message
    audited = [
        row.action for row in AuditLog.select().where(AuditLog.action.in_(["override_price", "out_of_stock"]))
    ]
    assert audited == ["override_price", "out_of_stock", "override_price", "out_of_stock"]


def test_a_cashier_may_not_look_up_or_change_prices(kiosk: Rig) -> None:
    controller, _store, _wall = kiosk
    assert controller.maintenance_unlock_pin("246813").ok
    for args in ({}, {"sku": "w", "price_fen": 1}):
        refused = controller.maintenance_run(Action.OVERRIDE_PRICE, **args)
        assert not refused.ok and "role" in refused.message


# --- the day's work across a restart: a real kiosk (build_kiosk) built twice on one data folder -----


def _built(tmp_path: Path, gateway_url: str, creds: object) -> Kiosk:
    from paysim.credentials import SimCredentials

    assert isinstance(creds, SimCredentials)
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "k1"\ndata_dir = "{tmp_path / "data"}"\nlanguage = "en"\n\n'
        f'[hq]\nurl = "http://127.0.0.1:9"\n\n'
        f'[printer]\ntransport = "file"\ndevice = "receipts"\n\n[gpio]\npin_factory = "mock"\n\n'
        + creds.kiosk_toml(gateway_url)
    )
    config.chmod(0o600)
    # a FakeClock: the channel's wait before a reverse passes in no real time
    kiosk = build_kiosk(
        load_settings(config, environ={}),
        overrides=Overrides(source=HeldImageSource(64, 48), clock=FakeClock()),
        background=False,
    )
    kiosk.store.apply_catalog(
        CatalogUpdate("snapshot", 0, 1, (WATER,), {}, staff=STAFF, badge_public_key=public_key_b64(BADGE_KEY))
    )
    return kiosk


def _shut(kiosk: Kiosk) -> None:
    kiosk.indicators.close()
    kiosk.store.db.close()


def test_a_payment_settled_at_start_up_stays_a_task_across_restarts_until_dismissed(tmp_path: Path) -> None:
    from paysim.credentials import make_credentials
    from paysim.server import GatewaySimulator

    creds = make_credentials(tmp_path / "keys")
    with GatewaySimulator.with_credentials(creds) as sim:
        first = _built(tmp_path, sim.url, creds)
        # a power cut after the payment was written and before the gateway answered
        order_id = first.store.open_order(Cart().add(first.store.products()[0]))
        out_trade_no = first.store.begin_payment(
            order_id, "wechat", "wechat", "134567890123456789"
        ).out_trade_no
        _shut(first)

        second = _built(tmp_path, sim.url, creds)
        second.controller.start_recovery()
        assert second.controller.state.phase is not co.Phase.RECOVERING
        settled = second.store.payment(out_trade_no)
        assert settled is not None and settled.status.value != "submitted"
        _shut(second)  # restarted again before anyone opened the task list

        third = _built(tmp_path, sim.url, creds)
        controller = third.controller
        assert controller.maintenance_unlock_pin("246813").ok  # a cashier
        [task] = controller.maintenance_tasks()
        assert task.key == f"recovered:{out_trade_no}" and task.action is Action.TODAYS_SALES
        assert task.label.startswith("Settled at start-up: wechat ¥2.00") and out_trade_no in task.label
        dismissed = controller.maintenance_run(task.action, task_id=task.key)
        assert dismissed.ok and controller.maintenance_tasks() == []
        audit = AuditLog.select().where(AuditLog.action == "task_dismissed").get()
        assert audit.actor == "staff:3" and out_trade_no in audit.detail
        _shut(third)

        fourth = _built(tmp_path, sim.url, creds)
        fourth.controller.start_recovery()  # nothing left to settle; the dismissed task stays gone
        assert fourth.controller.maintenance_unlock_pin("246813").ok
        assert fourth.controller.maintenance_tasks() == []
        _shut(fourth)
