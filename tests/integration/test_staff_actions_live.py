"""Maintenance mode's staff actions end to end: a real store and checkout, the real WeChat Pay adapter
against the gateway simulator's protocol side, and a real HQ on 127.0.0.1 that the outbox pusher
syncs to. The simulator's ledger and HQ's tables are the judges: a refund from maintenance mode
reaches the gateway once and HQ once, and is audited; the Z-report prints, and its audit event and
HQ's own day totals agree with the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hq_fixtures import LiveHq, running_hq
from kiosk_enrolment import enrol_kiosk

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from hq.db import connected
from hq.models import AuditEvent, Refund, Sale
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.codes import CodeKind
from kiosk.core.payment import RefundRules
from kiosk.core.receipt import ReceiptTemplate
from kiosk.maintenance.actions import SHIFT_CLOSE, Actor, StaffActions
from kiosk.maintenance.roles import Role
from kiosk.payments.service import build_gateway
from kiosk.ports import CatalogItem
from kiosk.settings import load_settings
from kiosk.store.db import open_store
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import load_credentials
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import OutboxPusher
from kiosk.sync.signed import HqSigner
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator
from tests.fakes.clock import FakeClock

KIOSK = "kiosk-staff"
LUNCH = CatalogItem("L", "便当", "Lunch box", 1990, "6901234567892", "food")
MANAGER = Actor("7", "Li", Role.MANAGER)
FAST = RefundRules(retry_interval_s=0.05, give_up_after_s=5.0, max_tries=4)


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("staffkeys"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(creds: SimCredentials, clock: FakeClock) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds, password_delay_s=2.0, clock=clock.monotonic) as running:
        yield running


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


class Wall:
    """The kiosk's wall clock for the store and the staff actions: set to a local time by the test,
    then moving with the FakeClock (so a payment's wait for the customer's password takes time)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.base = datetime.now(UTC)
        self.mono = clock.monotonic()

    def set(self, local: datetime) -> None:
        self.base, self.mono = local.astimezone(UTC), self.clock.monotonic()

    def aware(self) -> datetime:
        return self.base + timedelta(seconds=self.clock.monotonic() - self.mono)

    def naive(self) -> datetime:
        return self.aware().replace(tzinfo=None)


class Kiosk:
    def __init__(
        self,
        tmp_path: Path,
        creds: SimCredentials,
        sim: GatewaySimulator,
        hq: LiveHq,
        clock: FakeClock,
        wall: Wall | None = None,
    ):
        config = tmp_path / "kiosk.toml"
        config.write_text(creds.kiosk_toml(sim.url))
        config.chmod(0o600)
        settings = load_settings(config, environ={})
        now: dict[str, Callable[[], datetime]] = {} if wall is None else {"now": wall.naive}
        self.store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), KIOSK, **now)
        self.store.replace_catalog([LUNCH])
        gateway = build_gateway(settings.payments, self.store.payment_channel)
        self.printer = FileReceiptPrinter(tmp_path / "receipts")
        self.controller = CheckoutController(
            options=ControllerOptions(kiosk_id=KIOSK, store_name="店"),
            store=self.store,
            gateway=gateway,
            printer=self.printer,
            indicators=NullIndicators(),
            template=ReceiptTemplate.default(),
            clock=clock,
            background=False,
        )
        c = load_credentials(enrol_kiosk(hq, tmp_path, KIOSK))
        self.client = HttpHqClient(hq.url, HqSigner(c.kiosk_id, c.secret), timeout_s=5)
        self.pusher = OutboxPusher(self.store, self.client)
        self.staff = StaffActions(
            store=self.store,
            gateway=gateway,
            printer=self.printer,
            checkout=self.controller,
            reprints=ReprintStore(self.store.db),
            kiosk_id=KIOSK,
            hq_totals=lambda day: self.client.fetch_day_totals(day, "Asia/Shanghai"),
            refund_rules=FAST,
            clock=clock,
            **({} if wall is None else {"now_utc": wall.aware}),
        )
        self._n = 0

    def sell(self) -> str:
        self._n += 1
        c = self.controller
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        c.dispatch(co.PayTapped())
        order_id = c.state.order_id
        assert order_id
        c.dispatch(co.PaymentCodeScanned(CodeKind.WECHAT, f"1345678901234{self._n:05d}"))
        assert c.state.phase is co.Phase.DONE, c.state
        c.dispatch(co.TimedOut())
        return order_id

    def sync(self) -> None:
        report = self.pusher.push_once()
        assert report.error == "" and report.parked == 0 and report.pending == 0, report

    def close(self) -> None:
        self.client.close()
        self.store.db.close()


