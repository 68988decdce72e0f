"""Whole sales through the real parts: a SQLite file, HQ on 127.0.0.1, the gateway simulator speaking
the real WeChat Pay and Alipay protocols (the kiosk is set up ``wechat+alipay`` against it), the ESC/POS
driver talking to the printer emulator over a pseudo-terminal, and a camera fed pictures of payment
codes that the real decoder reads on the scanner thread.

Nothing here waits on a timer: every step waits (bounded) for the state it needs, and the payment
timers of the kiosk and the simulator's password delay run on one injected clock that moves when the
kiosk waits, so a channel's 3 s query interval costs no real time and cannot race a busy machine."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from drivers.camera.sources import HeldImageSource
from drivers.gpio.inputs import GpiozeroInputs
from hq.db import connected
from hq.models import Sale
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.controller import wait_until
from kiosk.core import checkout as co
from kiosk.core.cart import Cart
from kiosk.core.payment import PayState
from kiosk.payments.service import recover
from kiosk.ports import ChargeRequest, ChargeStatus
from kiosk.settings import load_settings
from kiosk.store.models import Order, Payment
from paysim.credentials import SimCredentials, make_credentials
from paysim.phone import DemoCodes, fresh_code, render_code
from paysim.server import GatewaySimulator
from printer_emulator.emulator import PrinterEmulator
from tests.fakes.clock import FakeClock

KIOSK_ID = "kiosk-it"


def payment_environment(creds: SimCredentials, url: str) -> dict[str, str]:
    """The KIOSK_* settings of a kiosk commissioned with both channels, pointed at ``url``."""
    from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID

    return {
        "KIOSK_PAYMENTS__GATEWAY": "wechat+alipay",
        "KIOSK_PAYMENTS__WECHAT__GATEWAY_URL": url,
        "KIOSK_PAYMENTS__WECHAT__APPID": WECHAT_APPID,
        "KIOSK_PAYMENTS__WECHAT__MCH_ID": WECHAT_MCH_ID,
        "KIOSK_PAYMENTS__WECHAT__API_KEY": creds.wechat_api_key,
        "KIOSK_PAYMENTS__WECHAT__TIMEOUT_S": "2",
        "KIOSK_PAYMENTS__ALIPAY__GATEWAY_URL": url,
        "KIOSK_PAYMENTS__ALIPAY__APP_ID": ALIPAY_APP_ID,
        "KIOSK_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_FILE": str(creds.app_private_key_file),
        "KIOSK_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY_FILE": str(creds.alipay_public_key_file),
        "KIOSK_PAYMENTS__ALIPAY__TIMEOUT_S": "2",
    }


@dataclass
class Appliance:
    hq: LiveHq
    sim: GatewaySimulator
    creds: SimCredentials
    clock: FakeClock
    printer: PrinterEmulator
    data_dir: Path
    built: list[Kiosk]

    def kiosk(self, inputs: GpiozeroInputs | None = None, gateway_url: str = "", **env: str) -> Kiosk:
        """A kiosk built and started as ``kiosk run`` does, after its start-up recovery finished."""
        environ = {
            "KIOSK_KIOSK__ID": KIOSK_ID,
            "KIOSK_KIOSK__DATA_DIR": str(self.data_dir),
            "KIOSK_KIOSK__STORE_NAME": "测试商店",
            "KIOSK_HQ__URL": self.hq.url,
            "KIOSK_HQ__SYNC_INTERVAL_S": "0.2",
            **payment_environment(self.creds, gateway_url or self.sim.url),
            "KIOSK_PAYMENTS__POLL_INTERVAL_S": "1",
            "KIOSK_PAYMENTS__MAX_WAIT_S": "20",
            "KIOSK_PRINTER__DEVICE": self.printer.device_path,
            "KIOSK_PRINTER__STATUS_TIMEOUT_MS": "300",
            "KIOSK_GPIO__PIN_FACTORY": "mock",
            **env,
        }
        settings = load_settings(environ=environ)
        source = HeldImageSource(640, 480)
        overrides = Overrides(
            source=source, samples=DemoCodes(seed=len(self.built)), inputs=inputs, clock=self.clock
        )
        k = build_kiosk(settings, overrides=overrides)
        self.built.append(k)
        k.start()
        _until(k, lambda: k.controller.state.phase is not co.Phase.RECOVERING, 60)
        return k


@pytest.fixture
def appliance(tmp_path: Path) -> Iterator[Appliance]:
    from gpiozero import Device

    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as hq:
        with connected():
            from hq.catalog import seed_demo

            seed_demo()
        enrol_kiosk(hq, tmp_path / "kiosk", KIOSK_ID)
        creds = make_credentials(tmp_path / "paysim-keys")
        clock = FakeClock()
        with (
            GatewaySimulator.with_credentials(creds, password_delay_s=2.0, clock=clock.monotonic) as sim,
            PrinterEmulator(encoding="gb18030") as printer,
        ):
            app = Appliance(hq, sim, creds, clock, printer, tmp_path / "kiosk", [])
            try:
                yield app
            finally:
                for k in app.built:
                    k.stop()
                if Device.pin_factory is not None:
                    Device.pin_factory.reset()


def _until(k: Kiosk, predicate: Callable[[], bool], timeout_s: float = 15) -> None:
    assert wait_until(k.controller, predicate, timeout_s), f"stuck in {k.controller.state}"


def _buy(k: Kiosk, sample: str, items: int = 2) -> co.Checkout:
    c = k.controller
    c.dispatch(co.StartTapped())
    for product in c.catalog()[:items]:
        c.dispatch(co.ProductTapped(product))
    c.dispatch(co.PayTapped())
    _until(k, lambda: c.state.order_id is not None)
    c.hold_up_sample(sample)
    _until(k, lambda: c.state.phase in (co.Phase.DONE, co.Phase.NEEDS_HELP) or bool(c.state.detail))
    return c.state


def _rescan(k: Kiosk) -> None:
    """Make the scanner report what it sees next even if it saw it a moment ago (as after a pause),
    instead of waiting out its one-second repeat window: this test is about the controller and the
    store refusing a code, not about the scanner's timing."""
    assert k.scanner is not None
    k.scanner.pause()
    k.scanner.resume()


