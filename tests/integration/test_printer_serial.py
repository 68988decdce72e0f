"""The driver over a real serial line: python-escpos + pyserial on a pty, the emulator at the far end."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from escpos.printer import Serial

from drivers.printer.escpos_printer import EscposReceiptPrinter, PrinterStatus, PrintFault, open_printer
from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout
from kiosk.ports import PrinterError
from kiosk.settings import PrinterSection
from printer_emulator.emulator import PrinterEmulator

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 200


def zh_layout(columns: int = 32) -> ReceiptLayout:
    receipt = Receipt(
        store_name="星河便利店",
        kiosk_id="kiosk-001",
        order_id="5e6f7a8b-0000-4000-8000-000000000000",
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=(ReceiptLine("可口可乐 330ml", 2, 350), ReceiptLine("康师傅红烧牛肉面", 1, 450)),
        total_fen=1150,
        channel="wechat",
        transaction_masked="4200********1234",
    )
    return layout(receipt, ReceiptTemplate.default(), columns)


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    with PrinterEmulator(encoding="gb18030", columns=32) as emu:
        yield emu


@pytest.fixture
def printer(emulator: PrinterEmulator) -> Iterator[EscposReceiptPrinter]:
    escpos = Serial(devfile=emulator.device_path, baudrate=9600, timeout=TIMEOUT_MS / 1000)
    driver = EscposReceiptPrinter(escpos, encoding="gb18030", status_timeout_ms=TIMEOUT_MS)
    yield driver
    driver.close()


def test_receipt_arrives_decoded_at_the_printer(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    lay = zh_layout()
    printer.print_receipt(lay)
    receipts = emulator.wait_for_receipts(1, timeout_s=5)
    assert len(receipts) == 1
    text = receipts[0]
    assert "星河便利店" in text
    assert "合计                     ￥11.50" in text
    assert "康师傅红烧牛肉面" in text
    assert emulator.qr_codes == ["order:5e6f7a8b-0000-4000-8000-000000000000"]
    assert emulator.unknown_commands == []


def test_two_receipts_two_cuts(emulator: PrinterEmulator, printer: EscposReceiptPrinter) -> None:
    printer.print_receipt(zh_layout())
    printer.print_receipt(zh_layout())
    assert len(emulator.wait_for_receipts(2, timeout_s=5)) == 2


def test_healthy_printer_is_ready(emulator: PrinterEmulator, printer: EscposReceiptPrinter) -> None:
    assert printer.status() == PrinterStatus(online=True, paper="ok", cover_open=False, detail="ready")
    assert printer.is_ready() is True
    assert emulator.status_queries == [1, 4, 1, 4]


def test_paper_near_end_is_still_ready_but_says_so(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    emulator.paper = "near_end"
    status = printer.status()
    assert (status.online, status.paper, status.ready) == (True, "near_end", True)


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (
            {"paper": "out"},
            PrinterStatus(online=False, paper="out", cover_open=False, detail="offline, paper out"),
        ),
        (
            {"cover_open": True},
            PrinterStatus(online=False, paper="ok", cover_open=True, detail="offline, cover open"),
        ),
        ({"online": False}, PrinterStatus(online=False, paper="ok", cover_open=False, detail="offline")),
    ],
)
def test_faults_make_the_printer_not_ready(
    emulator: PrinterEmulator,
    printer: EscposReceiptPrinter,
    state: dict[str, object],
    expected: PrinterStatus,
) -> None:
    for key, value in state.items():
        setattr(emulator, key, value)
    assert printer.status() == expected
    assert printer.is_ready() is False


def test_dead_printer_is_not_ready_after_one_timeout(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    emulator.dead = True
    started = time.monotonic()
    status = printer.status()
    elapsed = time.monotonic() - started
    assert status.online is None and status.paper == "unknown"
    assert f"no answer within {TIMEOUT_MS} ms" in status.detail
    # bounded by its own timeout (one query, then it stops asking), with slack for a busy machine
    assert elapsed < 5 * TIMEOUT_MS / 1000
    assert printer.is_ready() is False


def test_printer_comes_back_after_being_dead(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    emulator.dead = True
    assert printer.is_ready() is False
    emulator.dead = False
    assert printer.is_ready() is True  # a late reply from before is not taken for this one


def test_missing_device_fails_on_use_and_recovers_when_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "printer"
    printer = open_printer(PrinterSection(device=str(link), status_timeout_ms=TIMEOUT_MS))
    try:
        assert printer.is_ready() is False
        with pytest.raises(PrinterError, match="cannot open the printer"):
            printer.print_receipt(zh_layout())
        with PrinterEmulator() as emulator:
            link.symlink_to(emulator.device_path)
            assert printer.is_ready() is True
            printer.print_receipt(zh_layout())
            assert "星河便利店" in emulator.wait_for_receipts(1, timeout_s=5)[0]
    finally:
        printer.close()


def test_standalone_emulator_prints_receipts_to_stdout(tmp_path: Path) -> None:
    link = tmp_path / "kiosk-printer"
    proc = subprocess.Popen(
        [sys.executable, "-m", "printer_emulator.emulator", "--link", str(link)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 10
        while not link.is_symlink() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert link.is_symlink(), "the emulator did not create its link"
        printer = open_printer(PrinterSection(device=str(link), status_timeout_ms=1000))
        assert printer.is_ready() is True
        printer.print_receipt(zh_layout())
        printer.close()
        time.sleep(0.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    text = out.decode("utf-8")
    assert "----- receipt 1" in text
    assert "星河便利店" in text and "￥11.50" in text
    assert not link.exists() and not link.is_symlink()


def test_cable_pulled_mid_session_is_a_printer_error_not_a_crash() -> None:
    emulator = PrinterEmulator().start()
    escpos = Serial(devfile=emulator.device_path, baudrate=9600, timeout=TIMEOUT_MS / 1000)
    printer = EscposReceiptPrinter(escpos, status_timeout_ms=TIMEOUT_MS)
    try:
        printer.print_receipt(zh_layout())
        assert len(emulator.wait_for_receipts(1, timeout_s=5)) == 1
        emulator.stop()  # the far end is gone: writes now fail with EIO
        with pytest.raises(PrintFault, match=r"the printer on .* is not ready.*nothing was sent") as fault:
            printer.print_receipt(zh_layout())
        assert fault.value.may_have_printed is False  # the cable was gone before a byte left
        assert printer.is_ready() is False
    finally:
        printer.close()
        emulator.stop()
