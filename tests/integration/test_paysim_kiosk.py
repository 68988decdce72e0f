"""A whole checkout through the controller with ``payments.gateway = "wechat+alipay"``: settings ->
``build_gateway`` -> router -> the real protocols -> the simulator; each code goes to its channel,
every state is committed, and a payment left open is settled at the next start. The kiosk's timers run
on an injected clock (WeChat Pay's 15 s reverse window included), so nothing here waits in real time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.cart import Cart
from kiosk.core.codes import CodeKind
from kiosk.core.payment import PayState
from kiosk.core.receipt import ReceiptTemplate
from kiosk.core.records import SaleError
from kiosk.payments.service import build_gateway, recover
from kiosk.ports import CatalogItem, ChargeRequest, ChargeStatus
from kiosk.settings import Settings, load_settings
from kiosk.store.db import open_store
from kiosk.store.models import Order, Payment
from kiosk.store.sales import SaleStore
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator
from tests.fakes.clock import FakeClock

WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("kioskkeys"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(creds: SimCredentials, clock: FakeClock) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds, password_delay_s=2.0, clock=clock.monotonic) as running:
        yield running


def kiosk_settings(tmp_path: Path, creds: SimCredentials, url: str) -> Settings:
    config = tmp_path / "kiosk.toml"
    text = creds.kiosk_toml(url).replace(
        "[payments]\n", "[payments]\nmax_wait_s = 20\npoll_interval_s = 1\n", 1
    )
    config.write_text(text)
    config.chmod(0o600)  # it holds the WeChat Pay API key
    return load_settings(config, environ={})


def controller(tmp_path: Path, settings: Settings, clock: FakeClock) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=build_gateway(settings.payments, store.payment_channel),
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=False,
    )


def pay(c: CheckoutController, kind: CodeKind, code: str) -> co.Checkout:
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    c.dispatch(co.PaymentCodeScanned(kind, code))
    return c.state


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (CodeKind.WECHAT, "134567890123451234"),
        (CodeKind.ALIPAY, "2834567890121234"),
        (CodeKind.WECHAT, "134567890123459001"),
    ],
)
def test_each_code_is_charged_once_through_its_own_channel(
    sim: GatewaySimulator, creds: SimCredentials, clock: FakeClock, tmp_path: Path, kind: CodeKind, code: str
) -> None:
    c = controller(tmp_path, kiosk_settings(tmp_path, creds, sim.url), clock)
    state = pay(c, kind, code)
    assert state.phase in (co.Phase.PRINTING, co.Phase.DONE), state
    [entry] = sim.bank.ledger()
    assert entry.channel == kind.value
    payment = Payment.get(Payment.out_trade_no == entry.out_trade_no)
    assert (payment.status, payment.channel, payment.transaction_id) == (
        "paid",
        kind.value,
        entry.transaction_id,
    )


def test_a_declined_code_is_recorded_and_never_resubmitted(
    sim: GatewaySimulator, creds: SimCredentials, clock: FakeClock, tmp_path: Path
) -> None:
    c = controller(tmp_path, kiosk_settings(tmp_path, creds, sim.url), clock)
    state = pay(c, CodeKind.ALIPAY, "2834567890129002")
    assert state.phase is co.Phase.PAYING and state.notice is co.Notice.PAYMENT_DECLINED
    c.dispatch(co.PaymentCodeScanned(CodeKind.ALIPAY, "2834567890129002"))
    assert [p.status for p in Payment.select()] == ["failed"]  # the same code was not sent again
    assert sim.bank.ledger() == []


def test_a_payment_left_open_by_a_crash_is_settled_at_the_next_start(
    sim: GatewaySimulator, creds: SimCredentials, clock: FakeClock, tmp_path: Path
) -> None:
    """GIVEN the kiosk died after the Alipay gateway took the money, and another payment never reached
    it WHEN the kiosk starts THEN the first is recorded as paid and the second cancelled."""
    settings = kiosk_settings(tmp_path, creds, sim.url)
    c = controller(tmp_path, settings, clock)
    store = c.store
    product = c.catalog()[0]
    first = store.open_order(Cart().add(product))
    p1 = store.begin_payment(first, "alipay", "alipay", "2834567890121234")
    assert (
        c.gateway.pay(ChargeRequest(p1.out_trade_no, "alipay", "2834567890121234", p1.amount_fen, "x")).status
        is ChargeStatus.PAID
    )
    second = store.open_order(Cart().add(product))
    p2 = store.begin_payment(second, "alipay", "alipay", "2834567890125678")
    third = store.open_order(Cart().add(product))  # the kiosk died before this one's payment began
    report = recover(store, c.gateway, clock)
    otn1, otn2 = p1.out_trade_no, p2.out_trade_no
    assert sorted(report.resolved) == sorted([otn1, otn2])
    assert report.outcomes == {otn1: "paid", otn2: "cancelled"}
    assert report.paid_orders == [first] and report.closed_orders == [third]
    assert [Order.get_by_id(o).status for o in (first, second, third)] == ["paid", "cancelled", "cancelled"]
    assert [e.out_trade_no for e in sim.bank.ledger()] == [otn1]


def test_staff_void_a_stuck_payment_through_the_same_state_machine(
    sim: GatewaySimulator, creds: SimCredentials, clock: FakeClock, tmp_path: Path
) -> None:
    """GIVEN a WeChat Pay payment left "unknown" while the customer never entered the password
    WHEN staff void it from maintenance mode THEN it is reversed, the order cancelled, and audited."""
    from kiosk.payments.service import settle_payment
    from kiosk.store.models import AuditLog

    settings = kiosk_settings(tmp_path, creds, sim.url)
    c = controller(tmp_path, settings, clock)
    order_id = c.store.open_order(Cart().add(c.catalog()[0]))
    payment = c.store.begin_payment(order_id, "wechat", "wechat", "134567890123459004")
    otn = payment.out_trade_no
    assert (
        c.gateway.pay(ChargeRequest(otn, "wechat", "134567890123459004", payment.amount_fen, "x")).status
        is ChargeStatus.USER_PAYING
    )
    c.store.update_payment(otn, PayState.UNKNOWN, "staff were called")
    # the pay call is moments old: WeChat Pay's rule says reverse no sooner than 15 s after it
    result = settle_payment(c.store, c.gateway, otn, None, "staff:alice", clock)
    assert result.status is ChargeStatus.CANCELLED
    assert clock.slept and 10 < sum(clock.slept) <= 15
    assert (Payment.get(Payment.out_trade_no == otn).status, Order.get_by_id(order_id).status) == (
        "cancelled",
        "cancelled",
    )
    assert AuditLog.get(AuditLog.action == "settled_cancelled").actor == "staff:alice"
    assert sim.bank.query(otn).status is ChargeStatus.CANCELLED
    with pytest.raises(SaleError, match="already final"):
        settle_payment(c.store, c.gateway, otn, None, "staff:alice", clock)
