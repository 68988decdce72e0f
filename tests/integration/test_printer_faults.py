"""Printer faults over a real pty: status before and after each receipt, and the reprint queue.

The driver (python-escpos + pyserial) talks to the emulator on a pseudo-terminal; the reprint queue
is a real SQLite store. Nothing here sleeps to let something happen: waits are on the emulator's
events (``wait_for_receipts``, ``wait_until``), on the print service's listener, or on a round of
the service taken at a known moment (``poll_once``); every wait is bounded. A check that something
did *not* happen comes after a positive sign that the code under test ran.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import peewee as pw
import pytest
from escpos.printer import Serial

from drivers.printer.errors import FaultKind, PrintFault
from drivers.printer.escpos_printer import EscposReceiptPrinter
from drivers.printer.factory import PrinterConfig, open_printer
from kiosk.cli import main as kiosk_main
from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout
from kiosk.ports import PrinterError
from kiosk.printing import REPRINT_MARK, PrintService
from kiosk.store.db import open_store
from kiosk.store.models import Order
from kiosk.store.reprints import HELD, PENDING, PRINTED, ReprintStore
from printer_emulator.emulator import PrinterEmulator

TIMEOUT_MS = 300  # generous: other engineers load this 2-core machine too


def receipt_layout(order_id: str) -> ReceiptLayout:
    receipt = Receipt(
        store_name="星河便利店",
        kiosk_id="kiosk-001",
        order_id=order_id,
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=(ReceiptLine("可口可乐 330ml", 2, 350), ReceiptLine("康师傅红烧牛肉面", 1, 450)),
        total_fen=1150,
        channel="wechat",
        transaction_masked="4200********1234",
    )
    return layout(receipt, ReceiptTemplate.default(), 32)


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    with PrinterEmulator(encoding="gb18030", columns=32) as emu:
        yield emu


@pytest.fixture
def driver(emulator: PrinterEmulator) -> Iterator[EscposReceiptPrinter]:
    escpos = Serial(devfile=emulator.device_path, baudrate=115200, timeout=TIMEOUT_MS / 1000)
    printer = EscposReceiptPrinter(escpos, encoding="gb18030", status_timeout_ms=TIMEOUT_MS)
    yield printer
    printer.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[pw.SqliteDatabase]:
    database = open_store(tmp_path / "kiosk.sqlite3")
    yield database
    database.close()


def print_one(printer: EscposReceiptPrinter) -> None:
    order_id = str(uuid.uuid4())
    printer.print_receipt(order_id, receipt_layout(order_id))


def paid_order(db: pw.Database) -> str:
    order_id = str(uuid.uuid4())
    Order.create(id=order_id, kiosk_id="kiosk-001", total_fen=1150, status="paid")
    return order_id


# --- the driver ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ({"paper": "out"}, "paper out"),
        ({"cover_open": True}, "cover open"),
        ({"online": False}, "offline"),
        ({"cutter_error": True}, "cutter error"),
    ],
)
def test_nothing_is_sent_to_a_printer_that_cannot_print(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, fault: dict[str, object], detail: str
) -> None:
    for key, value in fault.items():
        setattr(emulator, key, value)
    with pytest.raises(PrintFault, match=detail) as caught:
        print_one(driver)
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.NOT_READY, False)
    # handshake: the printer answers this query only after taking in every byte sent before it
    assert driver.status().ready is False
    assert emulator.bytes_received == 3 * len(emulator.status_queries)  # only DLE EOT queries went out
    assert emulator.receipts == [] and emulator.dropped_bytes == 0
    for key in fault:
        setattr(
            emulator, key, {"paper": "ok", "cover_open": False, "online": True, "cutter_error": False}[key]
        )
    print_one(driver)
    assert len(emulator.wait_for_receipts(1, timeout_s=3)) == 1


def test_cutter_error_is_decoded(emulator: PrinterEmulator, driver: EscposReceiptPrinter) -> None:
    emulator.cutter_error = True
    status = driver.status()
    assert status.as_json() == {"online": False, "cover_open": False, "paper": "ok", "errors": ["cutter"]}
    assert status.ready is False


def test_paper_out_mid_receipt_is_noticed_and_the_rest_is_cleared(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter
) -> None:
    emulator.paper_out_after = 120
    with pytest.raises(PrintFault, match=r"fault during the receipt.*paper out") as caught:
        print_one(driver)
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.FAULT_DURING_RECEIPT, False)
    assert emulator.wait_until(lambda: len(emulator.torn) == 1)  # DLE DC4 8 tore off what printed
    assert "星河便利店" in emulator.torn[0]
    assert emulator.receipts == []
    emulator.paper = "ok"
    print_one(driver)
    assert len(emulator.wait_for_receipts(1, timeout_s=3)) == 1


def test_printer_dying_mid_receipt_may_have_printed(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter
) -> None:
    emulator.dead_after = 200
    with pytest.raises(PrintFault, match="stopped answering") as caught:
        print_one(driver)
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.NO_ANSWER, True)


# --- the reprint queue ------------------------------------------------------------------------------


def test_failed_receipt_is_queued_and_reprinted_once_the_fault_clears(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """GIVEN paper that runs out mid-receipt WHEN the paper is refilled THEN the worker prints the
    receipt once, marked as a reprint, and the order's receipt counts as printed."""
    queue = ReprintStore(db)
    alerts: list[str] = []
    service = PrintService(driver, queue, alert=alerts.append, poll_s=0.1)
    reprinted: list[str] = []
    done = threading.Event()

    def on_reprinted(order_id: str) -> None:
        reprinted.append(order_id)
        done.set()

    service.on_reprinted = on_reprinted
    order_id = paid_order(db)
    emulator.paper_out_after = 150
    with pytest.raises(PrinterError):
        service.print_receipt(order_id, receipt_layout(order_id))
    [job] = queue.jobs()
    assert job.state == PENDING and job.order_id == order_id
    assert alerts and order_id[:8].upper() in alerts[0]
    assert service.is_ready() is False
    # one round of the watcher while the paper is still out: it asks, and prints nothing
    asked = len(emulator.status_queries)
    assert service.poll_once() == 0
    assert len(emulator.status_queries) > asked  # it did ask the printer
    assert emulator.receipts == [] and queue.jobs()[0].state == PENDING
    service.start()
    try:
        emulator.paper = "ok"
        receipts = emulator.wait_for_receipts(1, timeout_s=5)
        assert len(receipts) == 1 and REPRINT_MARK in receipts[0]
        assert done.wait(5)  # called after the queue marked the job printed
        assert reprinted == [order_id]
        assert queue.counts()[PRINTED] == 1 and queue.next_pending() is None
        assert Order.get_by_id(order_id).receipt_printed is True
    finally:
        service.stop()  # joined: whatever the thread was doing is over
    assert len(emulator.receipts) == 1  # printed once; nothing left in the queue to print again
    assert service.is_ready() is True