def _charges(sim: GatewaySimulator) -> list[str]:
    return [e.out_trade_no for e in sim.bank.ledger() if e.kind == "charge"]


def test_a_sale_is_paid_printed_and_reaches_hq(appliance: Appliance) -> None:
    k = appliance.kiosk()
    catalog = k.controller.catalog()
    assert len(catalog) >= 2, "the catalog came down from HQ"
    expected_total = catalog[0].price_fen + catalog[1].price_fen
    state = _buy(k, "wechat_ok")
    assert state.phase is co.Phase.DONE
    order = Order.get_by_id(state.order_id)
    assert (order.status, order.total_fen, order.receipt_printed) == ("paid", expected_total, True)
    [receipt] = appliance.printer.wait_for_receipts(1, timeout_s=5)
    assert "测试商店" in receipt and f"{expected_total // 100}.{expected_total % 100:02d}" in receipt
    assert len(_charges(appliance.sim)) == 1
    _until(k, lambda: k.store.pending_count() == 0)
    with connected():
        sale = Sale.get_by_id(state.order_id)
    assert sale.total_fen == expected_total and sale.kiosk_id == KIOSK_ID


def test_password_on_the_phone_then_paid(appliance: Appliance) -> None:
    k = appliance.kiosk()
    started = appliance.clock.monotonic()
    state = _buy(k, "alipay_password")
    assert state.phase is co.Phase.DONE
    assert Payment.get(Payment.order == state.order_id).status == "paid"
    # Alipay's own rule: the first query comes 3 s after the pay call, on the kiosk's clock
    assert appliance.clock.monotonic() - started >= 3.0


def test_declined_then_another_code_is_charged_once(appliance: Appliance) -> None:
    k = appliance.kiosk()
    state = _buy(k, "wechat_declined")
    assert state.phase is co.Phase.PAYING and state.notice is co.Notice.PAYMENT_DECLINED
    k.controller.hold_up_sample("alipay_ok")
    _until(k, lambda: k.controller.state.phase is co.Phase.DONE)
    assert len(_charges(appliance.sim)) == 1
    statuses = sorted(p.status for p in Payment.select().where(Payment.order == state.order_id))
    assert statuses == ["failed", "paid"]


