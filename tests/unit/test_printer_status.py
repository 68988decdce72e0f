"""DLE EOT replies to PrinterStatus, byte by byte: the pure half of the printer's status check."""

from __future__ import annotations

import pytest

from drivers.printer.status import (
    PrinterStatus,
    decode_status,
    is_status_byte,
    needs_error_cause,
    needs_offline_cause,
    silent,
)

# Reply bytes as Epson's layout gives them (and the emulator sends them): 0x12 is "nothing to report".
ONLINE, OFFLINE = 0x12, 0x1A  # DLE EOT 1, bit 3
NO_CAUSE, COVER, FEED, PAPER_STOP, ERROR = 0x12, 0x16, 0x1A, 0x32, 0x52  # DLE EOT 2: bits 2, 3, 5, 6
NO_ERROR, CUTTER, UNRECOVERABLE, AUTO_RECOVERABLE = 0x12, 0x1A, 0x32, 0x52  # DLE EOT 3: bits 3, 5, 6
PAPER_OK, NEAR_END, PAPER_OUT = 0x12, 0x1E, 0x7E  # DLE EOT 4: bits 2-3, 5-6


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ((ONLINE, None, None, PAPER_OK), PrinterStatus(True, "ok", False, "ready")),
        ((ONLINE, None, None, NEAR_END), PrinterStatus(True, "near_end", False, "paper near end")),
        ((ONLINE, None, None, None), PrinterStatus(True, "unknown", False, "paper unknown")),
        # an online printer's offline and error causes mean nothing, whatever bytes came
        ((ONLINE, COVER, CUTTER, PAPER_OK), PrinterStatus(True, "ok", False, "ready")),
        ((OFFLINE, NO_CAUSE, None, PAPER_OK), PrinterStatus(False, "ok", False, "offline")),
        ((OFFLINE, PAPER_STOP, None, PAPER_OUT), PrinterStatus(False, "out", False, "offline, paper out")),
        ((OFFLINE, COVER, None, PAPER_OK), PrinterStatus(False, "ok", True, "offline, cover open")),
        ((OFFLINE, None, None, PAPER_OK), PrinterStatus(False, "ok", None, "offline")),  # cause unanswered
        (
            (OFFLINE, FEED, None, PAPER_OK),
            PrinterStatus(False, "ok", False, "offline, feed button held", ("feed_button",)),
        ),
        (
            (OFFLINE, ERROR, CUTTER, PAPER_OK),
            PrinterStatus(False, "ok", False, "offline, cutter error", ("cutter",)),
        ),
        (
            (OFFLINE, ERROR, UNRECOVERABLE, PAPER_OK),
            PrinterStatus(False, "ok", False, "offline, unrecoverable error", ("unrecoverable",)),
        ),
        (
            (OFFLINE, ERROR, AUTO_RECOVERABLE, PAPER_OK),
            PrinterStatus(False, "ok", False, "offline, auto recoverable error", ("auto_recoverable",)),
        ),
        (
            (OFFLINE, ERROR, CUTTER | UNRECOVERABLE, PAPER_OK),
            PrinterStatus(
                False, "ok", False, "offline, cutter error, unrecoverable error", ("cutter", "unrecoverable")
            ),
        ),
        # an error whose cause did not come, or came without a known bit: the plain "error"
        ((OFFLINE, ERROR, None, PAPER_OK), PrinterStatus(False, "ok", False, "offline, error", ("error",))),
        (
            (OFFLINE, ERROR, NO_ERROR, PAPER_OK),
            PrinterStatus(False, "ok", False, "offline, error", ("error",)),
        ),
        (
            (OFFLINE, COVER | ERROR, CUTTER, PAPER_OUT),
            PrinterStatus(False, "out", True, "offline, cover open, paper out, cutter error", ("cutter",)),
        ),
    ],
)
def test_replies_decode_to_the_status(
    replies: tuple[int, int | None, int | None, int | None], expected: PrinterStatus
) -> None:
    assert decode_status(*replies) == expected


@pytest.mark.parametrize(
    ("status", "ready"),
    [
        (PrinterStatus(True, "ok", False), True),
        (PrinterStatus(True, "near_end", False), True),
        (PrinterStatus(True, "unknown", False), False),
        (PrinterStatus(True, "ok", None), True),  # cover not asked: an online printer's cover is shut
        (PrinterStatus(True, "ok", True), False),
        (PrinterStatus(True, "ok", False, errors=("internal",)), False),
        (PrinterStatus(False, "ok", False), False),
        (silent("no answer within 500 ms"), False),
    ],
)
def test_ready_means_online_with_paper_and_nothing_wrong(status: PrinterStatus, ready: bool) -> None:
    assert status.ready is ready


@pytest.mark.parametrize(
    ("byte", "is_reply"),
    [
        (0x12, True),
        (0x1A, True),
        (0x7E, True),
        (0x10, False),  # DLE: our own query echoed back by a line with echo on
        (0x04, False),
        (0x00, False),
        (0x13, False),  # bit 0 set
        (0x92, False),  # bit 7 set
        (0x02, False),  # bit 4 clear
        (0xFF, False),
    ],
)
def test_only_well_formed_bytes_are_replies(byte: int, is_reply: bool) -> None:
    assert is_status_byte(byte) is is_reply


def test_which_follow_up_queries_are_needed() -> None:
    assert (needs_offline_cause(ONLINE), needs_offline_cause(OFFLINE)) == (False, True)
    assert [needs_error_cause(b) for b in (None, NO_CAUSE, COVER, ERROR, COVER | ERROR)] == [
        False,
        False,
        False,
        True,
        True,
    ]


def test_the_json_shape_says_null_where_the_printer_did_not() -> None:
    assert silent("no answer").as_json() == {
        "online": None,
        "cover_open": None,
        "paper": "unknown",
        "errors": [],
    }
    assert decode_status(OFFLINE, ERROR, CUTTER, PAPER_OK).as_json() == {
        "online": False,
        "cover_open": False,
        "paper": "ok",
        "errors": ["cutter"],
    }
