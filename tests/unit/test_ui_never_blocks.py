"""The calls the screens make return while the outside world stalls (issue 12, "Responsive").

The REAL controller on a real SQLite store, with a worker thread as in the kiosk; only the edges are
fakes, and each one that stalls says so ("I am blocked") and then holds until the test releases it.
The test thread plays the UI thread: while an edge is held, it makes the calls a screen makes, and
runs "frames" (``tick`` and ``pump``, what each Kivy frame does). Had any of those calls reached the
stalled edge, it would still be held there and the test would never reach its ``release``: the fake
gives up after ``BOUND_S`` and records that it was held that long, which fails the test. No call is
timed; a passing test never waits for the bound.

The camera's half is the real scan pipeline: a decoder that stalls while frames keep reaching the
preview, and a camera that stalls while the preview still has its newest frame.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from drivers.camera.scanner import CameraScanner
from drivers.camera.types import Decoded, Frame
from drivers.gpio.indicators import NullIndicators
from kiosk.controller import CheckoutController, ControllerOptions, wait_until
from kiosk.core import checkout as co
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway
from tests.fakes.stalls import BOUND_S, Stall, StallingGateway, StallingPrinter

FRAMES = 5
WX = "134567890123456789"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


def _controller(tmp_path: Path, printer: StallingPrinter, gateway: FakePaymentGateway) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=gateway,
        printer=printer,
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=True,
    )


def _frames(c: CheckoutController, n: int = FRAMES) -> None:
    """What the screen asks the controller each frame, ``n`` times: every call must return."""
    for _ in range(n):
        c.pump()
        c.tick()
        c.catalog()
        c.latest_frame()
        c.last_receipt_layout()
        c.current_receipt_url()
        c.payment_in_flight()
        _ = c.state, c.language, c.pay_checking, c.busy()


def test_pay_does_not_wait_for_the_printer_status(tmp_path: Path) -> None:
    printer = StallingPrinter(tmp_path / "receipts")
    c = _controller(tmp_path, printer, FakePaymentGateway())
    try:
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        stall = printer.stall = Stall()
        c.dispatch(co.PayTapped())  # before the fix: the UI thread sat here in is_ready()
        assert stall.blocked.wait(BOUND_S), "the printer was never asked"
        assert c.pay_checking, "the screen is not told that it must wait"
        c.dispatch(co.PayTapped())  # a second tap while waiting is ignored, not queued
        _frames(c)
        assert c.state.phase is co.Phase.CART
        stall.release.set()
        assert wait_until(c, lambda: c.state.order_id is not None, BOUND_S)
        assert not stall.held_to_bound
        assert c.state.phase is co.Phase.PAYING and not c.pay_checking
    finally:
        if printer.stall is not None:
            printer.stall.release.set()
        c.close(1.0)


def test_a_charge_held_at_the_gateway_leaves_the_screen_running(tmp_path: Path) -> None:
    stall = Stall()
    printer = StallingPrinter(tmp_path / "receipts")
    c = _controller(tmp_path, printer, StallingGateway(stall))
    try:
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        c.dispatch(co.PayTapped())
        assert wait_until(c, lambda: c.state.order_id is not None, BOUND_S)
        c.handle_codes([Decoded("QRCode", WX)])
        assert stall.blocked.wait(BOUND_S), "the charge never reached the gateway"
        _frames(c)
        c.set_language("en")  # the receipt's language is written on the worker, behind the charge
        c.dispatch(co.CancelTapped())  # refused while charging; must not wait either
        _frames(c)
        assert c.state.charging and c.language == "en"
        order_id = c.state.order_id
        assert order_id is not None
        # written while the charge is still held: the receipt follows the language paid in
        assert wait_until(c, lambda: c.store.order(order_id).language == "en", BOUND_S)
        stall.release.set()
        assert wait_until(c, lambda: c.state.phase is co.Phase.DONE, BOUND_S)
        assert not stall.held_to_bound
    finally:
        stall.release.set()
        c.close(1.0)


def test_leaving_before_the_order_is_written_leaves_no_open_order(tmp_path: Path) -> None:
    """The order is written on the worker: a customer who leaves the pay screen first must not leave
    an open order behind (it would sit in the store until the next start's recovery)."""
    from kiosk.store.models import Order

    printer = StallingPrinter(tmp_path / "receipts")
    c = _controller(tmp_path, printer, FakePaymentGateway())
    asked, behind = Stall(), Stall()
    try:
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(c.catalog()[0]))
        printer.stall = asked
        c.dispatch(co.PayTapped())
        assert asked.blocked.wait(BOUND_S)
        # a job queued behind the printer's answer holds the worker, so the order's write waits too
        worker = c._worker
        assert worker is not None
        worker.submit(behind.hold)
        asked.release.set()
        assert wait_until(c, lambda: c.state.phase is co.Phase.PAYING, BOUND_S)
        assert c.state.order_id is None and behind.blocked.is_set()
        c.dispatch(co.CancelTapped())  # the customer goes back before the order was written
        assert c.state.phase is co.Phase.CART
        behind.release.set()
        assert wait_until(c, lambda: [o.status for o in Order.select()] == ["cancelled"], BOUND_S), (
            "the order written after the customer left is still open"
        )

        assert c.state.phase is co.Phase.CART and c.state.order_id is None
    finally:
        asked.release.set()
        behind.release.set()
        c.close(1.0)