def test_a_receipt_that_may_have_printed_is_held_for_staff(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    queue = ReprintStore(db)
    service = PrintService(driver, queue, alert=lambda _: None, poll_s=0.1)
    order_id = paid_order(db)
    emulator.dead_after = 200
    with pytest.raises(PrinterError):
        service.print_receipt(order_id, receipt_layout(order_id))
    [job] = queue.jobs()
    assert job.state == HELD
    emulator.dead = False
    # a round of the watcher with the printer back and ready: a held receipt still does not print
    assert service.poll_once() == 0
    assert service.status().ready is True
    assert emulator.receipts == [] and queue.jobs()[0].state == HELD  # never without a person deciding
    service.start()
    try:
        queue.release(job.id)
        assert len(emulator.wait_for_receipts(1, timeout_s=5)) == 1
    finally:
        service.stop()


def test_a_receipt_the_driver_failed_on_is_held_not_retried(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """An internal error (here a QR payload no symbol can hold) would fail again on every poll:
    the receipt is held for staff, who see "internal error", never "check the cable"."""
    queue = ReprintStore(db)
    alerts: list[str] = []
    service = PrintService(driver, queue, alert=alerts.append, poll_s=0.1)
    order_id = paid_order(db)
    bad = ReceiptLayout(header=("x",), body=("y",), footer=(), qr_payload="9" * 8000)
    with pytest.raises(PrintFault) as caught:
        service.print_receipt(order_id, bad)
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.INTERNAL, False)
    [job] = queue.jobs()
    assert job.state == HELD and job.order_id == order_id and "internal error" in job.reason
    assert "internal error" in alerts[0] and "cable" not in alerts[0]
    assert service.poll_once() == 0 and queue.jobs()[0].attempts == 0  # the watcher leaves it alone


def test_an_attempt_cut_off_by_a_restart_is_held(db: pw.Database) -> None:
    queue = ReprintStore(db)
    job = queue.enqueue(
        "o-1",
        json.dumps({"header": [], "body": ["x"], "footer": [], "qr_payload": ""}),
        held=False,
        reason="paper out",
    )
    queue.start_attempt(job)
    assert queue.recover_interrupted() == 1
    assert queue.jobs()[0].state == HELD


def test_printer_status_json_from_the_command_line(
    emulator: PrinterEmulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path}"\n[printer]\ndevice = "{emulator.device_path}"\n'
        "baudrate = 115200\nstatus_timeout_ms = 300\n",
        encoding="utf-8",
    )
    emulator.paper = "near_end"
    assert kiosk_main(["printer", "status", "--json", "--config", str(config)]) == 0
    line = capsys.readouterr().out.strip()
    assert json.loads(line) == {"online": True, "cover_open": False, "paper": "near_end", "errors": []}
    emulator.dead = True
    assert kiosk_main(["printer", "status", "--json", "--config", str(config)]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "online": None,
        "cover_open": None,
        "paper": "unknown",
        "errors": [],
    }
    emulator.dead = False
    assert kiosk_main(["printer", "test", "--config", str(config)]) == 0
    [page] = emulator.wait_for_receipts(1, timeout_s=5)
    assert "打印机测试 Printer test" in page and "[QR] kiosk-printer-test" in page
    assert "B0A1 啊阿埃" in page  # the GB2312 table row


