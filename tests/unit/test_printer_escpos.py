"""EscposReceiptPrinter against python-escpos's Dummy printer: the bytes on the wire, exactly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import serial
from escpos.printer import Dummy
from hypothesis import given
from hypothesis import strategies as st

from drivers.printer.commands import content_size, encode_text
from drivers.printer.errors import FaultKind, PrinterError, PrintFault
from drivers.printer.escpos_printer import EscposReceiptPrinter
from drivers.printer.factory import PrinterConfig, open_printer
from drivers.printer.file_printer import FileReceiptPrinter
from drivers.printer.no_printer import NoPrinter
from drivers.printer.status import PrinterStatus
from kiosk.core.receipt import (
    COLUMNS_BY_WIDTH_MM,
    Receipt,
    ReceiptLayout,
    ReceiptLine,
    ReceiptTemplate,
    layout,
)

ORDER_ID = "3f2a9c1e-5b7d-4e21-9a0b-1c2d3e4f5a6b"
QR_PAYLOAD = f"order:{ORDER_ID}".encode("ascii")
INIT = b"\x1b@"
CHINESE_ON = b"\x1c&"
CHINESE_OFF = b"\x1c."
HEADER_STYLE = b"\x1bE\x01\x1ba\x01"  # emphasis on, centre
BODY_STYLE = b"\x1bE\x00\x1ba\x00"  # emphasis off, left
CENTRE = b"\x1ba\x01"
# GS ( k: module 6 dots, error correction M, store (length 3 + payload), print; model 2 is the default
NATIVE_QR = (
    b"\x1d(k\x03\x001C\x06"
    b"\x1d(k\x03\x001E1"
    + b"\x1d(k"
    + bytes([len(QR_PAYLOAD) + 3, 0])
    + b"1P0"
    + QR_PAYLOAD
    + b"\x1d(k\x03\x001Q0"
)
FEED_AND_PARTIAL_CUT = b"\x1bd\x06\x1dV\x01"

ZH_ITEMS = (
    ("可口可乐 330ml", 2, 350),
    ("康师傅红烧牛肉面", 1, 450),
    ("农夫山泉", 3, 200),
    ("面包", 1, 600),
    ("口香糖", 1, 990),
)
EN_ITEMS = (
    ("Cola 330ml", 2, 350),
    ("Instant noodles", 1, 450),
    ("Water 550ml", 3, 200),
    ("Bread", 1, 600),
    ("Gum", 1, 990),
)


def make_receipt(language: str, items: tuple[tuple[str, int, int], ...] | None = None) -> Receipt:
    items = items if items is not None else (ZH_ITEMS if language == "zh_CN" else EN_ITEMS)
    return Receipt(
        store_name="星河便利店" if language == "zh_CN" else "Star River Mart",
        kiosk_id="kiosk-001",
        order_id=ORDER_ID,
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=tuple(ReceiptLine(name, qty, unit) for name, qty, unit in items),
        total_fen=sum(qty * unit for _, qty, unit in items),
        channel="wechat",
        transaction_masked="4200********1234",
        language=language,
    )


def make_layout(language: str, width_mm: int = 58, **kw: tuple[tuple[str, int, int], ...]) -> ReceiptLayout:
    return layout(make_receipt(language, **kw), ReceiptTemplate.default(), COLUMNS_BY_WIDTH_MM[width_mm])


def gb(lines: tuple[str, ...]) -> bytes:
    """The oracle for text: each line + LF in GB18030, by the standard codec (not by our encoder)."""
    return "".join(line + "\n" for line in lines).encode("gb18030")


def printed(lay: ReceiptLayout, encoding: str = "gb18030") -> bytes:
    dummy = Dummy()
    EscposReceiptPrinter(dummy, encoding=encoding).print_receipt(ORDER_ID, lay)
    return bytes(dummy.output)


@pytest.mark.parametrize("width_mm", [58, 80])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_receipt_bytes_are_exactly_the_expected_job(language: str, width_mm: int) -> None:
    lay = make_layout(language, width_mm)
    expected = (
        INIT
        + CHINESE_ON
        + HEADER_STYLE
        + gb(lay.header)
        + BODY_STYLE
        + gb(lay.body)
        + CENTRE
        + gb(lay.footer)
        + NATIVE_QR
        + FEED_AND_PARTIAL_CUT
    )
    assert printed(lay) == expected


def test_zh_receipt_key_parts_in_order() -> None:
    out = printed(make_layout("zh_CN", 58))
    store = b"\xd0\xc7\xba\xd3\xb1\xe3\xc0\xfb\xb5\xea"  # 星河便利店 in GB18030
    total = b"\xba\xcf\xbc\xc6"  # 合计
    thanks = b"\xd0\xbb\xd0\xbb\xbb\xdd\xb9\xcb"  # 谢谢惠顾
    assert out.startswith(INIT + CHINESE_ON)
    positions = [
        out.index(part) for part in (store, b"\xbf\xc9\xbf\xda\xbf\xc9\xc0\xd6", total, thanks, NATIVE_QR)
    ]
    assert positions == sorted(positions)
    assert total + b" " * 21 + b"\xa3\xa433.40\n" in out  # "合计" then "￥33.40" flush right on 32 columns
    assert out.endswith(NATIVE_QR + FEED_AND_PARTIAL_CUT)
    assert b"\x1dv0" not in out  # no raster image anywhere: the QR is the printer's own


def test_qr_is_native_not_a_raster_image() -> None:
    out = printed(make_layout("en", 80))
    assert out.count(b"\x1d(k") == 4
    assert b"\x1d(k" + bytes([len(QR_PAYLOAD) + 3, 0]) + b"1P0" + QR_PAYLOAD in out
    assert b"\x1dv0" not in out and b"\x1b*" not in out


@pytest.mark.parametrize("width_mm", [58, 80])
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_bytes_sent_stay_within_1_2_of_the_encoded_text(language: str, width_mm: int) -> None:
    """A receipt's content is its encoded text and its QR payload; the commands around it add < 20 %."""
    lay = make_layout(language, width_mm)
    text_bytes = len(lay.text().encode("gb18030"))
    content = text_bytes + len(QR_PAYLOAD)
    assert content_size(lay, "gb18030") == content
    sent = len(printed(lay))
    assert sent / content <= 1.2, f"{sent} bytes sent for {content} bytes of content"
    # the fixed cost: init 2, Chinese mode 2, styles 15, QR commands 32, feed and cut 6
    assert sent - content == 57


