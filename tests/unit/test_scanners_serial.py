"""The serial barcode scanner over a pseudo-terminal pair: lines become codes, garbage is dropped, the port comes back."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from scanner_recorder import BOUND_S, Recorder

from drivers.scanners.serial_scanner import MAX_LINE, PORT_FAULT, SerialScanner
from kiosk.ports import Decoded


@pytest.fixture
def pty_pair() -> Iterator[tuple[int, str]]:
    """(the scanner's end to write to, the device path the kiosk opens)."""
    scanner_end, kiosk_end = os.openpty()
    tty.setraw(scanner_end)
    tty.setraw(kiosk_end)
    path = os.ttyname(kiosk_end)
    try:
        yield scanner_end, path
    finally:
        os.close(scanner_end)
        os.close(kiosk_end)


def test_lines_in_any_line_ending_become_codes(pty_pair: tuple[int, str]) -> None:
    scanner_end, path = pty_pair
    rec = Recorder()
    s = SerialScanner(path, rec.on_codes, rec.on_fault)
    s.start()
    try:
        assert s.wait_connected(BOUND_S)
        os.write(scanner_end, b"4006381333931\r\n96385074\r036000291452\n")
        assert rec.wait_for(lambda: len(rec.codes) == 3)
    finally:
        assert s.stop()
    assert not s.connected  # the port was closed with the thread
    assert rec.codes == [
        Decoded("EAN13", "4006381333931"),
        Decoded("EAN8", "96385074"),
        Decoded("UPCA", "036000291452"),
    ]
    assert rec.faults == []


def test_garbage_binary_and_overlong_lines_are_dropped_without_stopping(pty_pair: tuple[int, str]) -> None:
    scanner_end, path = pty_pair
    rec = Recorder()
    s = SerialScanner(path, rec.on_codes, rec.on_fault)
    s.start()
    try:
        assert s.wait_connected(BOUND_S)
        os.write(scanner_end, b"\xff\xfe\xfd\r\n")  # not UTF-8
        os.write(scanner_end, b"abc\x01def\r\n")  # a control character
        os.write(scanner_end, b"9" * (MAX_LINE + 50) + b"\r\n")  # longer than any code
        os.write(scanner_end, b"4006381333931\r\n")
        assert rec.wait_for(lambda: len(rec.codes) == 1)
        assert rec.wait_for(lambda: s.lines_dropped == 3)
    finally:
        assert s.stop()
    assert rec.codes == [Decoded("EAN13", "4006381333931")]


def test_a_missing_port_is_one_fault_and_is_retried_until_it_appears(tmp_path: Path) -> None:
    """GIVEN a port that cannot be opened WHEN it appears later THEN one fault, then recovery and reads."""
    rec = Recorder()
    available = threading.Event()
    scanner_end, kiosk_end = os.openpty()
    tty.setraw(scanner_end)
    tty.setraw(kiosk_end)
    attempts: list[str] = []

    def open_port(port: str, **kwargs: Any) -> Any:
        attempts.append(port)
        if not available.is_set():
            raise serial.SerialException(f"could not open port {port}: No such file or directory")
        return serial.serial_for_url(os.ttyname(kiosk_end), **kwargs)

    s = SerialScanner(
        "/dev/ttyACM9", rec.on_codes, rec.on_fault, on_recover=rec.on_recover, open_port=open_port
    )
    s.start()
    try:
        assert rec.wait_for(lambda: len(attempts) >= 3)
        assert len(rec.faults) == 1
        assert rec.faults[0].startswith(PORT_FAULT)
        available.set()
        assert rec.wait_for(lambda: rec.recovered == [rec.faults[0]])
        assert s.wait_connected(BOUND_S)
        os.write(scanner_end, b"96385074\r\n")
        assert rec.wait_for(lambda: len(rec.codes) == 1)
    finally:
        assert s.stop()
        os.close(scanner_end)
        os.close(kiosk_end)
    assert s.fault == ""


def test_an_empty_port_name_is_refused() -> None:
    with pytest.raises(ValueError, match="port is empty"):
        SerialScanner("", lambda codes: None)
