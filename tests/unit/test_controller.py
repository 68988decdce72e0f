"""The controller on a real SQLite store, with the gateway faked at the network edge.

``background=False`` runs charges and receipts inline, so each test reads like the customer's taps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions, wait_until
from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import CodeKind
from kiosk.core.payment import ChannelRules, PayState
from kiosk.core.receipt import ReceiptTemplate
from kiosk.core.records import SaleCounts
from kiosk.payments.service import recover
from kiosk.ports import CatalogItem, ChargeRequest, ChargeResult, ChargeStatus, Decoded, PaymentGateway
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

WX = "134567890123456789"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


def _controller(
    tmp_path: Path,
    gateway: PaymentGateway,
    clock: FakeClock | None = None,
    printer_dir: Path | None = None,
    payments_enabled: bool = True,
) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(
            kiosk_id="k1",
            store_name="店",
            idle_timeout_s=60,
            done_timeout_s=5,
            payments_enabled=payments_enabled,
        ),
        store=store,
        gateway=gateway,
        printer=FileReceiptPrinter(printer_dir or tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock or FakeClock(),
        background=False,
    )


def _to_paying(c: CheckoutController) -> None:
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.PAYING and c.state.order_id


def test_sale_paid_and_printed(tmp_path: Path) -> None:
    gw = FakePaymentGateway()
    c = _controller(tmp_path, gw)
    _to_paying(c)
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.DONE
    assert "矿泉水" in c.last_receipt_text() and "￥2.00" in c.last_receipt_text()
    assert [m for m, _ in gw.calls] == ["pay"]
    # the sale and its payment's end wait for HQ
    assert c.store.counts() == SaleCounts(orders=1, paid=1, printed=1, outbox_pending=2)


def test_product_scan_looks_up_the_catalog_and_garbage_is_ignored(tmp_path: Path) -> None:
    c = _controller(tmp_path, FakePaymentGateway())
    c.handle_codes([Decoded("QRCode", "http://example.com/\x00"), Decoded("EAN13", "6901234567892")])
    assert c.state.phase is co.Phase.CART and c.state.cart.qty_of("w") == 1
    c.handle_codes([Decoded("EAN13", "6901234567885")])  # valid check digit, not in the catalog
    assert c.state.notice is co.Notice.UNKNOWN_PRODUCT


def test_a_crashing_gateway_adapter_calls_staff_and_leaves_it_for_recovery(tmp_path: Path) -> None:
    gw = FakePaymentGateway(pay=[RuntimeError("bug in the adapter")])
    c = _controller(tmp_path, gw)
    _to_paying(c)
    c.dispatch(co.PaymentCodeScanned(CodeKind.WECHAT, WX))
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.PAYMENT_UNKNOWN
    [pending] = c.store.unfinished_payments()
    gw2 = FakePaymentGateway(query=[ChargeResult(ChargeStatus.PAID, pending.out_trade_no, "T9")])
    report = recover(c.store, gw2, FakeClock())
    assert report.resolved == [pending.out_trade_no]
    assert report.paid_orders == [pending.order_id]  # its receipt never printed
    paid = c.store.payment(pending.out_trade_no)
    assert paid is not None and paid.status is PayState.PAID


def test_receipt_failure_after_payment_keeps_the_sale(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    c = _controller(tmp_path, FakePaymentGateway(), printer_dir=blocker / "receipts")
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped(printer_ready=True))
    # the file printer reports "not ready" for a folder it cannot write: the kiosk refuses to charge
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.PRINTER_NOT_READY
    c.dispatch(co.StaffResolved())
    assert c.state.phase is co.Phase.CART and not c.state.cart.is_empty


def test_idle_and_done_timers(tmp_path: Path) -> None:
    clock = FakeClock()
    c = _controller(tmp_path, FakePaymentGateway(), clock)
    c.dispatch(co.StartTapped())
    clock.now += 59
    c.tick()
    assert c.state.phase is co.Phase.CART and c.state.still_there_s == 0
    clock.now += 2  # 61 s quiet: the cart asks "still there?" and counts down from 20 s
    c.tick()
    assert c.state.phase is co.Phase.CART and c.state.still_there_s == 19
    c.dispatch(co.StillHereTapped())  # "continue": the cart stays and the quiet time starts again
    assert c.state.still_there_s == 0
    clock.now += 70
    c.tick()
    assert c.state.phase is co.Phase.CART and c.state.still_there_s == 10
    clock.now += 10
    c.tick()
    assert c.state.phase is co.Phase.ATTRACT and c.state.still_there_s == 0
    _to_paying(c)
    c.handle_codes([Decoded("Code128", WX)])
    assert c.state.phase is co.Phase.DONE
    clock.now += 4.9
    c.tick()
    assert c.state.phase is co.Phase.DONE
    clock.now += 0.2
    c.tick()
    assert c.state.phase is co.Phase.ATTRACT


def test_language_and_listeners(tmp_path: Path) -> None:
    c = _controller(tmp_path, FakePaymentGateway())
    seen: list[co.Phase] = []
    c.subscribe(lambda st: seen.append(st.phase))
    c.dispatch(co.StartTapped())
    c.set_language("en")
    assert c.language == "en" and seen == [co.Phase.CART, co.Phase.CART]
    with pytest.raises(ValueError):
        c.set_language("fr")


def test_samples_only_in_the_demo(tmp_path: Path) -> None:
    c = _controller(tmp_path, FakePaymentGateway())
    assert c.sample_codes() == []
    with pytest.raises(ValueError, match="no sample code"):
        c.hold_up_sample("wechat_ok")


def test_product_in_catalog_matches_store(tmp_path: Path) -> None:
    c = _controller(tmp_path, FakePaymentGateway())
    assert c.catalog() == [Product("w", "矿泉水", "Water", 200, "6901234567892", "drinks")]


def test_a_code_shown_again_within_a_minute_never_reaches_the_gateway(tmp_path: Path) -> None:
    clock = FakeClock()
    gw = FakePaymentGateway()
    c = _controller(tmp_path, gw, clock)
    _to_paying(c)
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.DONE
    c.dispatch(co.TimedOut())
    _to_paying(c)
    clock.now += 30
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.PAYING and c.state.notice is co.Notice.CODE_ALREADY_USED
    assert [m for m, _ in gw.calls] == ["pay"]


def test_device_faults_are_told_to_staff_and_cleared(tmp_path: Path) -> None:
    c = _controller(tmp_path, FakePaymentGateway())
    c.on_device_fault("camera: no frames for 2 s")
    assert c.device_faults == {}  # it arrives on the dispatching thread
    c.pump()
    assert c.device_faults == {"camera": "camera: no frames for 2 s"}
    assert c.alerts[-1].reason == "camera: no frames for 2 s"
    c.on_device_recovered("camera: frames again")
    c.pump()
    assert c.device_faults == {}


def test_a_kiosk_without_a_gateway_is_out_of_service_and_opens_no_order(tmp_path: Path) -> None:
    """An uncommissioned kiosk says "out of service" before a cart is built, not at the pay button
    (``kiosk.core.availability``); the checkout's own refusal at Pay stays as the last guard."""
    from kiosk.core.availability import OutOfService

    gw = FakePaymentGateway()
    c = _controller(tmp_path, gw, payments_enabled=False)
    assert c.out_of_service is OutOfService.PAYMENT_NOT_CONFIGURED
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.ATTRACT and c.state.cart.is_empty
    assert c.store.counts().orders == 0 and gw.calls == []


