"""Out of service on the real controller and a real SQLite store (issues 12 and 13): the clock not yet
set by network time, a printer gone for good, a payment gateway that stays away. Fakes only at the
edges: systemd-timesyncd's flag file is a temporary file, the printer a hardware edge that can be
unplugged, the gateway the gateway simulator on 127.0.0.1 (stopped and started again on its port).

Nothing sleeps: the controller, the printing service and the gateway probes run on a clock the test
moves; every probe is taken at a known moment (``GatewayWatch.probe_once``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from kiosk.bootstrap import build_clock_sync, build_gateway_watch, build_reprints
from kiosk.clock import RELEASE_FLOOR_UTC, TimesyncdClockSync
from kiosk.controller import CheckoutController, ControllerOptions, wait_until
from kiosk.core import checkout as co
from kiosk.core.availability import GatewayReachRules, OutOfService
from kiosk.core.codes import CodeKind
from kiosk.core.receipt import ReceiptLayout, ReceiptTemplate
from kiosk.payments.reach import GatewayWatch, HttpGatewayProbe
from kiosk.payments.service import build_gateway
from kiosk.ports import (
    CatalogItem,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    ClockSync,
    PrinterError,
    PrinterStatus,
)
from kiosk.printing import PrintService
from kiosk.settings import Settings, load_settings
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
WX = "134567890123456789"
GONE_S = 600.0
BOUND_S = 10.0
AFTER_FLOOR = RELEASE_FLOOR_UTC + timedelta(days=30)


def _controller(
    tmp_path: Path,
    *,
    clock: FakeClock,
    printer: object | None = None,
    e_receipt: bool = False,
    clock_sync: ClockSync | None = None,
    utcnow: datetime = AFTER_FLOOR,
    gateway: object | None = None,
    background: bool = False,
) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(
            kiosk_id="k1",
            store_name="店",
            receipt_link=(lambda oid: f"https://hq.example/r/{oid}") if e_receipt else None,
            printer_gone_s=GONE_S,
            gateway_reach=GatewayReachRules(failures=3, span_s=60.0),
        ),
        store=store,
        gateway=gateway or FakePaymentGateway(),  # type: ignore[arg-type]
        printer=printer or Printer(),  # type: ignore[arg-type]
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=background,
        utcnow=lambda: utcnow,
        clock_sync=clock_sync,
    )


def _starts_a_sale(c: CheckoutController) -> bool:
    c.dispatch(co.StartTapped())
    started = c.state.phase is co.Phase.CART
    if started:
        c.dispatch(co.CancelTapped())
    return started


# --- the clock --------------------------------------------------------------------------------------


def test_before_network_time_no_sale_starts_and_selling_starts_by_itself_once_synced(tmp_path: Path) -> None:
    """GIVEN a kiosk on systemd-timesyncd (its run folder exists) that has not synced yet
    WHEN  a customer touches the screen, then timesyncd writes its flag file
    THEN  the first screen is already out of service (CLOCK_NOT_SYNCED), nothing starts, and the next
          tick after the flag appears sells again without a restart."""
    flag = tmp_path / "run" / "timesync" / "synchronized"
    flag.parent.mkdir(parents=True)
    settings = load_settings(None, environ={"KIOSK_KIOSK__TIME_SYNC_FILE": str(flag)})
    sync = build_clock_sync(settings)  # "auto": required, timesyncd's folder is there
    c = _controller(tmp_path, clock=FakeClock(), clock_sync=sync)
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    assert not _starts_a_sale(c)
    c.tick()
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    flag.touch()  # NTP answered
    c.tick()
    assert c.out_of_service is None
    assert _starts_a_sale(c)


def test_auto_waits_for_network_time_when_timesyncd_starts_after_the_kiosk(tmp_path: Path) -> None:
    """GIVEN "auto" and a kiosk that started before systemd-timesyncd made its run folder
    WHEN  the folder appears (timesyncd running, not synced yet), then timesyncd restarts
    THEN  the kiosk goes out of service (CLOCK_NOT_SYNCED) at the next tick and stays so while the
          folder is gone: "auto" is not decided once at start-up."""
    flag = tmp_path / "run" / "timesync" / "synchronized"
    settings = load_settings(None, environ={"KIOSK_KIOSK__TIME_SYNC_FILE": str(flag)})
    assert settings.kiosk.require_time_sync == "auto"
    c = _controller(tmp_path, clock=FakeClock(), clock_sync=build_clock_sync(settings))
    assert c.out_of_service is None  # no timesyncd seen yet
    flag.parent.mkdir(parents=True)
    c.tick()
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    assert not _starts_a_sale(c)
    flag.parent.rmdir()  # timesyncd restarting: its RuntimeDirectory is gone for a moment
    c.tick()
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    flag.parent.mkdir()
    flag.touch()
    c.tick()
    assert c.out_of_service is None


def test_a_clock_earlier_than_the_release_is_not_trusted_even_when_synced(tmp_path: Path) -> None:
    flag = tmp_path / "synchronized"
    flag.touch()
    c = _controller(
        tmp_path,
        clock=FakeClock(),
        clock_sync=TimesyncdClockSync(flag),
        utcnow=datetime(1970, 1, 1, 0, 0, 12, tzinfo=UTC),
    )
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    assert not _starts_a_sale(c)


def test_without_timesyncd_the_kiosk_sells_at_once(tmp_path: Path) -> None:
    """A development box or a container: no timesyncd folder, so "auto" does not ask for the flag."""
    settings = load_settings(
        None, environ={"KIOSK_KIOSK__TIME_SYNC_FILE": str(tmp_path / "no-timesyncd" / "synchronized")}
    )
    c = _controller(tmp_path, clock=FakeClock(), clock_sync=build_clock_sync(settings))
    assert c.out_of_service is None
    assert _starts_a_sale(c)


def test_the_start_up_recovery_waits_for_network_time_before_asking_the_gateway(tmp_path: Path) -> None:
    """GIVEN a payment a power cut left open, and a Pi that booted without network time
    WHEN  the kiosk starts (recovery, then the refunds to repeat)
    THEN  nothing is asked of the gateway while the clock is untrusted: the kiosk is out of service
          for the clock, the payment stays open, and the refunds wait; the tick after timesyncd's
          flag appears runs the recovery, which settles the payment as paid and prints its receipt.

    Before, the recovery queried the gateway at once, signed with the boot-time clock: a gateway
    that checks the timestamp refuses that, and the payment was left "unresolved" for staff."""
    from kiosk.core.cart import Cart

    flag = tmp_path / "run" / "timesync" / "synchronized"
    flag.parent.mkdir(parents=True)
    c = _controller(tmp_path, clock=FakeClock(), clock_sync=TimesyncdClockSync(flag))
    store = c.store
    assert isinstance(store, SaleStore)
    order_id = store.open_order(Cart().add(c.catalog()[0]))
    left_open = store.begin_payment(order_id, "wechat", "fake", WX)
    gateway = FakePaymentGateway(query=[ChargeResult(ChargeStatus.PAID, left_open.out_trade_no, "T9")])
    c.gateway = gateway
    refunds_started: list[str] = []

    c.start_recovery(then=lambda: refunds_started.append("now"))
    c.tick()
    assert gateway.calls == [] and refunds_started == []
    assert c.out_of_service is OutOfService.CLOCK_NOT_SYNCED
    assert [p.out_trade_no for p in store.unfinished_payments()] == [left_open.out_trade_no]
    assert not _starts_a_sale(c)

    flag.touch()  # NTP answered
    c.tick()
    assert gateway.count("query", left_open.out_trade_no) == 1
    assert refunds_started == ["now"]
    assert store.unfinished_payments() == []
    assert store.order(order_id).receipt_printed
    assert c.state.phase is co.Phase.ATTRACT and c.out_of_service is None
    c.tick()  # started once only
    assert gateway.count("query") == 1 and refunds_started == ["now"]


# --- the printer ------------------------------------------------------------------------------------


class Printer:
    """A receipt printer at the hardware edge whose cable can be pulled."""

    def __init__(self) -> None:
        self.plugged = True
        self.printed: list[str] = []

    def status(self) -> PrinterStatus:
        if not self.plugged:
            return PrinterStatus(online=None, paper="unknown", detail="no answer")
        return PrinterStatus(online=True, paper="ok", cover_open=False)

    def is_ready(self) -> bool:
        return self.status().ready

    def print_receipt(self, order_id: str, layout: ReceiptLayout) -> None:
        if not self.plugged:
            raise PrinterError("no answer")
        self.printed.append(order_id)

    def close(self) -> None:
        pass


def _printing(
    tmp_path: Path, clock: FakeClock, *, e_receipt: bool
) -> tuple[CheckoutController, Printer, PrintService]:
    edge = Printer()
    c = _controller(tmp_path, clock=clock, e_receipt=e_receipt)
    store = c.store
    assert isinstance(store, SaleStore)
    service = PrintService(edge, build_reprints(store), clock=clock.monotonic)
    c.printer = service
    c.printer_status = service.last_status  # as kiosk.bootstrap wires it
    return c, edge, service


def test_a_printer_gone_for_long_without_an_e_receipt_puts_the_kiosk_out_of_service_and_back(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    c, edge, service = _printing(tmp_path, clock, e_receipt=False)
    service.poll_once()
    c.tick()
    assert c.out_of_service is None
    edge.plugged = False
    service.poll_once()
    c.tick()  # the printer is seen down from now
    clock.advance(GONE_S - 1)
    service.poll_once()
    c.tick()
    assert c.out_of_service is None  # a while yet: Pay still refuses it and calls staff
    clock.advance(1)
    service.poll_once()
    c.tick()
    assert c.out_of_service is OutOfService.PRINTER_GONE
    assert not _starts_a_sale(c)
    edge.plugged = True
    service.poll_once()
    c.tick()
    assert c.out_of_service is None
    assert _starts_a_sale(c)


def test_a_printer_gone_for_long_with_an_e_receipt_keeps_selling(tmp_path: Path) -> None:
    clock = FakeClock()
    c, edge, service = _printing(tmp_path, clock, e_receipt=True)
    edge.plugged = False
    service.poll_once()
    c.tick()
    clock.advance(GONE_S * 3)
    service.poll_once()
    c.tick()
    assert c.out_of_service is None
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    assert c.state.printer_offer  # "the printer is not available: take an e-receipt?"


def test_a_printer_that_comes_back_in_between_starts_the_count_again(tmp_path: Path) -> None:
    clock = FakeClock()
    c, edge, service = _printing(tmp_path, clock, e_receipt=False)
    edge.plugged = False
    service.poll_once()
    c.tick()
    clock.advance(GONE_S - 10)
    edge.plugged = True
    service.poll_once()
    c.tick()
    edge.plugged = False
    service.poll_once()
    c.tick()
    clock.advance(20)
    service.poll_once()
    c.tick()
    assert c.out_of_service is None


# --- the gateway ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("keys"))


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds) as running:
        yield running


def _kiosk_settings(tmp_path: Path, creds: SimCredentials, url: str) -> Settings:
    config = tmp_path / "kiosk.toml"
    config.write_text(creds.kiosk_toml(url))
    config.chmod(0o600)
    return load_settings(config, environ={})


def test_a_gateway_that_stays_away_turns_the_next_customer_away_until_it_answers(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator
) -> None:
    """GIVEN a kiosk commissioned against the gateway simulator, probing it as kiosk.bootstrap wires it
    WHEN  the gateway stops answering: one failed probe, then three in a row over a minute
    THEN  one failure changes nothing; three over 60 s put it out of service (GATEWAY_UNREACHABLE);
          the gateway back on its port, the first answer puts it back in service."""
    settings = _kiosk_settings(tmp_path, creds, sim.url)
    clock = FakeClock()
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    c = CheckoutController(
        options=ControllerOptions(
            kiosk_id="k1", store_name="店", gateway_reach=GatewayReachRules(failures=3, span_s=60.0)
        ),
        store=store,
        gateway=build_gateway(settings.payments, store.payment_channel),
        printer=Printer(),  # type: ignore[arg-type]
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=False,
    )
    watch = build_gateway_watch(settings, c.gateway_probed)
    assert watch is not None
    assert watch.probe_once() is True
    c.pump()
    assert c.out_of_service is None
    port = int(sim.url.rsplit(":", 1)[1])
    sim.stop()
    assert watch.probe_once() is False  # a blip
    c.pump()
    assert c.out_of_service is None
    for _ in range(2):
        clock.advance(30)
        watch.probe_once()
        c.pump()
    assert c.out_of_service is OutOfService.GATEWAY_UNREACHABLE
    assert not _starts_a_sale(c)
    back = GatewaySimulator.with_credentials(creds, port=port).start()
    try:
        clock.advance(30)
        assert watch.probe_once() is True
        c.pump()
        assert c.out_of_service is None
        assert _starts_a_sale(c)
    finally:
        back.stop()


def test_a_charge_in_flight_runs_to_its_end_while_the_gateway_is_declared_unreachable(tmp_path: Path) -> None:
    """The probes fail while a customer's charge waits at the gateway (the password on the phone): the
    kiosk goes out of service, yet the charge is not cut short; the customer is paid and served, and
    only the next customer is turned away."""
    entered, release = threading.Event(), threading.Event()

    class Slow(FakePaymentGateway):
        """The gateway's edge for this customer: the pay call waits until the test lets it answer."""

        def pay(self, request: ChargeRequest) -> ChargeResult:
            entered.set()
            release.wait(BOUND_S)
            return super().pay(request)

    clock = FakeClock()
    c = _controller(tmp_path, clock=clock, gateway=Slow(), background=True)
    dead = GatewayWatch(HttpGatewayProbe(["http://127.0.0.1:9"], timeout_s=1.0), c.gateway_probed)
    try:
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        c.dispatch(co.PayTapped())
        assert wait_until(c, lambda: c.state.order_id is not None, BOUND_S)
        c.dispatch(co.PaymentCodeScanned(CodeKind.WECHAT, WX))
        assert entered.wait(BOUND_S)
        for _ in range(3):
            dead.probe_once()
            clock.advance(30)
        assert wait_until(c, lambda: c.out_of_service is OutOfService.GATEWAY_UNREACHABLE, BOUND_S)
        c.tick()
        assert c.state.phase is co.Phase.PAYING and c.state.charging  # not cut short
        release.set()
        assert wait_until(c, lambda: c.state.phase in (co.Phase.PRINTING, co.Phase.DONE), BOUND_S)
        order_id = c.state.order_id
        assert order_id is not None and c.store.paid_payment(order_id) is not None
        assert wait_until(c, lambda: c.state.phase is co.Phase.DONE, BOUND_S)
        c.dispatch(co.CancelTapped())  # the customer leaves
        assert c.state.phase is co.Phase.ATTRACT
        c.dispatch(co.StartTapped())
        assert c.state.phase is co.Phase.ATTRACT  # the next one is sent elsewhere
    finally:
        release.set()
        c.close()
