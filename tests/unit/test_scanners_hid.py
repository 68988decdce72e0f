"""The USB keyboard-wedge scanner: scanner bursts become codes, human typing does not; the device comes and goes.

The device is a FIFO fed with packed ``struct input_event`` records, exactly what the kernel writes.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scanner_recorder import Recorder

from drivers.scanners.common import guess_symbology, scanned
from drivers.scanners.hid_wedge import (
    EV_KEY,
    EVENT_SIZE,
    KEY_ENTER,
    KEY_LEFTSHIFT,
    KEY_PRESS,
    KEY_RELEASE,
    KEY_REPEAT,
    NOT_FOUND_FAULT,
    HidWedgeScanner,
    KeyEvent,
    KeystrokeAssembler,
    key_char,
    pack_event,
    unpack_events,
)
from kiosk.ports import Decoded

DIGIT_KEYS = {"1": 2, "2": 3, "3": 4, "4": 5, "5": 6, "6": 7, "7": 8, "8": 9, "9": 10, "0": 11}


def keystrokes(text: str, start: float = 1000.0, gap_s: float = 0.004, enter: bool = True) -> list[KeyEvent]:
    """Press and release for each digit ``gap_s`` apart, then Enter: what a scanner sends."""
    events = []
    t = start
    for ch in text:
        events += [KeyEvent(t, DIGIT_KEYS[ch], KEY_PRESS), KeyEvent(t + 0.001, DIGIT_KEYS[ch], KEY_RELEASE)]
        t += gap_s
    if enter:
        events += [KeyEvent(t, KEY_ENTER, KEY_PRESS), KeyEvent(t + 0.001, KEY_ENTER, KEY_RELEASE)]
    return events


def feed_all(assembler: KeystrokeAssembler, events: list[KeyEvent]) -> list[str]:
    return [text for e in events if (text := assembler.feed(e)) is not None]


def test_a_fast_burst_ending_in_enter_is_a_scan() -> None:
    assert feed_all(KeystrokeAssembler(), keystrokes("4006381333931")) == ["4006381333931"]


def test_typing_at_human_speed_is_dropped() -> None:
    a = KeystrokeAssembler(max_gap_ms=40)
    assert feed_all(a, keystrokes("4006381333931", gap_s=0.15)) == []
    assert a.typed_bursts >= 1


def test_one_slow_key_inside_a_burst_spoils_it() -> None:
    events = keystrokes("40063813", gap_s=0.004, enter=False) + keystrokes("33931", start=1000.5)
    assert feed_all(KeystrokeAssembler(), events) == []


def test_a_scan_after_typing_still_reads() -> None:
    a = KeystrokeAssembler()
    events = keystrokes("12", gap_s=0.2, enter=False) + keystrokes("4006381333931", start=1005.0)
    assert feed_all(a, events) == ["4006381333931"]


def test_too_short_bursts_are_not_codes() -> None:
    assert feed_all(KeystrokeAssembler(min_length=8), keystrokes("1234")) == []


def test_a_held_key_auto_repeating_is_a_person() -> None:
    events = keystrokes("40063813", enter=False)
    events.append(KeyEvent(1000.05, DIGIT_KEYS["3"], KEY_REPEAT))
    events.append(KeyEvent(1000.051, KEY_ENTER, KEY_PRESS))
    assert feed_all(KeystrokeAssembler(), events) == []


def test_shift_gives_upper_case_and_symbols() -> None:
    assert key_char(30, shift=False) == "a"
    assert key_char(30, shift=True) == "A"
    assert key_char(2, shift=True) == "!"
    assert key_char(12, shift=False) == "-"
    assert key_char(1, shift=False) is None  # Esc types nothing
    a = KeystrokeAssembler(min_length=3)
    t = 10.0
    events = [KeyEvent(t, KEY_LEFTSHIFT, KEY_PRESS)]
    for i, code in enumerate([30, 48, 46]):  # A B C
        events.append(KeyEvent(t + 0.002 * (i + 1), code, KEY_PRESS))
    events += [KeyEvent(t + 0.01, KEY_LEFTSHIFT, KEY_RELEASE), KeyEvent(t + 0.012, 2, KEY_PRESS)]
    events.append(KeyEvent(t + 0.014, KEY_ENTER, KEY_PRESS))
    assert feed_all(a, events) == ["ABC1"]


def test_events_round_trip_through_the_kernel_layout_and_partial_records_wait() -> None:
    data = pack_event(12.5, EV_KEY, 2, KEY_PRESS) + pack_event(12.6, 0, 0, 0) + pack_event(12.7, EV_KEY, 3, 0)
    events, rest = unpack_events(data + data[:5])
    assert [(e.code, e.value) for e in events] == [(2, KEY_PRESS), (3, KEY_RELEASE)]
    assert abs(events[0].at - 12.5) < 1e-6
    assert rest == data[:5]
    assert len(data) == 3 * EVENT_SIZE


@pytest.mark.parametrize(
    ("text", "symbology"),
    [
        ("4006381333931", "EAN13"),
        ("036000291452", "UPCA"),
        ("96385074", "EAN8"),
        ("01000018", "UPCE"),
        ("134567890123459001", "Code128"),
        ("ABC-123", "Code128"),
    ],
)
def test_symbology_is_guessed_from_the_shape(text: str, symbology: str) -> None:
    assert guess_symbology(text) == symbology


def test_scanned_drops_what_is_not_a_usable_code() -> None:
    assert scanned("") is None
    assert scanned("   ") is None
    assert scanned("x" * 600) is None
    assert scanned("abc\x00def") is None
    assert scanned(" 4006381333931 ") == Decoded("EAN13", "4006381333931")
    assert scanned("0036000291452") == Decoded("UPCA", "036000291452")


@given(st.binary(max_size=EVENT_SIZE * 8))
@settings(max_examples=200)
def test_random_bytes_from_the_device_never_raise(data: bytes) -> None:
    events, rest = unpack_events(data)
    assert len(rest) < EVENT_SIZE
    a = KeystrokeAssembler(min_length=1)
    for e in events:
        a.feed(e)


@given(st.text(max_size=700))
@settings(max_examples=300)
def test_random_strings_from_a_scanner_never_raise(text: str) -> None:
    code = scanned(text)
    assert code is None or (code.text and len(code.text) <= 512)


# --- the device thread --------------------------------------------------------------------------


def packed(events: list[KeyEvent]) -> bytes:
    return b"".join(pack_event(e.at, EV_KEY, e.code, e.value) for e in events)


def plug_in(device: Path) -> int:
    """Open the FIFO's writing end, which only works once the scanner holds the reading end (else ENXIO):
    the caller first waits for the scanner to report the device back."""
    return os.open(device, os.O_WRONLY | os.O_NONBLOCK)


def test_the_device_thread_reports_scans_and_survives_unplugging(tmp_path: Path) -> None:
    """GIVEN no device WHEN it appears, sends a scan and typing, goes away and comes back
    THEN one fault per absence, one recovery per return, and only the scans are reported.

    The typing is told apart by the kernel timestamps inside the events, never by when they are read.
    """
    device = tmp_path / "event-kbd"
    rec = Recorder()
    scanner = HidWedgeScanner(device, rec.on_codes, rec.on_fault, on_recover=rec.on_recover, grab=False)
    scanner.start()
    try:
        assert rec.wait_for(lambda: len(rec.faults) == 1)
        assert rec.faults[0].startswith(NOT_FOUND_FAULT)
        os.mkfifo(device)
        assert rec.wait_for(lambda: len(rec.recovered) == 1)  # the scanner has opened it
        writer = plug_in(device)
        try:
            os.write(
                writer, packed(keystrokes("1234", gap_s=0.3) + keystrokes("4006381333931", start=2000.0))
            )
            assert rec.wait_for(lambda: len(rec.codes) == 1)
            assert rec.codes == [Decoded("EAN13", "4006381333931")]
        finally:
            os.close(writer)  # the device goes away
        assert rec.wait_for(lambda: len(rec.faults) == 2)
        assert rec.faults[1] == f"{NOT_FOUND_FAULT}: end of input"
        assert rec.wait_for(lambda: len(rec.recovered) == 2)  # it comes back
        writer = plug_in(device)
        try:
            os.write(writer, packed(keystrokes("96385074", start=3000.0)))
            assert rec.wait_for(lambda: len(rec.codes) == 2)
        finally:
            os.close(writer)
    finally:
        assert scanner.stop()
    assert rec.codes[1] == Decoded("EAN8", "96385074")
    assert scanner.codes_reported == 2
    assert scanner.assembler.typed_bursts >= 1  # the "1234" typed at human speed was dropped