def test_a_user_paying_charge_is_queried_on_the_channel_timers_of_the_injected_clock(tmp_path: Path) -> None:
    """GIVEN a gateway that asks for the password, then reports paid
    WHEN the code is charged
    THEN the query waits the gateway's own interval on the injected clock, not on real time."""
    clock = FakeClock()
    gw = FakePaymentGateway(
        pay=[ChargeStatus.USER_PAYING],
        query=[ChargeStatus.USER_PAYING, ChargeStatus.PAID],
        rules=ChannelRules("fake", query_interval_s=0.5, give_up_after_s=5.0),
    )
    c = _controller(tmp_path, gw, clock)
    _to_paying(c)
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.DONE
    assert [m for m, _ in gw.calls] == ["pay", "query", "query"]
    assert clock.slept == [0.5, 0.5]


def test_start_up_recovery_settles_a_payment_left_open_and_prints_its_receipt(tmp_path: Path) -> None:
    gw = FakePaymentGateway(pay=[RuntimeError("crash stand-in: the kiosk died during the pay call")])
    c = _controller(tmp_path, gw)
    _to_paying(c)
    c.handle_codes([Decoded("QRCode", WX)])
    [pending] = c.store.unfinished_payments()
    c.dispatch(co.StaffResolved())
    c.gateway = FakePaymentGateway(query=[ChargeResult(ChargeStatus.PAID, pending.out_trade_no, "T7")])
    c.start_recovery()
    assert c.state.phase is co.Phase.ATTRACT
    assert c.store.order(pending.order_id).receipt_printed
    assert any(pending.order_id in a.reason for a in c.alerts)