def test_other_encodings_cancel_chinese_mode() -> None:
    out = printed(make_layout("en", 58), encoding="cp437")
    # FS . then ESC t 0: the profile's number for code page 437
    assert out.startswith(INIT + CHINESE_OFF + b"\x1bt\x00" + HEADER_STYLE + b"Star River Mart\n")
    assert CHINESE_ON not in out


def test_emoji_becomes_a_visible_question_mark() -> None:
    lay = make_layout("zh_CN", items=(("口香糖😀", 1, 990), ("Tea \U0001f375 cup", 1, 300)))
    out = printed(lay)
    assert "口香糖?\n".encode("gb18030") in out
    assert b"Tea ? cup\n" in out
    assert "😀".encode("gb18030") not in out


def test_characters_the_encoding_lacks_become_question_marks() -> None:
    assert encode_text("Café ¥3 中文", "cp437") == b"Caf\x82 \x9d3 ??"  # cp437 has é and ¥, not 中文
    assert encode_text("über ¥", "ascii") == b"?ber ?"


def test_control_characters_in_names_never_reach_the_wire() -> None:
    # a catalog name with ESC i (full cut) and GS V must not act as commands
    lay = make_layout("en", items=(("Evil\x1bi\x1dV\x00name\x7f\x85", 1, 100),))
    out = printed(lay)
    assert b"Evil?i?V?name??\n" in out
    assert out.count(b"\x1dV") == 1


@given(st.text(max_size=60), st.sampled_from(["gb18030", "gbk", "cp437", "ascii", "utf-8", "big5"]))
def test_any_text_encodes_without_error_or_control_bytes(text: str, encoding: str) -> None:
    data = encode_text(text, encoding)
    assert not any(b < 0x20 or b == 0x7F for b in data)
    decoded = data.decode(encoding)
    assert len(decoded) == len(text)  # one printed character (or '?') for each character given
    assert all(d == c or d == "?" for d, c in zip(decoded, text, strict=True))


def test_a_body_entry_holding_several_lines_is_sent_line_by_line() -> None:
    lay = ReceiptLayout(header=(), body=("a\nb", "c"), footer=(), qr_payload="")
    assert printed(lay) == INIT + CHINESE_ON + b"a\nb\nc\n" + FEED_AND_PARTIAL_CUT


