"""The diagnostics panel's calls on a real kiosk (``build_kiosk``), through the controller's
``maintenance_run(Action.DIAGNOSTICS, check=...)`` as the screens make them: the kiosk's own file
printer, gpiozero MockFactory pins, its camera scanner reading pictures held up to a simulated
camera (real zxing decoding), the gateway simulator for the 1-fen test charge, real SQLite.

The simulator's ledger is the judge of the charge; the checkout's phase and cart are the judge of
"codes seen in the camera view are not payments".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from argon2 import PasswordHasher
from gpiozero.pins.mock import MockFactory, MockPWMPin
from gpiozero.threads import GPIOThread

from drivers.camera.sources import HeldImageSource
from drivers.gpio.indicators import GpiozeroIndicators
from drivers.gpio.inputs import GpiozeroInputs
from drivers.gpio.types import Light
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.core import checkout as co
from kiosk.maintenance.roles import Action
from kiosk.maintenance.session import MaintenanceConfig, MaintenanceLock
from kiosk.ports import CatalogUpdate, StaffItem
from kiosk.settings import Settings, load_settings
from kiosk.staff_diagnostics import DiagnosticsDesk
from kiosk.store.models import AuditLog
from kiosk.store.staff import StaffStore
from kiosk.ui.controller_api import ActionAnswer
from kiosk_common.codes import mask
from paysim.credentials import SimCredentials, make_credentials
from paysim.phone import render_code
from paysim.server import GatewaySimulator
from tests.fakes.clock import SetTime

KIOSK = "kiosk-001"
WECHAT_CODE = "134567890123456789"
PRODUCT_EAN = "6901234567892"
LED, BUZZER, PAPER = 17, 27, 6
IT_PIN = "975310"
HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
#: bounds a failing test only: every loop below ends on what it waits for
BOUND_S = 20.0


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("diagpanelkeys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds) as running:
        yield running


def settings_for(tmp_path: Path, creds: SimCredentials, gateway_url: str) -> Settings:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{tmp_path / "data"}"\nlanguage = "en"\n\n'
        f'[hq]\nurl = "http://127.0.0.1:9"\n\n'
        f'[printer]\ntransport = "file"\ndevice = "receipts"\n\n'
        f'[gpio]\npin_factory = "mock"\nstatus_led = {LED}\nbuzzer = {BUZZER}\n'
        f"paper_low_sensor = {PAPER}\n\n" + creds.kiosk_toml(gateway_url)
    )
    config.chmod(0o600)
    return load_settings(config, environ={})


@dataclass
class Rig:
    kiosk: Kiosk
    camera: HeldImageSource
    factory: MockFactory

    @property
    def desk(self) -> DiagnosticsDesk:
        desk = self.kiosk.controller.console.diagnostics if self.kiosk.controller.console else None
        assert isinstance(desk, DiagnosticsDesk)
        return desk

    def run(self, check: str) -> ActionAnswer:
        return self.kiosk.controller.maintenance_run(Action.DIAGNOSTICS, check=check)


@pytest.fixture
def rig(tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator) -> Iterator[Rig]:
    s = settings_for(tmp_path, creds, sim.url)
    factory = MockFactory(pin_class=MockPWMPin)
    camera = HeldImageSource(640, 480, hold_reads=1_000_000, hold_s=3600.0)
    kiosk = build_kiosk(
        s,
        overrides=Overrides(
            source=camera,
            indicators=GpiozeroIndicators(LED, BUZZER, pin_factory=factory),
            inputs=GpiozeroInputs(None, PAPER, pin_factory=factory),
        ),
        background=False,
    )
    kiosk.store.apply_catalog(
        CatalogUpdate("delta", 0, 1, (), {}, staff=(StaffItem(1, "Zhang", "it", HASHER.hash(IT_PIN), True),))
    )
    assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
    kiosk.scanner.start()
    try:
        yield Rig(kiosk, camera, factory)
    finally:
        kiosk.scanner.stop()
        kiosk.indicators.close()
        if kiosk.inputs is not None:
            kiosk.inputs.close()
        kiosk.store.db.close()
        factory.reset()
        factory.close()


def ean13(text: str) -> np.ndarray:
    """A product's EAN-13 on a grey camera frame."""
    frame = np.full((480, 640, 3), 200, dtype=np.uint8)
    bar = np.array(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.EAN13), scale=3)
    )
    bar = np.repeat(bar[:1, :], 120, axis=0) if bar.shape[0] < 120 else bar
    h, w = bar.shape[:2]
    top, left = (480 - h) // 2, (640 - w) // 2
    frame[top : top + h, left : left + w] = bar[:, :, None]
    return frame