# --- the other transports ---------------------------------------------------------------------------


class NetworkPrinter:
    """A printer on 127.0.0.1:<free port> (as on an Ethernet printer's port 9100) parsed by the emulator."""

    def __init__(self) -> None:
        self.emulator = PrinterEmulator(encoding="gb18030", columns=32)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.server.settimeout(5)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            for _ in range(10_000):
                try:
                    data = conn.recv(4096)
                except OSError:
                    return
                if not data:
                    return
                reply = self.emulator.feed(data)
                if reply:
                    conn.sendall(reply)

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


def test_network_transport_prints_and_reads_status(tmp_path: Path) -> None:
    net = NetworkPrinter()
    printer = open_printer(
        PrinterConfig(transport="network", device=f"127.0.0.1:{net.port}", status_timeout_ms=300)
    )
    try:
        net.emulator.paper = "near_end"
        status = printer.status()
        assert status.online is True and status.paper == "near_end"
        order_id = str(uuid.uuid4())
        printer.print_receipt(order_id, receipt_layout(order_id))
        [text] = net.emulator.wait_for_receipts(1, timeout_s=5)
        assert "星河便利店" in text and "￥11.50" in text
    finally:
        printer.close()
        net.close()


def test_usb_device_file_transport_reads_status(emulator: PrinterEmulator) -> None:
    """transport usb with a device file (the usblp driver's /dev/usb/lp0): here the emulator's pty."""
    printer = open_printer(PrinterConfig(transport="usb", device=emulator.device_path, status_timeout_ms=300))
    try:
        emulator.cover_open = True
        assert printer.status().cover_open is True
        emulator.cover_open = False
        order_id = str(uuid.uuid4())
        printer.print_receipt(order_id, receipt_layout(order_id))
        assert len(emulator.wait_for_receipts(1, timeout_s=5)) == 1
    finally:
        printer.close()