def test_gb18030_text_keeps_bmp_symbols() -> None:
    # ¥ (U+00A5) has no two-byte GB18030 code; it goes as its four-byte sequence, not as '?'
    assert encode_text("¥1", "gb18030") == b"\x810\x846" + b"1"
    assert encode_text("\U00020000", "gb18030") == b"?"  # CJK Extension B: beyond printer fonts


class _BrokenTransport(Dummy):  # type: ignore[misc]
    """A transport whose cable has been pulled: every write fails the way pyserial's does."""

    def _raw(self, msg: bytes) -> None:
        raise OSError(5, "Input/output error")


def test_transport_error_becomes_printer_error() -> None:
    printer = EscposReceiptPrinter(_BrokenTransport())
    with pytest.raises(PrintFault, match=r"Input/output error.*check the cable") as caught:
        printer.print_receipt(ORDER_ID, make_layout("zh_CN"))
    assert caught.value.kind is FaultKind.CONNECTION_LOST
    assert caught.value.may_have_printed is True


def test_dummy_cannot_answer_status_so_it_is_not_ready() -> None:
    printer = EscposReceiptPrinter(Dummy())
    status = printer.status()
    assert status == PrinterStatus(online=None, paper="unknown", detail=status.detail)
    assert "cannot read status" in status.detail
    assert printer.is_ready() is False


def test_bad_encoding_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="'klingon' is not a Python codec"):
        EscposReceiptPrinter(Dummy(), encoding="klingon")


def test_open_printer_none_is_never_ready() -> None:
    printer = open_printer(PrinterConfig(transport="none"))
    assert isinstance(printer, NoPrinter)
    assert printer.is_ready() is False
    with pytest.raises(PrinterError, match="no printer configured"):
        printer.print_receipt(ORDER_ID, make_layout("en"))


def test_open_printer_file_writes_into_the_folder_given(tmp_path: Path) -> None:
    printer = open_printer(PrinterConfig(transport="file", device=str(tmp_path / "receipts")))
    assert isinstance(printer, FileReceiptPrinter)
    assert printer.folder == tmp_path / "receipts"


def test_open_printer_refuses_an_unknown_transport() -> None:
    with pytest.raises(ValueError, match=r"transport = 'carrier-pigeon' is not a printer transport"):
        open_printer(PrinterConfig(transport="carrier-pigeon"))  # type: ignore[arg-type]


def test_open_printer_serial_does_not_touch_a_missing_device(tmp_path: Path) -> None:
    missing = tmp_path / "ttyNOPE"
    printer = open_printer(PrinterConfig(transport="serial", device=str(missing), status_timeout_ms=50))
    assert not missing.exists()
    status = printer.status()
    assert status.online is None and str(missing) in status.detail
    assert printer.is_ready() is False
    with pytest.raises(PrintFault, match=f"cannot open the printer on {missing}") as caught:
        printer.print_receipt(ORDER_ID, make_layout("zh_CN"))
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.UNREACHABLE, False)
    printer.close()


def test_open_printer_unknown_profile_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match=r"profile = 'TM-NOPE' is not a python-escpos printer profile"):
        open_printer(PrinterConfig(profile="TM-NOPE"))


def test_golden_bytes_of_a_one_line_english_receipt() -> None:
    """Every byte written out by hand: a change to any command shows up here first."""
    lay = ReceiptLayout(header=("Shop",), body=("Tea   3.00",), footer=("Thanks",), qr_payload="order:1")
    assert printed(lay) == (
        b"\x1b@\x1c&"  # reset, Chinese mode
        b"\x1bE\x01\x1ba\x01Shop\n"  # header: bold, centred
        b"\x1bE\x00\x1ba\x00Tea   3.00\n"  # body: plain, left
        b"\x1ba\x01Thanks\n"  # footer: centred
        b"\x1d(k\x03\x001C\x06"  # QR module 6 dots
        b"\x1d(k\x03\x001E1"  # error correction M
        b"\x1d(k\x0a\x001P0order:1"  # store the payload
        b"\x1d(k\x03\x001Q0"  # print it
        b"\x1bd\x06\x1dV\x01"  # feed 6 lines, partial cut
    )


def test_profile_decides_cut_qr_and_code_page() -> None:
    """NT-5890K's profile has no partial cut and no native QR (full cut, no symbol) and numbers its
    code pages its own way (CP437 is ESC t 52 there, not 0)."""
    lay = ReceiptLayout(header=(), body=("x",), footer=(), qr_payload="order:1")
    dummy = Dummy(profile="NT-5890K")
    EscposReceiptPrinter(dummy, encoding="cp437").print_receipt(ORDER_ID, lay)
    out = bytes(dummy.output)
    assert out == b"\x1b@\x1c.\x1bt\x34x\n\x1bd\x06\x1dV\x00"


