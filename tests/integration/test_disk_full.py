"""A full disk never crashes the kiosk and never loses a paid sale.

The disk is filled for real: the store lives on a small tmpfs mounted for the test (the kiosk's data
partition in miniature), and a ballast file takes the last free byte, so SQLite fails with
SQLITE_FULL, "database or disk is full", exactly as on a full SD card.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import peewee as pw
import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.payment import PayState
from kiosk.core.receipt import ReceiptTemplate
from kiosk.core.records import StoreFull
from kiosk.payments.service import recover
from kiosk.ports import CatalogItem, ChargeRequest, ChargeResult, ChargeStatus, Decoded
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
WX = "134567890123456789"


BALLAST = "ballast"


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB filesystem of its own (root, as CI and the kiosk's own tests run)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(store: SaleStore) -> None:
    """Take every free byte of the store's filesystem, after moving the write-ahead log into the store
    (so the next commit must grow the log and cannot)."""
    store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    fd = os.open(Path(str(store.db.database)).parent / BALLAST, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = 65536
        for _ in range(100_000):
            try:
                os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                if size == 1:
                    break
                size //= 2
        else:
            raise AssertionError("the disk never filled up")
    finally:
        os.close(fd)


def free(store: SaleStore) -> None:
    (Path(str(store.db.database)).parent / BALLAST).unlink()


@pytest.fixture
def store(disk: Path) -> Iterator[SaleStore]:
    s = SaleStore(open_store(disk / "kiosk.sqlite3"), "k1")
    s.replace_catalog([WATER])
    yield s
    s.db.close()


def controller(tmp_path: Path, store: SaleStore, gateway: FakePaymentGateway) -> CheckoutController:
    return CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店"),
        store=store,
        gateway=gateway,
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=False,
    )


def paid_sale(store: SaleStore) -> str:
    oid = store.open_order(Cart().add(Product("w", "矿泉水", "Water", 200)))
    p = store.begin_payment(oid, "wechat", "fake", "104567890123456789")
    store.record_paid(p.out_trade_no, "T0")
    return oid


def test_a_full_store_is_reported_as_such_and_rolls_nothing_back_wrongly(store: SaleStore) -> None:
    fill(store)
    with pytest.raises(StoreFull, match="full"):
        store.open_order(Cart().add(Product("w", "矿泉水", "Water", 200)))
    with pytest.raises(StoreFull):
        store.audit("kiosk", "alert", "x" * 10_000)


def test_a_full_disk_refuses_new_orders_tells_staff_and_keeps_the_paid_sale(
    tmp_path: Path, store: SaleStore
) -> None:
    earlier = paid_sale(store)
    gw = FakePaymentGateway()
    c = controller(tmp_path, store, gw)
    fill(store)
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())  # opening the order fails; so does the audit of the staff alert
    assert c.state.phase is co.Phase.CART and c.state.notice is co.Notice.ORDER_NOT_SAVED
    assert "disk full" in c.state.detail
    assert "store" in c.device_faults and "disk full" in c.device_faults["store"]
    assert any("disk full" in a.reason for a in c.alerts)
    assert gw.calls == [], "nothing was charged"
    assert store.order(earlier).status.value == "paid" and store.pending_count() == 2  # sale, payment


def test_paid_at_the_gateway_but_not_recordable_is_never_declined_and_is_recorded_later(
    tmp_path: Path, store: SaleStore
) -> None:
    """GIVEN the disk fills while the gateway takes the money WHEN "paid" cannot be committed
    THEN the customer is not told "declined", staff are called, and the next start records the sale."""

    class FillingGateway(FakePaymentGateway):
        def pay(self, request: ChargeRequest) -> ChargeResult:
            fill(store)
            return super().pay(request)

    gw = FillingGateway()
    c = controller(tmp_path, store, gw)
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    order_id = c.state.order_id
    assert order_id is not None
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.PAYMENT_UNKNOWN
    assert "paid at the gateway" in c.state.detail
    [open_payment] = store.unfinished_payments()
    assert open_payment.status is PayState.SUBMITTED
    free(store)  # staff made room
    settled = FakePaymentGateway(query=[ChargeResult(ChargeStatus.PAID, open_payment.out_trade_no, "T1")])
    report = recover(store, settled, FakeClock())
    assert report.paid_orders == [order_id]
    assert store.order(order_id).status.value == "paid"


def test_the_store_full_error_survives_the_failed_rollback(store: SaleStore) -> None:
    """SQLite rolls a full transaction back itself; peewee's own rollback then fails with "cannot
    rollback - no transaction is active". Staff must still read "full", not that."""
    fill(store)
    try:
        store.open_order(Cart().add(Product("w", "矿泉水", "Water", 200)))
    except StoreFull as exc:
        assert "cannot rollback" not in str(exc)
    except pw.OperationalError as exc:  # pragma: no cover - the failure this test guards against
        pytest.fail(f"a full store surfaced as {exc!r}")