def _background(
    store: SaleStore, tmp_path: Path, gateway: FakePaymentGateway, clock: FakeClock
) -> CheckoutController:
    """A controller with its workers on threads, as ``kiosk run`` has it."""
    return CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=gateway,
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=True,
    )


def test_stopping_parks_a_charge_in_flight_and_the_next_start_settles_it(tmp_path: Path) -> None:
    """GIVEN a charge whose pay call has not come back WHEN the kiosk stops (SIGTERM) THEN stopping
    waits only its bounded time, the payment stays committed as "submitted", and the next start's
    recovery settles it with the gateway."""
    import threading

    entered, release = threading.Event(), threading.Event()

    class HangingGateway(FakePaymentGateway):
        def pay(self, request: ChargeRequest) -> ChargeResult:
            entered.set()
            release.wait(30)
            return super().pay(request)

    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    c = _background(store, tmp_path, HangingGateway(), FakeClock())
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    # the printer is asked and the order opened on the worker; their answers come back through pump
    assert wait_until(c, lambda: c.state.order_id is not None, 10), "the order was never opened"
    c.handle_codes([Decoded("QRCode", WX)])
    assert entered.wait(10), "the charge never reached the gateway"
    try:
        assert c.close(timeout_s=0.1) is False  # parked: the pay call is still out
        [parked] = store.unfinished_payments()
        assert parked.status is PayState.SUBMITTED
        # the next start (here while the old worker is still stuck, as after a kill)
        report = recover(
            store,
            FakePaymentGateway(query=[ChargeResult(ChargeStatus.PAID, parked.out_trade_no, "T1")]),
            FakeClock(),
        )
        assert report.resolved == [parked.out_trade_no]
    finally:
        release.set()
        # the parked charge ends here, not after the test: its last log line went to a closed stream
        assert c._worker is not None
        assert c._worker.join(30), "the parked charge never ended"


class _StuckThread:
    """A worker thread stuck in its job: each join waits out all the time it is given, on the
    controller's clock (which it moves on by that much), and the thread is still alive after."""

    def __init__(self, clock: FakeClock, waits: list[float]) -> None:
        self.clock, self.waits = clock, waits

    def join(self, timeout: float | None = None) -> None:
        assert timeout is not None, "an unbounded join at shutdown"
        self.waits.append(timeout)
        self.clock.advance(timeout)

    def is_alive(self) -> bool:
        return True


def test_stopping_waits_for_all_the_workers_within_one_timeout_not_one_each(tmp_path: Path) -> None:
    """GIVEN the charge, store and staff workers each stuck in a job
    WHEN  the kiosk stops with stop_timeout_s = 2
    THEN  the waits add up to 2 s, not 2 s per worker (three in turn took 6 s), and close() says
          something was left running."""
    clock = FakeClock()
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    c = _background(store, tmp_path, FakePaymentGateway(), clock)
    waits: list[float] = []
    workers = [c._worker, c._staff_worker, c._store_worker]
    for worker in workers:
        assert worker is not None
        worker._thread = _StuckThread(clock, waits)  # type: ignore[assignment]
    started = clock.monotonic()
    assert c.close(timeout_s=2.0) is False
    assert len(waits) == 3
    assert sum(waits) == pytest.approx(2.0)
    assert clock.monotonic() - started == pytest.approx(2.0)


