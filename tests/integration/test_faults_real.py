"""The fault and out-of-service screens' decisions on the real controller, with the fault coming from
a real part: a real SQLite store (filled up, or holding an unfinished payment), the real scan pipeline
over an image-file camera whose file goes bad, the real sync loop over an HQ client that cannot
connect. Fakes only at the edges: the printer, the gateway, the network client.

Nothing here sleeps: the scanner runs on a virtual clock its own pauses move on, the controller on a
clock the test moves, and every wait is for a positive signal with a bound only a failing test meets.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from drivers.camera.decoders import ZxingDecoder
from drivers.camera.scanner import NO_FRAMES_FAULT, CameraScanner
from drivers.camera.sources import ImageFolderSource
from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import STORE_RETRY_S, CheckoutController, ControllerOptions, wait_until
from kiosk.core import checkout as co
from kiosk.core.availability import UPDATE_HOLD_LONG_S, OutOfService
from kiosk.core.cart import Cart
from kiosk.core.receipt import ReceiptLayout, ReceiptTemplate
from kiosk.ports import (
    CatalogItem,
    CatalogUpdate,
    ChargeResult,
    ChargeStatus,
    Decoded,
    EventResult,
    HqError,
    OutEvent,
    PrinterError,
    PrinterStatus,
)
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore, StoreFull
from kiosk.sync.pusher import OutboxPusher, SyncWorker
from tests.fakes.camera import VirtualClock
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

WX = "134567890123456789"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
SAMPLES = Path(__file__).resolve().parents[2] / "kiosk" / "samples"
BOUND_S = 10.0


class PaperOut:
    """A receipt printer at the hardware edge with no paper: says so, and every print fails."""

    def status(self) -> PrinterStatus:
        return PrinterStatus(online=True, paper="out")

    def is_ready(self) -> bool:
        return False

    def print_receipt(self, order_id: str, layout: ReceiptLayout) -> None:
        raise PrinterError("paper out")

    def close(self) -> None:
        pass


def _controller(
    tmp_path: Path,
    *,
    gateway: FakePaymentGateway | None = None,
    printer: object | None = None,
    clock: FakeClock | None = None,
    e_receipt: bool = False,
    payments_enabled: bool = True,
    background: bool = False,
) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(
            kiosk_id="k1",
            store_name="店",
            payments_enabled=payments_enabled,
            receipt_link=(lambda oid: f"https://hq.example/r/{oid}") if e_receipt else None,
        ),
        store=store,
        gateway=gateway or FakePaymentGateway(),
        printer=printer or FileReceiptPrinter(tmp_path / "receipts"),  # type: ignore[arg-type]
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock or FakeClock(),
        background=background,
    )


def _to_cart(c: CheckoutController) -> None:
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    assert c.state.phase is co.Phase.CART


# --- printer out ------------------------------------------------------------------------------------


def test_paper_out_offers_the_e_receipt_and_the_paid_customer_leaves_with_it(tmp_path: Path) -> None:
    c = _controller(tmp_path, printer=PaperOut(), e_receipt=True)
    _to_cart(c)
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.CART and c.state.printer_offer
    c.dispatch(co.PrinterOfferAnswered(go=True))
    assert c.state.phase is co.Phase.PAYING and c.state.order_id
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.DONE and c.state.notice is co.Notice.RECEIPT_ON_PHONE
    order_id = c.state.order_id
    assert order_id is not None
    assert c.current_receipt_url() == f"https://hq.example/r/{order_id}"
    assert c.last_receipt_layout() is None  # nothing printed: the done screen shows the QR
    assert c.store.paid_payment(order_id) is not None
    assert any("e-receipt" in a.reason and a.order_id == order_id for a in c.alerts)


def test_paper_out_without_hq_still_refuses_to_pay(tmp_path: Path) -> None:
    c = _controller(tmp_path, printer=PaperOut(), e_receipt=False)
    _to_cart(c)
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.PRINTER_NOT_READY
    assert c.store.counts().orders == 0


# --- camera fault -----------------------------------------------------------------------------------


def test_an_image_camera_that_stops_delivering_ends_the_unpaid_payment_on_the_fault_screen(
    tmp_path: Path,
) -> None:
    """GIVEN the real scan pipeline over an image-file camera WHEN its file goes bad on the pay screen
    THEN the controller shows the camera fault, cancels the unpaid order and tells staff."""
    folder = tmp_path / "camera"
    folder.mkdir()
    picture = folder / "frame.png"
    shutil.copy(SAMPLES / "product_6901234560015.png", picture)
    vclock = VirtualClock()
    c = _controller(tmp_path)
    # the file is spoiled after its first reads: the source then gives no frames at all
    source = ImageFolderSource(folder, loop=True)
    scanner = CameraScanner(
        source,
        ZxingDecoder(),
        lambda _codes: None,
        c.on_device_fault,
        fps=15,
        fault_after_s=0.5,
        on_recover=c.on_device_recovered,
        clock=vclock,
        sleep=vclock.sleep,
    )
    _to_cart(c)
    c.dispatch(co.PayTapped())
    order_id = c.state.order_id
    assert c.state.phase is co.Phase.PAYING and order_id is not None
    picture.write_bytes(b"not a picture any more")
    scanner.start()
    try:
        assert wait_until(c, lambda: c.state.phase is co.Phase.NEEDS_HELP, BOUND_S)
    finally:
        scanner.stop()
    assert c.state.notice is co.Notice.CAMERA_FAULT and c.state.detail.startswith(NO_FRAMES_FAULT)
    assert c.store.order(order_id).status == "cancelled"
    assert any("camera fault on the pay screen" in a.reason for a in c.alerts)
    assert not c.payment_camera_on
    c.dispatch(co.StaffResolved())
    assert c.state.phase is co.Phase.CART and not c.state.cart.is_empty


def test_a_camera_fault_waits_for_the_charge_in_flight(tmp_path: Path) -> None:
    """A charge in flight is never cut short by the camera: its answer comes first, then the fault screen."""
    entered, release = threading.Event(), threading.Event()

    class Slow(FakePaymentGateway):
        def pay(self, request):  # type: ignore[no-untyped-def]
            entered.set()
            release.wait(BOUND_S)
            return ChargeResult(ChargeStatus.FAILED, request.out_trade_no, "", "declined")

    c = _controller(tmp_path, gateway=Slow(), background=True)
    try:
        _to_cart(c)
        c.dispatch(co.PayTapped())
        # the printer is asked and the order written on the worker
        assert wait_until(c, lambda: c.state.order_id is not None, BOUND_S)
        c.handle_codes([Decoded("QRCode", WX)])
        assert entered.wait(BOUND_S)
        c.on_device_fault("camera: no frames for 2 s")
        assert wait_until(c, lambda: "camera" in c.device_faults, BOUND_S)
        assert c.state.phase is co.Phase.PAYING and c.state.charging
        release.set()
        assert wait_until(c, lambda: not c.state.charging, BOUND_S)
        c.tick()
        assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.CAMERA_FAULT
    finally:
        release.set()
        c.close()


def test_with_a_hand_scanner_a_camera_fault_does_not_stop_the_payment(tmp_path: Path) -> None:
    """A hand scanner reads the phone's payment code too: the customer pays at it, staff fix the camera."""
    c = _controller(tmp_path)
    c.camera_required = False
    c.on_device_fault("camera: no frames for 2 s")
    c.pump()
    _to_cart(c)
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.PAYING
    c.handle_codes([Decoded("QRCode", WX)])  # shown to the hand scanner
    assert c.state.phase is co.Phase.DONE