class StallingDecoder:
    """A decoder stuck on one frame (a pathological image) until released."""

    name = "stalling"

    def __init__(self, stall: Stall) -> None:
        self.stall = stall

    def decode(self, frame: Frame) -> list[Decoded]:
        self.stall.hold()
        return []


class CountingSource:
    """A camera whose every frame differs (its first pixel counts frames); ``stall_after`` frames
    in, ``read`` hangs until released, as a camera driver stuck in a read does."""

    live = False

    def __init__(self, stall: Stall | None = None, stall_after: int = 0) -> None:
        self.n = 0
        self.stall = stall
        self.stall_after = stall_after
        self.cond = threading.Condition()

    def read(self) -> Frame | None:
        if self.stall is not None and self.n >= self.stall_after:
            self.stall.hold()
            return None
        with self.cond:
            self.n += 1
            self.cond.notify_all()
        frame = np.zeros((48, 64, 3), dtype=np.uint8)
        frame[0, 0, 0] = self.n % 256
        frame[0, 0, 1] = self.n // 256
        return frame

    def close(self) -> None:
        pass


def _counter(frame: Frame | None) -> int:
    assert isinstance(frame, np.ndarray)
    return int(frame[0, 0, 0]) + 256 * int(frame[0, 0, 1])


def test_the_preview_gets_new_frames_while_the_decoder_is_stuck() -> None:
    stall = Stall()
    source = CountingSource()
    scanner = CameraScanner(source, StallingDecoder(stall), on_codes=lambda codes: None, fps=120)
    scanner.start()
    try:
        assert stall.blocked.wait(BOUND_S), "nothing reached the decoder"
        seen: list[int] = []
        for _ in range(FRAMES):  # each "preview frame" must see a newer camera frame than the last
            want = (seen[-1] if seen else _counter(scanner.latest_frame())) + 1
            with source.cond:  # frame ``want`` is published once the camera is asked for the next
                assert source.cond.wait_for(lambda w=want: source.n > w, BOUND_S)
            seen.append(_counter(scanner.latest_frame()))
        assert seen == sorted(set(seen)), f"the preview showed stale frames: {seen}"
        assert scanner.frames_dropped > 0, "frames the stuck decoder could not take were not dropped"
    finally:
        stall.release.set()
        scanner.stop()
    assert not stall.held_to_bound


def test_the_preview_keeps_its_last_frame_while_the_camera_is_stuck() -> None:
    stall = Stall()
    source = CountingSource(stall, stall_after=3)
    scanner = CameraScanner(source, StallingDecoder(Stall()), on_codes=lambda codes: None, fps=120)
    scanner.decoder.stall.release.set()  # type: ignore[attr-defined]
    scanner.start()
    try:
        assert stall.blocked.wait(BOUND_S), "the camera never stalled"
        for _ in range(FRAMES):
            assert _counter(scanner.latest_frame()) == 3
    finally:
        stall.release.set()
        scanner.stop()
    assert not stall.held_to_bound