def wait_for(rig: Rig, done: object) -> None:
    """Pump the controller (the scanner's codes arrive through it) until ``done()`` holds."""
    deadline = time.monotonic() + BOUND_S
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        rig.kiosk.controller.pump(timeout=0.05)
    assert done(), "waited too long"  # type: ignore[operator]


def test_codes_in_the_camera_view_are_staff_tests_not_sales_or_payments(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    controller = rig.kiosk.controller
    paused_before = rig.kiosk.scanner.paused
    rig.kiosk.scanner.pause()  # the scanner paused: the view must turn the camera on
    opened = rig.run("camera_on")
    assert opened.ok and opened.items[0].key == "camera" and rig.desk.view_open
    assert not rig.kiosk.scanner.paused
    caplog.set_level(logging.DEBUG)
    rig.camera.hold_up(render_code(WECHAT_CODE))
    wait_for(rig, lambda: rig.run("camera_stats").items[0].label.count("seen") == 1 and _seen(rig) >= 1)
    rig.camera.hold_up(ean13(PRODUCT_EAN))
    wait_for(rig, lambda: _seen(rig) >= 2)
    stats = rig.run("camera_stats")
    item = stats.items[0]
    assert item.verdict == "ok" and "frames read" in item.label
    assert mask(WECHAT_CODE) in item.label and WECHAT_CODE not in item.label
    assert controller.state.phase is co.Phase.ATTRACT  # no sale started, no payment taken
    assert controller.state.cart.item_count == 0
    assert WECHAT_CODE not in caplog.text  # masked in the log too
    # closed: the scanner is paused again as it was, and the next product code is the checkout's
    closed = rig.run("camera_off")
    assert closed.ok and not rig.desk.view_open and rig.kiosk.scanner.paused
    rig.kiosk.scanner.resume()
    wait_for(rig, lambda: controller.state.phase is co.Phase.CART)
    assert paused_before is False


def _seen(rig: Rig) -> int:
    label = rig.run("camera_stats").items[0].label
    return int(label.split(" code(s) seen in this view")[0].rsplit(" ", 1)[-1])


def test_the_test_charge_takes_the_code_shown_charges_1_fen_and_refunds_it(
    rig: Rig, sim: GatewaySimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = rig.run("charge_start")
    assert started.ok and "show a payment code" in started.message and rig.desk.view_open
    waiting = rig.run("charge_poll")
    assert waiting.ok and not waiting.items  # nothing shown yet
    assert sim.bank.ledger() == []
    rig.camera.hold_up(render_code(WECHAT_CODE))
    outcomes: list[ActionAnswer] = []

    def outcome() -> bool:
        answer = rig.run("charge_poll")
        if answer.items:
            outcomes.append(answer)
        return bool(outcomes)

    wait_for(rig, outcome)
    done = outcomes[0].items[0]
    assert done.key == "test charge" and done.verdict == "ok", done.label
    assert [(e.kind, e.amount_fen) for e in sim.bank.ledger()] == [("charge", 1), ("refund", 1)]
    audited = [(r.actor, r.detail) for r in AuditLog.select().where(AuditLog.action == "diagnostic_charge")]
    assert audited and all(actor == "staff:1" for actor, _ in audited)
    assert any("paid and refunded" in detail for _, detail in audited)
    assert not rig.desk.view_open  # the view closed with the charge
    # the code was used once: still in view, it starts no second charge and no customer payment
    again = rig.run("charge_poll")
    assert not again.ok and not again.items
    assert len(sim.bank.ledger()) == 2
    assert rig.kiosk.controller.state.phase is co.Phase.ATTRACT
    assert WECHAT_CODE not in caplog.text
    assert all(WECHAT_CODE not in d for _, d in audited)


def test_a_cancelled_test_charge_charges_nothing(rig: Rig, sim: GatewaySimulator) -> None:
    assert rig.run("charge_start").ok
    cancelled = rig.run("charge_cancel")
    assert cancelled.ok and not rig.desk.view_open
    rig.camera.hold_up(render_code(WECHAT_CODE))
    polled = rig.run("charge_poll")
    assert not polled.ok and not polled.items
    assert sim.bank.ledger() == []


def test_printer_test_page_led_buzzer_and_inputs(rig: Rig) -> None:
    receipts = rig.kiosk.settings.kiosk.data_dir / "receipts"
    page = rig.run("test_page")
    assert page.ok and page.items[0].verdict == "ok"
    assert any(p.read_text().strip() for p in receipts.glob("receipt-TEST-*.txt"))
    printer = rig.run("printer")
    assert printer.items[0].key == "printer" and printer.items[0].verdict == "ok"
    indicators = rig.kiosk.indicators
    assert isinstance(indicators, GpiozeroIndicators)
    indicators.show(Light.READY)
    led = rig.run("gpio_led")
    assert led.ok and indicators.light is Light.BUSY  # blinking for staff to see
    back = rig.run("gpio_led")
    assert back.ok and indicators.light is Light.READY  # the kiosk's own light again
    before = {t for t in threading.enumerate() if isinstance(t, GPIOThread)}
    buzzer_pin = rig.factory.pin(BUZZER)
    buzzer_pin.clear_states()
    assert rig.run("gpio_buzzer").ok
    for thread in {t for t in threading.enumerate() if isinstance(t, GPIOThread)} - before:
        thread.join(BOUND_S)
    assert any(s.state for s in buzzer_pin.states)
    rig.factory.pin(PAPER).drive_low()  # the paper-low sensor closes
    gpio = rig.run("gpio")
    assert "paper_low=True" in gpio.items[0].label and "key_switch_on=-" in gpio.items[0].label
    sd = rig.run("sd_card")
    assert sd.items[0].key == "sd card" and sd.items[0].verdict in ("ok", "warn")
    everything = rig.run("all")
    names = [i.key for i in everything.items]
    assert names == [
        "printer", "camera", "gpio", "network", "hq", "gateway", "disk", "sd card", "versions"
    ]  # fmt: skip
    assert all(i.verdict in ("ok", "warn", "fail") for i in everything.items)
    unknown = rig.run("format_disk")
    assert not unknown.ok and "unknown diagnostics check" in unknown.message


def test_locking_closes_the_camera_view_and_puts_the_led_back(rig: Rig) -> None:
    indicators = rig.kiosk.indicators
    assert isinstance(indicators, GpiozeroIndicators)
    indicators.show(Light.READY)
    rig.kiosk.scanner.pause()
    assert rig.run("gpio_led").ok and rig.run("camera_on").ok
    assert not rig.kiosk.scanner.paused
    rig.kiosk.controller.maintenance_lock()
    assert not rig.desk.view_open and rig.kiosk.scanner.paused
    assert indicators.light is Light.READY
    # locked: codes go to the checkout again, and the panel's calls are refused
    rig.kiosk.scanner.resume()
    rig.camera.hold_up(ean13(PRODUCT_EAN))
    wait_for(rig, lambda: rig.kiosk.controller.state.phase is co.Phase.CART)
    assert not rig.run("camera_on").ok and not rig.desk.view_open


def test_polls_are_not_activity_and_a_view_left_open_closes_when_the_menu_locks_itself(rig: Rig) -> None:
    """The camera view's polls do not keep the session alive; when it locks itself, the next tick
    closes the view, the camera goes back to how it was, and codes are the checkout's again."""
    kiosk = rig.kiosk
    controller, console = kiosk.controller, kiosk.controller.console
    assert console is not None
    wall = SetTime(1_800_000_000.0)
    lock = MaintenanceLock(
        MaintenanceConfig(idle_lock_s=120), StaffStore(kiosk.store.db, kiosk.store.audit), wall, lambda: False
    )
    controller.maintenance = console.lock = lock  # the same lock, on a clock the test moves
    assert controller.maintenance_unlock_pin(IT_PIN).ok
    kiosk.scanner.pause()
    assert rig.run("camera_on").ok and rig.desk.view_open
    for _ in range(3):
        wall.now += 30
        assert rig.run("camera_stats").ok  # polls, for 90 s
    wall.now += 30
    assert controller.maintenance_session() is None  # locked itself: the polls were not activity
    assert not rig.run("camera_stats").ok
    controller.tick()
    assert not rig.desk.view_open and kiosk.scanner.paused
    kiosk.scanner.resume()
    rig.camera.hold_up(ean13(PRODUCT_EAN))
    wait_for(rig, lambda: controller.state.phase is co.Phase.CART)


def test_a_button_press_is_activity(rig: Rig) -> None:
    kiosk = rig.kiosk
    controller, console = kiosk.controller, kiosk.controller.console
    assert console is not None
    wall = SetTime(1_800_000_000.0)
    lock = MaintenanceLock(
        MaintenanceConfig(idle_lock_s=120), StaffStore(kiosk.store.db, kiosk.store.audit), wall, lambda: False
    )
    controller.maintenance = console.lock = lock
    assert controller.maintenance_unlock_pin(IT_PIN).ok
    wall.now += 100
    assert rig.run("gpio_buzzer").ok
    wall.now += 100
    assert controller.maintenance_session() is not None  # the press restarted the idle time