def test_pay_with_the_only_camera_down_goes_to_the_fault_screen_without_an_order(tmp_path: Path) -> None:
    c = _controller(tmp_path)
    c.on_device_fault("camera: no frames for 2 s")
    c.pump()
    _to_cart(c)
    c.dispatch(co.PayTapped())
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.CAMERA_FAULT
    assert c.store.counts().orders == 0


# --- out of service ---------------------------------------------------------------------------------


def test_a_kiosk_without_a_gateway_is_out_of_service_and_starts_no_sale(tmp_path: Path) -> None:
    c = _controller(tmp_path, payments_enabled=False)
    assert c.out_of_service is OutOfService.PAYMENT_NOT_CONFIGURED
    c.dispatch(co.StartTapped())
    c.handle_codes([Decoded("EAN13", WATER.barcode or "")])
    assert c.state.phase is co.Phase.ATTRACT and c.state.cart.is_empty


def test_a_full_store_puts_the_kiosk_out_of_service_until_it_takes_writes_again(tmp_path: Path) -> None:
    clock = FakeClock()
    c = _controller(tmp_path, clock=clock)
    store = c.store
    assert isinstance(store, SaleStore)
    pages = store.db.execute_sql("PRAGMA page_count").fetchone()[0]
    store.db.execute_sql(f"PRAGMA max_page_count = {pages}")  # the disk is "full" from here on
    for _ in range(2000):  # fill what free room the last pages had
        _to_cart(c)
        c.dispatch(co.PayTapped())
        if c.out_of_service is not None:
            break
        c.dispatch(co.CancelTapped())
        c.dispatch(co.CancelTapped())
    assert c.out_of_service is OutOfService.STORE_NOT_WRITABLE
    for _ in range(2000):  # and the last bytes: a full disk takes no write at all
        try:
            store.audit("test", "filler", "x" * 200)
        except StoreFull:
            break
    c.dispatch(co.CancelTapped())
    assert c.state.phase is co.Phase.ATTRACT
    c.dispatch(co.StartTapped())
    assert c.state.phase is co.Phase.ATTRACT  # no sale starts
    clock.advance(STORE_RETRY_S)
    c.tick()
    assert c.out_of_service is OutOfService.STORE_NOT_WRITABLE  # still full: still out of service
    store.db.execute_sql("PRAGMA max_page_count = 1073741823")  # room again
    clock.advance(STORE_RETRY_S)
    c.tick()
    assert c.out_of_service is None and "store" not in c.device_faults
    c.dispatch(co.StartTapped())
    assert c.state.phase is co.Phase.CART