def test_stopping_stuck_workers_parks_their_jobs_and_they_end_once_free(tmp_path: Path) -> None:
    """The same with real threads: close() returns with each worker still in its job (no job queued
    behind it runs), and each thread ends once its job does."""
    import threading

    release = threading.Event()
    ran_after: list[str] = []
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    c = _background(store, tmp_path, FakePaymentGateway(), FakeClock())
    workers = [c._worker, c._staff_worker, c._store_worker]
    inside = [threading.Event() for _ in workers]
    for worker, entered in zip(workers, inside, strict=True):
        assert worker is not None
        worker.submit(lambda e=entered: (e.set(), release.wait(30)))
        worker.submit(lambda w=worker: ran_after.append(w.name))
    try:
        assert all(e.wait(10) for e in inside)
        assert c.close(timeout_s=0.05) is False
    finally:
        release.set()
    for worker in workers:
        assert worker is not None and worker._thread is not None
        worker._thread.join(10)
        assert not worker._thread.is_alive()
    assert ran_after == []  # queued behind a stuck job at shutdown: dropped, not run


def test_a_sale_paid_just_before_a_crash_gets_its_receipt_at_the_next_start(tmp_path: Path) -> None:
    """GIVEN a sale committed as paid whose receipt never printed (the kiosk died in between), and one
    whose receipt is already in the reprint queue WHEN the kiosk starts THEN the first is printed and
    staff are told; the second is left to the reprint queue (never printed twice)."""
    from kiosk.store.reprints import ReprintStore

    c = _controller(tmp_path, FakePaymentGateway())
    store = c.store
    assert isinstance(store, SaleStore)
    orders = []
    for code in (WX, "104567890123456789"):
        order_id = store.open_order(Cart().add(c.catalog()[0]))
        payment = store.begin_payment(order_id, "wechat", "fake", code)
        store.record_paid(payment.out_trade_no, "T")
        orders.append(order_id)
    ReprintStore(store.db).enqueue(orders[1], "{}", held=True, reason="printer jammed")
    c.start_recovery()
    assert c.state.phase is co.Phase.ATTRACT
    assert store.order(orders[0]).receipt_printed
    assert not store.order(orders[1]).receipt_printed
    assert [a.order_id for a in c.alerts] == [orders[0]]


def test_maintenance_work_runs_off_the_ui_thread_and_answers_on_it(tmp_path: Path) -> None:
    """A PIN's argon2 hashes, a refund at the gateway: never on the thread that draws the screen."""
    import threading

    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    c = CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
    )
    ui = threading.current_thread().name
    seen: dict[str, str] = {}
    answers: list[object] = []
    errors: list[Exception] = []

    def work() -> str:
        seen["work"] = threading.current_thread().name
        c.dispatch(co.StartTapped())  # a staff action that steps the checkout, from the worker
        seen["phase_in_work"] = c.state.phase.value
        return "answer"

    def done(result: str) -> None:
        seen["done"] = threading.current_thread().name
        answers.append(result)

    def boom() -> str:
        raise OSError("usb stick pulled")

    try:
        c.maintenance_submit(work, done, errors.append)
        c.maintenance_submit(boom, done, errors.append)
        for _ in range(200):  # bounded: each pump waits for posted work, at most 0.1 s
            c.pump(timeout=0.1)
            if answers and errors and c.state.phase is co.Phase.CART:
                break
    finally:
        c.close()
    assert seen["work"] == "kiosk-staff" != ui
    assert seen["done"] == ui and answers == ["answer"]
    assert seen["phase_in_work"] == "attract"  # the event was handed to the UI thread, not run there
    assert c.state.phase is co.Phase.CART
    assert [type(e) for e in errors] == [OSError]