def test_nv_logo_is_printed_from_the_printer_memory() -> None:
    lay = ReceiptLayout(header=("Shop",), body=("x",), footer=(), qr_payload="")
    dummy = Dummy()
    EscposReceiptPrinter(dummy, nv_logo=1).print_receipt(ORDER_ID, lay)
    out = bytes(dummy.output)
    assert out.startswith(b"\x1b@\x1c&\x1ba\x01\x1cp\x01\x00\x1bE\x01\x1ba\x01Shop\n")  # FS p 1 0: 4 bytes
    assert b"\x1dv0" not in out  # never a raster logo


# --- a bug is not a pulled cable ------------------------------------------------------------------


class _BuggyTransport(Dummy):  # type: ignore[misc]
    """A transport whose write fails the way a bug does (in our code or a library), not a wire fault."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def _raw(self, msg: bytes) -> None:
        raise self.error


@pytest.mark.parametrize(
    "error",
    [
        ValueError("I/O operation on closed file"),
        AssertionError(),
        TypeError("a bytes-like object is required"),
    ],
    ids=["ValueError", "AssertionError", "TypeError"],
)
def test_a_bug_while_sending_is_an_internal_error_never_a_pulled_cable(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a write that fails with an exception no cable can cause WHEN a receipt is printed THEN
    staff see an internal error (not "check the cable"), the traceback is in the log, and the
    receipt counts as possibly printed (its bytes were on their way), so it is held, never repeated."""
    printer = EscposReceiptPrinter(_BuggyTransport(error))
    with pytest.raises(PrintFault, match="internal error in the printer driver") as caught:
        printer.print_receipt(ORDER_ID, make_layout("zh_CN"))
    assert caught.value.kind is FaultKind.INTERNAL
    assert "cable" not in str(caught.value)
    assert caught.value.may_have_printed is True
    assert caught.value.__cause__ is error
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert record.exc_info is not None and record.exc_info[1] is error
    assert ORDER_ID in record.getMessage()


def test_a_bug_before_any_byte_left_has_not_printed() -> None:
    """A document the driver cannot encode (a QR payload too long for any symbol) fails before the
    wire: internal error, nothing sent, so the receipt may be printed again once the bug is fixed."""
    dummy = Dummy()
    too_long = ReceiptLayout(header=(), body=("x",), footer=(), qr_payload="9" * 8000)
    with pytest.raises(PrintFault, match=r"internal error.*ValueError.*too long.*nothing was sent") as caught:
        EscposReceiptPrinter(dummy).print_receipt(ORDER_ID, too_long)
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.INTERNAL, False)
    assert dummy.output == b""


class _PortWithBuggyRead(serial.SerialBase):  # type: ignore[misc]
    """An open-looking serial port whose read raises what a wrong argument raises, not a wire error."""

    def read(self, size: int = 1) -> bytes:
        raise ValueError("Not a valid timeout")

    def reset_input_buffer(self) -> None:
        pass

    def flush(self) -> None:
        pass


def _printer_with_buggy_reads() -> tuple[Dummy, EscposReceiptPrinter]:
    dummy = Dummy()
    dummy.device = _PortWithBuggyRead()  # the reader reads status replies from this port
    return dummy, EscposReceiptPrinter(dummy, status_timeout_ms=50)


def test_a_bug_while_asking_for_status_is_an_internal_error(caplog: pytest.LogCaptureFixture) -> None:
    dummy, printer = _printer_with_buggy_reads()
    status = printer.status()
    assert status.errors == ("internal",) and status.online is None and status.ready is False
    assert "internal error in the printer driver (ValueError: Not a valid timeout)" in status.detail
    assert "status query failed" not in status.detail  # what a wire error says
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)
    assert dummy.device is not False  # the port was not dropped as if the cable had gone


def test_a_bug_in_the_status_check_before_a_receipt_sends_nothing_else() -> None:
    dummy, printer = _printer_with_buggy_reads()
    with pytest.raises(PrintFault, match="internal error") as caught:
        printer.print_receipt(ORDER_ID, make_layout("en"))
    assert (caught.value.kind, caught.value.may_have_printed) == (FaultKind.INTERNAL, False)
    assert dummy.output == b"\x10\x04\x01"  # the first status query, and not one byte of the receipt