def test_the_same_code_is_never_charged_twice(appliance: Appliance) -> None:
    k = appliance.kiosk()
    code = fresh_code("wechat", "ok", random.Random(5))
    c = k.controller
    for _ in range(2):
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        c.dispatch(co.PayTapped())
        _until(k, lambda: c.state.order_id is not None)
        assert k.scanner is not None
        source = k.scanner.source
        assert isinstance(source, HeldImageSource)
        source.hold_up(render_code(code))
        _until(k, lambda: c.state.phase is co.Phase.DONE or c.state.notice is co.Notice.CODE_ALREADY_USED)
        if c.state.phase is co.Phase.DONE:
            c.dispatch(co.TimedOut())
        source.take_away()
        _rescan(k)  # the phone is shown again: the scanner reports it afresh
    assert c.state.notice is co.Notice.CODE_ALREADY_USED
    assert len(_charges(appliance.sim)) == 1
    # past its one-minute lifetime the code still never reaches the gateway: the store refuses it
    order_id = c.state.order_id
    assert order_id is not None
    k.controller._code_guard = type(
        k.controller._code_guard
    )()  # a restarted kiosk remembers nothing in memory
    source.take_away()
    _rescan(k)
    source.hold_up(render_code(code))
    _until(k, lambda: c.state.notice is co.Notice.PAYMENT_DECLINED)
    assert "already used" in c.state.detail
    assert len(_charges(appliance.sim)) == 1


def test_printer_cable_pulled_after_payment_the_sale_stays_paid(appliance: Appliance) -> None:
    k = appliance.kiosk()
    c = k.controller
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    _until(k, lambda: c.state.order_id is not None)
    appliance.printer.stop()  # the far end of the serial line is gone
    c.hold_up_sample("wechat_ok")
    # an enrolled kiosk does not hold the paid customer: the done screen shows the e-receipt QR
    _until(k, lambda: c.state.phase is co.Phase.DONE)
    assert c.state.notice is co.Notice.RECEIPT_ON_PHONE
    assert c.current_receipt_url() and c.last_receipt_layout() is None
    order = Order.get_by_id(c.state.order_id)
    assert (order.status, order.receipt_printed) == ("paid", False)
    assert any("receipt not printed" in a.reason for a in c.alerts)
    _until(k, lambda: k.store.pending_count() == 0)  # the sale still reaches HQ
    c.dispatch(co.CancelTapped())  # the done screen's button
    assert c.state.phase is co.Phase.ATTRACT


def test_printer_not_ready_before_payment_offers_the_e_receipt(appliance: Appliance) -> None:
    """An enrolled kiosk (it has e-receipts at HQ) asks before payment instead of calling staff; the
    refusal without HQ is tests/integration/test_faults_real.py's."""
    k = appliance.kiosk()
    appliance.printer.paper = "out"
    c = k.controller
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    _until(k, lambda: c.state.printer_offer)  # the printer is asked on the worker
    assert c.state.phase is co.Phase.CART and c.state.printer_offer
    assert Order.select().count() == 0, "no order is opened, nothing charged"
    c.dispatch(co.PrinterOfferAnswered(go=False))
    assert c.state.phase is co.Phase.CART and not c.state.printer_offer and not c.state.cart.is_empty
    c.dispatch(co.PayTapped())
    _until(k, lambda: c.state.printer_offer)
    c.dispatch(co.PrinterOfferAnswered(go=True))
    assert c.state.phase is co.Phase.PAYING
    assert c.alerts and "printer" in c.alerts[-1].reason


def test_gateway_down_is_unknown_then_settled_at_restart(appliance: Appliance) -> None:
    k = appliance.kiosk(gateway_url="http://127.0.0.1:9")  # nothing listens there
    state = _buy(k, "alipay_ok")
    assert state.phase is co.Phase.NEEDS_HELP and state.notice is co.Notice.PAYMENT_UNKNOWN
    [pending] = k.store.unfinished_payments()
    assert pending.status is PayState.UNKNOWN
    k.stop()
    appliance.built.remove(k)
    k2 = appliance.kiosk()  # the simulator is reachable now; it never saw the charge
    assert k2.controller.recovery is not None
    assert k2.controller.recovery.resolved == [pending.out_trade_no]
    assert Payment.get(Payment.out_trade_no == pending.out_trade_no).status == "cancelled"
    assert Order.get_by_id(pending.order_id).status == "cancelled"
    assert _charges(appliance.sim) == []