@pytest.fixture
def kiosk(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator, hq: LiveHq, clock: FakeClock
) -> Iterator[Kiosk]:
    k = Kiosk(tmp_path, creds, sim, hq, clock)
    yield k
    k.close()


def sim_refunds(sim: GatewaySimulator) -> list[tuple[str, int]]:
    return [(e.out_trade_no, e.amount_fen) for e in sim.bank.ledger() if e.kind == "refund"]


@pytest.mark.parametrize("amount", [None, 500], ids=["full", "partial"])
def test_a_refund_from_maintenance_mode_reaches_the_gateway_once_and_hq_once_and_is_audited(
    kiosk: Kiosk, sim: GatewaySimulator, amount: int | None
) -> None:
    order_id = kiosk.sell()
    kiosk.sync()
    outcome = kiosk.staff.refund(MANAGER, order_id, amount)
    expected = 1990 if amount is None else amount
    assert (outcome.status, outcome.amount_fen) == ("refunded", expected)
    assert sim_refunds(sim) == [(outcome.out_trade_no, expected)]
    kiosk.sync()
    kiosk.sync()  # nothing left: a second push sends nothing again
    with connected():
        [row] = Refund.select().where(Refund.kiosk_id == KIOSK)
        assert (row.out_refund_no, row.amount_fen, row.sale.order_id) == (
            outcome.out_refund_no,
            expected,
            order_id,
        )
        audits = list(
            AuditEvent.select().where((AuditEvent.kiosk_id == KIOSK) & (AuditEvent.action == "refund"))
        )
    [audit] = audits
    detail = json.loads(audit.detail)
    assert audit.actor == "staff:7"
    assert detail["before"] == {"status": "paid", "refunded_fen": 0}
    assert detail["after"]["refunded_fen"] == expected
    assert detail["after"]["status"] == ("refunded" if amount is None else "paid")


def test_the_z_report_prints_reconciles_with_hq_and_reaches_hq_as_an_audit_event(
    kiosk: Kiosk, sim: GatewaySimulator
) -> None:
    first = kiosk.sell()
    kiosk.sell()
    kiosk.staff.refund(MANAGER, first, 300)
    before_sync = kiosk.staff.z_report()
    assert before_sync.hq_agrees is False and before_sync.notes == ("hq_waiting_for_sync",)
    kiosk.sync()
    report = kiosk.staff.close_shift(MANAGER)
    assert (report.sales_count, report.sales_fen, report.refunds_fen) == (2, 3980, 300)
    assert report.hq_day == report.ledger_day and report.hq_agrees is True
    text = kiosk.printer.last_text or ""
    assert "交班报表 Z-REPORT" in text and "与总部一致" in text and "￥39.80" in text
    kiosk.sync()
    with connected():
        [event] = AuditEvent.select().where(
            (AuditEvent.kiosk_id == KIOSK) & (AuditEvent.action == SHIFT_CLOSE)
        )
        assert Sale.select().where(Sale.kiosk_id == KIOSK).count() == 2
    sent = json.loads(event.detail)
    assert event.actor == "staff:7"
    assert sent["sales_fen"] == 3980 and sent["refunds_fen"] == 300 and sent["hq_agrees"] is True
    assert sent["printed"] is True and sent["by_channel"] == {"wechat": {"count": 2, "fen": 3980}}


