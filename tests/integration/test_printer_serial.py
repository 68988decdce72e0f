"""The driver over a real serial line: python-escpos + pyserial on a pty, the emulator at the far end.

Waits are on events (a receipt cut, a line the standalone emulator prints, a status reply that
comes only after every earlier byte was taken in), never on sleeps; each is bounded.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from escpos.printer import Serial

from drivers.printer.errors import FaultKind, PrinterError, PrintFault
from drivers.printer.escpos_printer import EscposReceiptPrinter
from drivers.printer.factory import PrinterConfig, open_printer
from drivers.printer.status import PrinterStatus
from kiosk.core.receipt import Receipt, ReceiptLayout, ReceiptLine, ReceiptTemplate, layout
from printer_emulator.emulator import PrinterEmulator

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_MS = 200
ORDER_ID = "5e6f7a8b-0000-4000-8000-000000000000"


def zh_layout(columns: int = 32) -> ReceiptLayout:
    receipt = Receipt(
        store_name="星河便利店",
        kiosk_id="kiosk-001",
        order_id=ORDER_ID,
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
    printer.print_receipt(ORDER_ID, lay)
    receipts = emulator.wait_for_receipts(1, timeout_s=5)
    assert len(receipts) == 1
    text = receipts[0]
    assert "星河便利店" in text
    assert "合计                     ￥11.50" in text
    assert "康师傅红烧牛肉面" in text
    assert emulator.qr_codes == ["order:5e6f7a8b-0000-4000-8000-000000000000"]
    assert emulator.unknown_commands == []


def test_two_receipts_two_cuts(emulator: PrinterEmulator, printer: EscposReceiptPrinter) -> None:
    printer.print_receipt(ORDER_ID, zh_layout())
    printer.print_receipt(ORDER_ID, zh_layout())
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


def test_dead_printer_is_asked_once_and_is_not_ready(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    """A silent printer costs one status timeout: after DLE EOT 1 goes unanswered, nothing more is
    asked (no DLE EOT 2, 3 or 4 each waiting out their own timeout)."""
    emulator.dead = True
    status = printer.status()
    assert status.online is None and status.paper == "unknown"
    assert f"no answer within {TIMEOUT_MS} ms" in status.detail
    emulator.dead = False
    # handshake: answered only after the printer has taken in every byte sent before it
    assert printer.status().ready is True
    assert emulator.bytes_received == 3 + 6  # one DLE EOT 1 while dead, then 1 and 4 now
    assert emulator.status_queries == [1, 4]  # the dead printer answered (and recorded) nothing


def test_printer_comes_back_after_being_dead(
    emulator: PrinterEmulator, printer: EscposReceiptPrinter
) -> None:
    emulator.dead = True
    assert printer.is_ready() is False
    emulator.dead = False
    assert printer.is_ready() is True  # a late reply from before is not taken for this one


def test_missing_device_fails_on_use_and_recovers_when_it_appears(tmp_path: Path) -> None:
    link = tmp_path / "printer"
    printer = open_printer(PrinterConfig(device=str(link), status_timeout_ms=TIMEOUT_MS))
    try:
        assert printer.is_ready() is False
        with pytest.raises(PrinterError, match="cannot open the printer"):
            printer.print_receipt(ORDER_ID, zh_layout())
        with PrinterEmulator() as emulator:
            link.symlink_to(emulator.device_path)
            assert printer.is_ready() is True
            printer.print_receipt(ORDER_ID, zh_layout())
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
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read_stdout() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.put(raw.decode("utf-8"))
        lines.put("")  # end of output

    def next_line() -> str:
        line = lines.get(timeout=10)
        seen.append(line)
        return line

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    try:
        # the emulator says where it is once the link exists: the handshake, instead of polling
        assert next_line().startswith("printer emulator on "), seen
        assert link.is_symlink()
        printer = open_printer(PrinterConfig(device=str(link), status_timeout_ms=1000))
        assert printer.is_ready() is True
        printer.print_receipt(ORDER_ID, zh_layout())
        printer.close()
        for _ in range(100):  # bounded: the receipt is about 20 lines, its QR line comes last
            line = next_line()
            if line.startswith("[QR] ") or not line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        reader.join(10)  # stdout ends with the process; the reader is its only reader
        assert proc.stderr is not None
        err = proc.stderr.read().decode("utf-8", errors="replace")
        proc.stderr.close()
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == 0, err
    text = "".join(seen)
    assert "----- receipt 1" in text
    assert "星河便利店" in text and "￥11.50" in text
    assert f"[QR] order:{ORDER_ID}" in text
    assert not link.exists() and not link.is_symlink()


def test_cable_pulled_mid_session_is_a_printer_error_not_a_crash() -> None:
    emulator = PrinterEmulator().start()
    escpos = Serial(devfile=emulator.device_path, baudrate=9600, timeout=TIMEOUT_MS / 1000)
    printer = EscposReceiptPrinter(escpos, status_timeout_ms=TIMEOUT_MS)
    try:
        printer.print_receipt(ORDER_ID, zh_layout())
        assert len(emulator.wait_for_receipts(1, timeout_s=5)) == 1
        emulator.stop()  # the far end is gone: writes now fail with EIO
        with pytest.raises(PrintFault, match=r"the printer on .* is not ready.*nothing was sent") as fault:
            printer.print_receipt(ORDER_ID, zh_layout())
        assert fault.value.may_have_printed is False  # the cable was gone before a byte left
        assert fault.value.kind is FaultKind.NOT_READY
        assert printer.is_ready() is False
    finally:
        printer.close()
        emulator.stop()


def test_the_emulated_cable_is_the_owners_alone(emulator: PrinterEmulator) -> None:
    """devpts makes a new pty group-writable (for `write`); the emulator's is read-write for its owner only."""
    import stat

    assert stat.S_IMODE(os.stat(emulator.device_path).st_mode) == 0o600