def test_a_long_update_hold_turns_into_out_of_service_and_back(tmp_path: Path) -> None:
    clock = FakeClock()
    c = _controller(tmp_path, clock=clock)
    c.update_hold = True
    c.tick()
    assert c.out_of_service is None  # "updating, back in a moment" for a while
    clock.advance(UPDATE_HOLD_LONG_S)
    c.tick()
    assert c.out_of_service is OutOfService.UPDATE_HELD
    c.update_hold = False
    c.tick()
    assert c.out_of_service is None


# --- offline ----------------------------------------------------------------------------------------


class Unplugged:
    """HQ's client at the network edge while the cable is out (or back in)."""

    def __init__(self) -> None:
        self.plugged = False
        self.clock_offset_s = 0.0

    def push_events(self, events: Sequence[OutEvent]) -> list[EventResult]:
        if not self.plugged:
            raise HqError("connection refused", unreachable=True)
        return [EventResult(e.key, "stored") for e in events]

    def fetch_catalog(self, since: int) -> CatalogUpdate | None:
        if not self.plugged:
            raise HqError("connection refused", unreachable=True)
        return None

    def close(self) -> None:
        pass


def test_the_sync_loop_tells_the_controller_when_hq_goes_and_comes_back(tmp_path: Path) -> None:
    c = _controller(tmp_path)
    store = c.store
    assert isinstance(store, SaleStore)
    store.audit("kiosk", "test", "something for HQ")
    hq = Unplugged()
    pusher = OutboxPusher(store, hq)
    sync = SyncWorker(pusher, interval_s=60, on_link=c.set_hq_offline)
    sync.run_pass()
    assert wait_until(c, lambda: c.hq_offline, BOUND_S)
    hq.plugged = True
    pusher.backoff.succeeded()  # the backoff's wait is the link's business, not this test's
    sync.run_pass()
    assert wait_until(c, lambda: not c.hq_offline, BOUND_S)


# --- recovering -------------------------------------------------------------------------------------


def test_no_sale_starts_while_the_last_payment_is_checked(tmp_path: Path) -> None:
    """GIVEN a real store holding a payment a crash left unfinished WHEN the kiosk starts THEN it says it
    is checking the last payment, and no tap, scan or code starts a sale until the gateway answers."""
    asked, answer = threading.Event(), threading.Event()

    class Checking(FakePaymentGateway):
        def query(self, out_trade_no: str) -> ChargeResult:
            asked.set()
            answer.wait(BOUND_S)
            return ChargeResult(ChargeStatus.PAID, out_trade_no, "T9")

    c = _controller(tmp_path, gateway=Checking(), background=True)
    store = c.store
    assert isinstance(store, SaleStore)
    order_id = store.open_order(Cart().add(c.catalog()[0]))
    pending = store.begin_payment(order_id, "wechat", "fake", WX)
    try:
        c.start_recovery()
        assert asked.wait(BOUND_S)
        assert c.state.phase is co.Phase.RECOVERING
        c.dispatch(co.StartTapped())
        c.handle_codes([Decoded("EAN13", WATER.barcode or "")])
        c.handle_codes([Decoded("QRCode", "134567890123456780")])
        c.dispatch(co.PayTapped())
        assert c.state.phase is co.Phase.RECOVERING and c.state.cart.is_empty
        assert c.state.notice is co.Notice.CHECKING_LAST_PAYMENT
        assert store.counts().orders == 1  # only the crashed one
        answer.set()
        assert wait_until(c, lambda: c.state.phase is co.Phase.ATTRACT and not c.busy(), BOUND_S)
        assert store.order(pending.order_id).receipt_printed
    finally:
        answer.set()
        c.close()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_the_recovering_screen_says_we_check_your_last_payment(language: str) -> None:
    from kiosk.i18n import t

    wanted = {"zh_CN": "正在核对您的上一笔付款", "en": "We are checking your last payment"}
    assert t("recovering.wait", language) == wanted[language]