def test_hq_answers_only_the_signing_kiosks_own_totals(kiosk: Kiosk, hq: LiveHq, tmp_path: Path) -> None:
    kiosk.sell()
    kiosk.sync()
    today = kiosk.staff.z_report().day
    mine = kiosk.client.fetch_day_totals(date.fromisoformat(today), "Asia/Shanghai")
    assert (mine.sales_count, mine.sales_fen) == (1, 1990)
    other = load_credentials(enrol_kiosk(hq, tmp_path / "other", "kiosk-other"))
    client = HttpHqClient(hq.url, HqSigner(other.kiosk_id, other.secret), timeout_s=5)
    try:
        theirs = client.fetch_day_totals(date.fromisoformat(today), "Asia/Shanghai")
    finally:
        client.close()
    assert (theirs.sales_count, theirs.sales_fen) == (0, 0)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_sale_paid_after_midnight_is_the_next_days_on_the_z_report_and_at_hq_alike(
    tmp_path: Path, creds: SimCredentials, sim: GatewaySimulator, hq: LiveHq, clock: FakeClock
) -> None:
    """GIVEN a sale opened at 23:59:59 and paid after midnight (the customer confirmed on the phone),
    and a sale of the evening refunded after midnight WHEN the shift is closed at 00:10 THEN the
    kiosk's day and HQ's day agree: the late sale and the refund are the new day's, the evening sale
    the old day's, as HQ and the channels' statements count them."""
    wall = Wall(clock)
    k = Kiosk(tmp_path, creds, sim, hq, clock, wall)
    try:
        day1, day2 = date(2026, 3, 14), date(2026, 3, 15)
        wall.set(datetime(2026, 3, 14, 21, 0, tzinfo=SHANGHAI))
        evening = k.sell()
        wall.set(datetime(2026, 3, 14, 23, 59, 50, tzinfo=SHANGHAI))
        begin = k.store.begin_payment

        def begun_before_midnight(*args: str) -> object:
            started = begin(*args)  # type: ignore[arg-type]
            wall.set(datetime(2026, 3, 15, 0, 0, 5, tzinfo=SHANGHAI))  # the gateway answers after midnight
            return started

        k.store.begin_payment = begun_before_midnight  # type: ignore[assignment,method-assign]
        late = k.sell()
        k.store.begin_payment = begin  # type: ignore[method-assign]
        opened, paid = k.store.order(late).created_at, k.store.order(late).paid_at
        assert paid is not None
        assert (opened.astimezone(SHANGHAI).date(), paid.astimezone(SHANGHAI).date()) == (day1, day2)
        wall.set(datetime(2026, 3, 15, 0, 5, tzinfo=SHANGHAI))
        k.staff.refund(MANAGER, evening)
        k.sync()
        wall.set(datetime(2026, 3, 15, 0, 10, tzinfo=SHANGHAI))
        report = k.staff.close_shift(MANAGER)
        assert report.day == "2026-03-15"
        assert report.ledger_day.as_json() == {
            "sales_count": 1,
            "sales_fen": 1990,
            "refunds_count": 1,
            "refunds_fen": 1990,
        }
        assert report.hq_day == report.ledger_day and report.hq_agrees is True
        # the shift (from the day's start) holds the late sale by its paid time and the refund
        assert (report.sales_count, report.refunds_count) == (1, 1)
        before = k.client.fetch_day_totals(day1, "Asia/Shanghai")
        assert (before.sales_count, before.sales_fen, before.refunds_count) == (1, 1990, 0)
        with connected():
            sales = {s.order_id: s.paid_at for s in Sale.select().where(Sale.kiosk_id == KIOSK)}
        assert set(sales) == {evening, late}
    finally:
        k.close()