@pytest.mark.parametrize(
    ("transport", "device", "message"),
    [
        ("network", "printer.local:port", "not host:port"),
        ("network", ":9100", "not host:port"),
        ("usb", "lp0", "neither a device file nor VID:PID"),
        ("usb", "04x6:zz", "neither a device file nor VID:PID"),
    ],
)
def test_device_strings_that_do_not_fit_the_transport_are_refused(
    transport: str, device: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        open_printer(PrinterConfig(transport=transport, device=device))  # type: ignore[arg-type]


# --- the service around the printer -------------------------------------------------------------------


def test_a_printer_silent_at_the_last_poll_is_not_ready_without_asking_again(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """The checkout asks on the UI thread: a dead printer must not cost a timeout on every tap."""
    now = [100.0]
    service = PrintService(driver, ReprintStore(db), poll_s=5.0, clock=lambda: now[0])
    emulator.dead = True
    assert service.status().online is None  # what the background poll does: one unanswered DLE EOT 1
    now[0] += 1.0  # the UI asks within the poll's lifetime (1.5 x poll_s)
    assert service.is_ready() is False
    emulator.dead = False
    # handshake: this query is answered only after the printer has taken in every byte before it
    assert service.status().ready is True  # the next poll sees it back
    assert (
        emulator.bytes_received == 3 + 6
    )  # the dead poll's DLE EOT 1, then this one's 1 and 4: none from is_ready
    assert service.is_ready() is True


def test_stored_layouts_round_trip_and_bad_rows_are_refused() -> None:
    from kiosk.printing import layout_from_json, layout_to_json

    lay = receipt_layout("9f1c2d3e-0000-4000-8000-000000000000")
    assert layout_from_json(layout_to_json(lay)) == lay
    for bad, message in (
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"header": "x", "body": [], "footer": []}', "header must be a list"),
        ('{"header": [], "body": [], "footer": [], "qr_payload": 5}', "qr_payload must be a string"),
    ):
        with pytest.raises(ValueError, match=message):
            layout_from_json(bad)


def test_queue_and_reprint_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[kiosk]\ndata_dir = "{tmp_path}"\n', encoding="utf-8")
    database = open_store(tmp_path / "kiosk.sqlite3")
    try:
        job = ReprintStore(database).enqueue(
            "5e6f7a8b-0000-4000-8000-000000000000", "{}", held=True, reason="no answer after printing"
        )
    finally:
        database.close()
    assert kiosk_main(["printer", "queue", "--config", str(config)]) == 0
    listing = capsys.readouterr().out
    assert "held" in listing and "5E6F7A8B" in listing and "no answer after printing" in listing
    assert kiosk_main(["printer", "reprint", str(job), "--config", str(config)]) == 0
    assert kiosk_main(["printer", "reprint", str(job), "--config", str(config)]) == 1  # pending now, not held
    assert "is not held" in capsys.readouterr().err


def test_logo_command_stores_the_image_in_nv_memory(
    emulator: PrinterEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image

    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'[kiosk]\ndata_dir = "{tmp_path}"\n[printer]\ndevice = "{emulator.device_path}"\nbaudrate = 115200\n',
        encoding="utf-8",
    )
    Image.new("L", (200, 64), 0).save(tmp_path / "logo.png")
    assert kiosk_main(["printer", "logo", str(tmp_path / "logo.png"), "--config", str(config)]) == 0
    assert "nv_logo = 1" in capsys.readouterr().out
    assert emulator.wait_until(lambda: emulator.nv_images == {1: (200, 64)})
    (tmp_path / "bad.png").write_bytes(b"not a picture")
    assert kiosk_main(["printer", "logo", str(tmp_path / "bad.png"), "--config", str(config)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_paper_out_just_after_a_receipt_holds_it_for_staff(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """GIVEN a receipt the printer took in whole WHEN paper out is seen within SETTLE_S (the printer
    may still have been printing it) THEN it is held for staff; a fault seen later holds nothing."""
    from kiosk.printing import SETTLE_S

    now = [100.0]
    queue = ReprintStore(db)
    service = PrintService(driver, queue, alert=lambda _: None, poll_s=1.0, clock=lambda: now[0])
    first, second = paid_order(db), paid_order(db)
    service.print_receipt(first, receipt_layout(first))
    emulator.paper = "out"
    now[0] += 1.0
    assert service.status().paper == "out"
    [job] = queue.jobs()
    assert job.state == HELD and job.order_id == first and "may be incomplete" in job.reason
    assert service.status().paper == "out" and len(queue.jobs()) == 1  # held once, not per poll
    emulator.paper = "ok"
    service.print_receipt(second, receipt_layout(second))
    now[0] += SETTLE_S + 1
    emulator.paper = "out"
    service.status()
    assert [j.order_id for j in queue.jobs()] == [first]


def test_at_a_real_byte_rate_printed_means_the_printer_has_read_the_whole_receipt() -> None:
    """A slow (19200 baud) printer: print_receipt returns only after the status check that follows
    the job, which the printer answers after reading every byte before it; so the receipt is there."""
    with PrinterEmulator(encoding="gb18030", columns=32, baudrate=19200) as slow:
        escpos = Serial(devfile=slow.device_path, baudrate=19200, timeout=TIMEOUT_MS / 1000)
        printer = EscposReceiptPrinter(escpos, encoding="gb18030", status_timeout_ms=TIMEOUT_MS)
        try:
            print_one(printer)
            assert len(slow.receipts) == 1  # no waiting here: it was cut before the call returned
        finally:
            printer.close()


@pytest.mark.skipif(importlib.util.find_spec("usb") is not None, reason="pyusb is installed here")
def test_usb_vid_pid_without_pyusb_is_a_clear_settings_error() -> None:
    with pytest.raises(ValueError, match=r"needs pyusb.*/dev/usb/lp0"):
        open_printer(PrinterConfig(transport="usb", device="0416:5011"))


@pytest.mark.parametrize("order_id", ["", "x" * 37, "two words", "tab\there"])
def test_a_receipt_needs_an_order_id_the_queue_can_keep(
    order_id: str, emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """The queue files a failed receipt under the order id it was printed with, so a receipt without
    a usable one is refused before anything is printed (it could not be queued if it failed)."""
    queue = ReprintStore(db)
    service = PrintService(driver, queue, alert=lambda _: None)
    with pytest.raises(ValueError, match=r"order id must be 1\.\.36 printable characters"):
        service.print_receipt(order_id, receipt_layout(str(uuid.uuid4())))
    with pytest.raises(ValueError, match="order id"):
        queue.enqueue(order_id, "{}", held=False, reason="paper out")
    assert queue.jobs() == []
    assert driver.status().ready is True  # handshake: answered after every byte sent before it
    assert emulator.bytes_received == 6  # this status query only: no receipt went out


def test_the_queue_files_a_receipt_under_the_order_it_was_printed_for(
    emulator: PrinterEmulator, driver: EscposReceiptPrinter, db: pw.Database
) -> None:
    """Not under what its QR code says: here the QR holds a web address, and the job still names the
    order, so the reprint marks that order's receipt as printed."""
    queue = ReprintStore(db)
    service = PrintService(driver, queue, alert=lambda _: None)
    order_id = paid_order(db)
    lay = ReceiptLayout(header=("星河便利店",), body=("x",), footer=(), qr_payload="https://example.com/r")
    emulator.paper = "out"
    with pytest.raises(PrintFault, match="paper out"):
        service.print_receipt(order_id, lay)
    [job] = queue.jobs()
    assert (job.order_id, job.state) == (order_id, PENDING)
    emulator.paper = "ok"
    assert service.poll_once() == 1
    assert Order.get_by_id(order_id).receipt_printed is True
    assert "[QR] https://example.com/r" in emulator.wait_for_receipts(1, timeout_s=5)[0]