def test_a_full_disk_after_the_pay_call_is_unresolved_never_nothing_charged(
    tmp_path: Path, store: SaleStore
) -> None:
    """GIVEN the pay call answered "user paying" and the disk filled meanwhile WHEN the kiosk cannot
    commit "user_paying" THEN it stops (it may not act on a state it could not record) and calls staff:
    the customer may be entering the password, so the screen never says nothing was charged."""

    class FillingGateway(FakePaymentGateway):
        def pay(self, request: ChargeRequest) -> ChargeResult:
            fill(store)
            return super().pay(request)

    gw = FillingGateway(pay=[ChargeStatus.USER_PAYING])
    c = controller(tmp_path, store, gw)
    c.dispatch(co.StartTapped())
    c.dispatch(co.ProductTapped(c.catalog()[0]))
    c.dispatch(co.PayTapped())
    c.handle_codes([Decoded("QRCode", WX)])
    assert c.state.phase is co.Phase.NEEDS_HELP and c.state.notice is co.Notice.PAYMENT_UNKNOWN
    assert "nothing was charged" not in c.state.detail
    [open_payment] = store.unfinished_payments()  # left for the next start to settle
    assert open_payment.status is PayState.SUBMITTED


def test_start_up_recovery_on_a_full_disk_reports_what_it_could_not_do_and_goes_on(
    tmp_path: Path, store: SaleStore
) -> None:
    opened = []
    for code in (WX, "104567890123456789"):
        order_id = store.open_order(Cart().add(Product("w", "矿泉水", "Water", 200)))
        opened.append(store.begin_payment(order_id, "wechat", "fake", code).out_trade_no)
    c = controller(tmp_path, store, FakePaymentGateway(query=[ChargeStatus.PAID, ChargeStatus.PAID]))
    fill(store)
    c.start_recovery()  # both settle as paid at the gateway; neither can be recorded
    assert c.state.phase is co.Phase.ATTRACT
    assert c.recovery is not None and sorted(c.recovery.unresolved) == sorted(opened)
    assert c.recovery.store_full and len(c.recovery.failures) >= 2
    assert "store" in c.device_faults
    assert any("stopped short" in a.reason for a in c.alerts)
    free(store)
    report = recover(store, FakePaymentGateway(query=[ChargeStatus.PAID, ChargeStatus.PAID]), FakeClock())
    assert sorted(report.resolved) == sorted(opened) and report.failures == []


def test_an_honest_store_whose_watermark_lags_opens_on_a_full_disk(store: SaleStore) -> None:
    """A sale committed while the disk was full may leave the watermark behind (it can only lag):
    the next start must still open the store, not call it damaged."""
    from kiosk.store.db import open_store as reopen
    from kiosk.store.watermark import watermark_path

    paid_sale(store)
    path = Path(str(store.db.database))
    watermark_path(path).write_text("0\n")  # the advance after the sale did not reach the disk
    fill(store)
    store.db.close()
    db = reopen(path)
    try:
        assert SaleStore(db, "k1").counts().paid == 1
    finally:
        db.close()
    assert watermark_path(path).read_text().strip() == "0"  # still lagging: nothing could be written


def test_posted_work_that_fails_on_a_full_disk_never_stops_the_ui_clock(
    tmp_path: Path, store: SaleStore
) -> None:
    c = controller(tmp_path, store, FakePaymentGateway())
    fill(store)
    c.post(lambda: store.audit("staff", "key_switch", "on"))  # as a device thread would
    assert c.pump() == 1  # ran, failed, logged: did not raise into the UI's clock
    c.post(lambda: c.audit("staff", "key_switch", "on"))
    c.pump()
    assert "store" in c.device_faults


def test_a_catalog_from_hq_that_cannot_be_stored_leaves_the_kiosk_selling_from_its_copy(disk: Path) -> None:
    from hq_fixtures import running_hq, sqlite_url
    from kiosk_enrolment import enrol_kiosk

    from hq.catalog import seed_demo
    from hq.db import connected
    from kiosk.bootstrap import Overrides, build_kiosk
    from kiosk.settings import load_settings

    with running_hq(sqlite_url(disk.parent / "hq.sqlite3")) as hq:
        with connected():
            seed_demo()
        enrol_kiosk(hq, disk, "kiosk-full")
        settings = load_settings(
            environ={
                "KIOSK_KIOSK__ID": "kiosk-full",
                "KIOSK_KIOSK__DATA_DIR": str(disk),
                "KIOSK_HQ__URL": hq.url,
                "KIOSK_PRINTER__TRANSPORT": "none",
                "KIOSK_GPIO__ENABLED": "false",
            }
        )
        from drivers.camera.sources import HeldImageSource

        kiosk = build_kiosk(settings, overrides=Overrides(source=HeldImageSource(640, 480)))
        try:
            fill(kiosk.store)
            assert kiosk.refresh_catalog() is False  # refused by the full disk, not raised
        finally:
            kiosk.stop()