def test_crash_after_the_gateway_charged_is_recorded_as_paid_at_restart(appliance: Appliance) -> None:
    """GIVEN the kiosk died after the gateway took the money but before it committed "paid"
    WHEN it starts again THEN the sale is recorded as paid and queued for HQ, charged once."""
    k = appliance.kiosk()
    c = k.controller
    cart = Cart().add(c.catalog()[0])
    order_id = k.store.open_order(cart)
    code = fresh_code("alipay", "ok", random.Random(9))
    payment = k.store.begin_payment(order_id, "alipay", k.gateway.name, code)
    otn = payment.out_trade_no
    # the gateway takes the money; the kiosk "dies" before it reads the answer
    paid = k.gateway.pay(ChargeRequest(otn, "alipay", code, payment.amount_fen, "x"))
    assert paid.status is ChargeStatus.PAID
    report = recover(k.store, k.gateway)
    assert report.resolved == [otn] and report.paid_orders == [order_id]
    assert Order.get_by_id(order_id).status == "paid"
    assert _charges(appliance.sim) == [otn]


def test_paper_low_sensor_calls_staff_and_the_key_switch_is_recorded(appliance: Appliance) -> None:
    from gpiozero.pins.mock import MockFactory

    from kiosk.store.models import AuditLog

    pins = MockFactory()
    k = appliance.kiosk(inputs=GpiozeroInputs(maintenance_key=23, paper_low_sensor=22, pin_factory=pins))
    c = k.controller
    pins.pin(22).drive_low()  # the sensor closes: paper is running low
    _until(k, lambda: "paper" in c.device_faults)
    assert any("paper: low" in a.reason for a in c.alerts)
    pins.pin(22).drive_high()
    _until(k, lambda: "paper" not in c.device_faults)
    pins.pin(23).drive_low()  # staff turn the maintenance key
    _until(k, lambda: AuditLog.select().where(AuditLog.action == "maintenance.key_switch").count() == 1)
    assert AuditLog.get(AuditLog.action == "maintenance.key_switch").detail == "on"
    # selling goes on with paper low: only the printer's own "out" stops a payment
    state = _buy(k, "wechat_ok")
    assert state.phase is co.Phase.DONE


def test_a_refund_left_open_is_repeated_in_the_background_and_never_holds_up_the_screen(
    appliance: Appliance,
) -> None:
    """GIVEN a refund left "refunding" and a gateway that now takes a minute to answer
    WHEN the kiosk starts THEN the start-up recovery ends and the screen is ready while the refund
    is still being repeated on a thread of its own; stopping the kiosk does not wait for it."""
    k = appliance.kiosk()
    state = _buy(k, "alipay_ok")
    assert state.phase is co.Phase.DONE and state.order_id is not None
    payment = k.store.paid_payment(state.order_id)
    assert payment is not None
    k.store.begin_refund(payment.out_trade_no, "staff:li")  # the kiosk stopped before the refund call
    k.stop()
    appliance.built.remove(k)
    appliance.sim.latency_s = 60.0  # every answer now takes a minute (the request waits, unanswered)
    k2 = appliance.kiosk(KIOSK_PAYMENTS__ALIPAY__TIMEOUT_S="120")  # returns once recovery is over
    assert k2.controller.state.phase is co.Phase.ATTRACT
    assert k2.refund_resumer is not None and k2.refund_resumer.is_alive(), "the refund holds up nothing"
    appliance.sim.stop()  # the waiting request is released (answered or cut off)
    k2.refund_resumer.join(timeout=60)
    assert not k2.refund_resumer.is_alive()
    after = k2.store.payment(payment.out_trade_no)
    assert after is not None and after.status in (PayState.REFUNDING, PayState.REFUNDED)
    assert [e.kind for e in appliance.sim.bank.ledger()].count("refund") <= 1
