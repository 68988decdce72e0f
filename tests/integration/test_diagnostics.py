"""Diagnostics on real parts: a 1-fen test charge and its refund against the gateway simulator (the
simulator's ledger is the judge), the kiosk's own file printer, gpiozero's MockFactory pins, a real
HQ on 127.0.0.1 answering whoami, real SQLite; and the SD-card wear reading from a fake /sys."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory
from gpiozero.threads import GPIOThread
from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from drivers.camera.scanner import ScanStats
from drivers.gpio.indicators import GpiozeroIndicators, NullIndicators
from drivers.gpio.inputs import GpiozeroInputs
from drivers.gpio.types import Light
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.bootstrap import Kiosk, build_diagnostics, build_hq_client, build_payment_gateway
from kiosk.core.payment import RefundRules
from kiosk.maintenance.diagnostics import DIAGNOSTIC_SKU, Diagnostics, Parts, Status, sd_wear
from kiosk.settings import Settings, load_settings
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, Order, OrderLine, OutboxEntry
from kiosk.store.sales import SaleStore
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator
from tests.fakes.clock import FakeClock

KIOSK = "kiosk-001"
WECHAT_CODE = "134567890123456789"
FAST = RefundRules(retry_interval_s=0.05, give_up_after_s=5.0, max_tries=4)
LED, BUZZER, KEY, PAPER = 17, 27, 5, 6
BOUND_S = 10.0


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("diagkeys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds) as running:
        yield running


def settings_for(tmp_path: Path, creds: SimCredentials, gateway_url: str, hq_url: str) -> Settings:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{tmp_path / "data"}"\n\n[hq]\nurl = "{hq_url}"\n\n'
        f'[printer]\ntransport = "file"\ndevice = "receipts"\n\n' + creds.kiosk_toml(gateway_url)
    )
    config.chmod(0o600)
    return load_settings(config, environ={})


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq" / "hq.sqlite3")) as live:
        yield live


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    mock = MockFactory()
    yield mock
    mock.reset()
    mock.close()


class Kit:
    def __init__(
        self, s: Settings, factory: MockFactory | None = None, stats: ScanStats | None = None
    ) -> None:
        self.settings = s
        self.db = open_store(s.store_path)
        self.store = SaleStore(self.db, KIOSK)
        self.gateway = build_payment_gateway(s, self.store)
        self.printer = FileReceiptPrinter(s.kiosk.data_dir / "receipts")
        self.indicators = (
            GpiozeroIndicators(LED, BUZZER, pin_factory=factory) if factory else NullIndicators()
        )
        self.inputs = GpiozeroInputs(KEY, PAPER, pin_factory=factory) if factory else None
        self.diag = Diagnostics(
            Parts(
                settings=s,
                store=self.store,
                printer=self.printer,
                indicators=self.indicators,
                gateway=self.gateway,
                app_version="9.9.9",
                os_version=lambda: "Debian GNU/Linux 12 (bookworm)",
                scan_stats=lambda: stats,
                hq_client=lambda: build_hq_client(s, 5.0),
                inputs=self.inputs,
                clock=FakeClock(),
                refund_rules=FAST,
                sys_block=s.kiosk.data_dir / "sys-block",
            )
        )

    def close(self) -> None:
        self.indicators.close()
        if self.inputs is not None:
            self.inputs.close()
        self.db.close()


def test_the_test_charge_takes_one_fen_and_gives_it_back(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator
) -> None:
    kit = Kit(settings_for(tmp_path, creds, sim.url, "http://127.0.0.1:9"))
    try:
        done = kit.diag.test_charge(WECHAT_CODE, "it")
        assert done.status is Status.OK, done.en
        assert "1 fen" in done.en and "1 分" in done.zh
        ledger = sim.bank.ledger()
        assert [(e.kind, e.amount_fen) for e in ledger] == [("charge", 1), ("refund", 1)]  # back, once
        order = Order.get_by_id(done.data["order_id"])
        assert order.status == "refunded" and order.total_fen == 1
        assert [line.sku for line in OrderLine.select().where(OrderLine.order == order)] == [DIAGNOSTIC_SKU]
        audited = [r.detail for r in AuditLog.select().where(AuditLog.action == "diagnostic_charge")]
        assert any("paid and refunded" in d for d in audited)
        kinds = {e.kind for e in OutboxEntry.select()}
        assert {"sale", "refund"} <= kinds  # HQ's books see the test order and its refund
    finally:
        kit.close()


def test_a_declined_test_charge_fails_and_cancels_its_order(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator
) -> None:
    kit = Kit(settings_for(tmp_path, creds, sim.url, "http://127.0.0.1:9"))
    try:
        done = kit.diag.test_charge("12345", "it")
        assert done.status is Status.FAIL and sim.bank.ledger() == []
    finally:
        kit.close()


def test_gpio_lights_beeps_restores_the_light_and_reads_inputs(
    tmp_path: Path, creds: SimCredentials, factory: MockFactory
) -> None:
    kit = Kit(settings_for(tmp_path, creds, "http://127.0.0.1:9", "http://127.0.0.1:9"), factory)
    try:
        kit.indicators.show(Light.READY)  # steady: no blink thread of its own
        factory.pin(KEY).drive_low()  # the key switch turned
        before = {t for t in threading.enumerate() if isinstance(t, GPIOThread)}
        led = factory.pin(LED)
        led.clear_states()
        done = kit.diag.gpio()
        for thread in {t for t in threading.enumerate() if isinstance(t, GPIOThread)} - before:
            thread.join(BOUND_S)  # the beep's thread: it ends after one beep
        assert done.status is Status.OK, done.en
        assert done.data["inputs"]["key_switch_on"] is True and done.data["inputs"]["paper_low"] is False
        states = [s.state for s in led.states]
        assert True in states and False in states  # the LED was driven on and off
        assert any(s.state for s in factory.pin(BUZZER).states)  # the buzzer sounded
        assert kit.indicators.light is Light.READY and led.state  # the kiosk's own light is back
    finally:
        kit.close()


def test_hq_check_is_a_signed_whoami(tmp_path: Path, creds: SimCredentials, hq: LiveHq) -> None:
    s = settings_for(tmp_path, creds, "http://127.0.0.1:9", hq.url)
    (tmp_path / "data").mkdir(exist_ok=True)
    kit = Kit(s)
    try:
        not_yet = kit.diag.hq()
        assert not_yet.status is Status.FAIL and "not enrolled" in not_yet.en
        enrol_kiosk(hq, s.kiosk.data_dir, KIOSK)
        done = kit.diag.hq()
        assert done.status is Status.OK, done.en
        assert done.data == {"kiosk_id": KIOSK, "store": "s01"}
        assert kit.diag.network().status is Status.OK
    finally:
        kit.close()


def test_checks_that_need_nobody_at_the_kiosk(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator
) -> None:
    stats = ScanStats(120, 60, 3, 2, 11.5, 30.2, 14.8, "")
    kit = Kit(settings_for(tmp_path, creds, sim.url, "http://127.0.0.1:9"), stats=stats)
    try:
        results = {r.name: r for r in kit.diag.run_all()}
        assert set(results) == {
            "printer",
            "camera",
            "gpio",
            "network",
            "hq",
            "gateway",
            "disk",
            "sd card",
            "versions",
        }
        assert results["camera"].status is Status.OK and results["camera"].data["frames_read"] == 120
        assert "120 frames read" in results["camera"].en and "已读 120 帧" in results["camera"].zh
        assert results["gateway"].status is Status.OK and sim.url in results["gateway"].en
        assert results["disk"].data["total_mb"] > 0
        assert results["sd card"].data == {"known": False} and "unknown" in results["sd card"].en
        assert results["versions"].data == {"app": "9.9.9", "os": "Debian GNU/Linux 12 (bookworm)"}
        assert results["hq"].status is Status.FAIL  # nothing listens on port 9, and no enrolment
        page = kit.diag.printer_test_page()
        assert page.status is Status.OK
        printed = [p.read_text("utf-8") for p in (kit.settings.kiosk.data_dir / "receipts").iterdir()]
        assert any("Printer test" in text for text in printed)
        json.dumps([r.data for r in results.values()])  # every result's data is plain JSON for a screen
    finally:
        kit.close()


def test_sd_card_wear_is_read_from_sys(tmp_path: Path, creds: SimCredentials) -> None:
    kit = Kit(settings_for(tmp_path, creds, "http://127.0.0.1:9", "http://127.0.0.1:9"))
    try:
        device = kit.settings.kiosk.data_dir / "sys-block" / "mmcblk0" / "device"
        device.mkdir(parents=True)
        (device / "life_time").write_text("0x02 0x0a\n")
        (device / "pre_eol_info").write_text("0x01\n")
        worn = kit.diag.sd_card()
        assert worn.status is Status.WARN and "worn" in worn.en
    finally:
        kit.close()


@pytest.mark.parametrize(
    ("life", "eol", "worn"),
    [
        ("0x01 0x01", "0x01", False),
        ("0x02 0x09", "0x01", True),
        ("0x01 0x01", "0x02", True),
        ("", "0x03", True),
    ],
)
def test_sd_wear_reading(life: str, eol: str, worn: bool) -> None:
    reading = sd_wear(life, eol)
    assert reading is not None and reading[0] is worn


def test_sd_wear_unknown_when_missing_or_garbled() -> None:
    assert sd_wear(None, None) is None
    assert sd_wear("zz", None) is None


def _enrolled_kiosk(tmp_path: Path, hq: LiveHq, language: str = "zh_CN") -> Kiosk:
    """A kiosk from ``build_kiosk``, enrolled at ``hq``, without printer, GPIO or a running camera."""
    from drivers.camera.sources import HeldImageSource
    from kiosk.bootstrap import Overrides, build_kiosk

    data = tmp_path / "data"
    data.mkdir()
    enrol_kiosk(hq, data, KIOSK)
    s = load_settings(
        environ={
            "KIOSK_KIOSK__ID": KIOSK,
            "KIOSK_KIOSK__DATA_DIR": str(data),
            "KIOSK_HQ__URL": hq.url,
            "KIOSK_PRINTER__TRANSPORT": "none",
            "KIOSK_GPIO__ENABLED": "false",
            "KIOSK_KIOSK__LANGUAGE": language,
        }
    )
    return build_kiosk(s, overrides=Overrides(source=HeldImageSource(640, 480)))


def test_the_kiosk_builds_its_diagnostics_from_its_own_parts(tmp_path: Path, hq: LiveHq) -> None:
    """``build_diagnostics`` on a kiosk from ``build_kiosk``: the checks see its HQ enrolment, its
    (stopped) scanner, its printer setting and its versions."""
    from kiosk import __version__

    kiosk = _enrolled_kiosk(tmp_path, hq)
    try:
        diag = build_diagnostics(kiosk)
        results = {r.name: r for r in diag.run_all()}
        assert results["hq"].status is Status.OK and results["hq"].data["kiosk_id"] == KIOSK
        assert results["camera"].status is Status.WARN  # not started: "not running"
        assert results["printer"].status is Status.WARN  # transport none
        assert results["gpio"].status is Status.WARN  # [gpio] enabled = false
        assert results["versions"].data["app"] == __version__
        assert results["hq"].label("zh_CN") == "正常" and results["gpio"].label("en") == "WARN"
    finally:
        kiosk.stop()


def test_an_it_session_runs_the_diagnostics_from_the_menu(tmp_path: Path, hq: LiveHq) -> None:
    """The kiosk's own console (built by ``build_kiosk``) runs the same checks for an IT session,
    and refuses them to a cashier."""
    from argon2 import PasswordHasher

    from kiosk.maintenance.roles import Action
    from kiosk.ports import CatalogUpdate, StaffItem

    kiosk = _enrolled_kiosk(tmp_path, hq, language="en")
    try:
        hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        staff = (
            StaffItem(1, "it", "it", hasher.hash("975310"), True),
            StaffItem(2, "cash", "cashier", hasher.hash("864200"), True),
        )
        kiosk.store.apply_catalog(CatalogUpdate("delta", 0, 1, (), {}, staff=staff))
        controller = kiosk.controller
        assert controller.maintenance_unlock_pin("864200").ok
        refused = controller.maintenance_run(Action.DIAGNOSTICS)
        assert not refused.ok and "role" in refused.message
        controller.maintenance_lock()
        assert controller.maintenance_unlock_pin("975310").ok
        answer = controller.maintenance_run(Action.DIAGNOSTICS)
        assert "[OK] hq:" in answer.text and "[WARN] printer:" in answer.text
        # this kiosk has no payment gateway set up (payments.gateway = "none"): that check fails, and
        # the menu says how many did
        assert "[FAIL] gateway:" in answer.text
        assert not answer.ok and answer.message.startswith("1 check(s) failed")
    finally:
        kiosk.stop()


def test_hqs_settings_for_the_kiosk_take_effect_at_its_next_start(tmp_path: Path, hq: LiveHq) -> None:
    """``hq settings set --kiosk`` -> catalog pull into the kiosk's store -> the next ``build_kiosk``
    syncs at HQ's interval and holds back PIN guessing with HQ's limits; a value the kiosk refuses is
    ignored and a key not meant for it changes nothing."""
    from hq.catalog_sync import set_setting
    from hq.db import connected

    first = _enrolled_kiosk(tmp_path, hq)
    try:
        assert first.sync.interval_s == 10  # nothing pulled yet: the local settings
        with connected():
            set_setting("hq.sync_interval_s", "30", kiosk=KIOSK)
            set_setting("maintenance.lockout_s", "60", store="s01")
            set_setting("hq.heartbeat_s", "0", store="s01")  # out of range: the local 60 s stays
            set_setting("hq.url", '"http://127.0.0.1:9"', store="s01")  # not HQ's to set
        assert first.puller.pull_once().error == ""
        assert first.store.hq_settings()["hq.sync_interval_s"] == 30
    finally:
        first.stop()
    from drivers.camera.sources import HeldImageSource
    from kiosk.bootstrap import Overrides, build_kiosk

    again = build_kiosk(first.settings, overrides=Overrides(source=HeldImageSource(640, 480)))
    try:
        assert again.sync.interval_s == 30 and again.settings.hq.sync_interval_s == 30
        assert again.sync.heartbeat_s == 60
        assert again.controller.maintenance is not None
        assert again.controller.maintenance.config.limiter.lockout_s == 60
        assert again.settings.hq.url == hq.url
    finally:
        again.stop()
