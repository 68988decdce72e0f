"""The printer emulator's ESC/POS parser and status replies, fed bytes directly (no pty)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from escpos.printer import Dummy

from drivers.printer.escpos_printer import EscposReceiptPrinter
from kiosk.core.receipt import Receipt, ReceiptLine, ReceiptTemplate, layout
from printer_emulator.emulator import PrinterEmulator, _control, render_png

CUT = b"\x1dV\x01"


@pytest.mark.parametrize(
    ("state", "replies"),
    [
        ({}, {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}),
        ({"paper": "near_end"}, {1: 0x12, 2: 0x12, 4: 0x1E}),
        ({"paper": "out"}, {1: 0x1A, 2: 0x32, 4: 0x7E}),
        ({"cover_open": True}, {1: 0x1A, 2: 0x16, 4: 0x12}),
        ({"online": False}, {1: 0x1A, 2: 0x12, 4: 0x12}),
    ],
)
def test_status_replies_follow_the_epson_bit_layout(
    state: dict[str, object], replies: dict[int, int]
) -> None:
    emulator = PrinterEmulator()
    for key, value in state.items():
        setattr(emulator, key, value)
    for n, expected in replies.items():
        assert emulator.feed(b"\x10\x04" + bytes([n])) == bytes([expected]), f"DLE EOT {n}"


def test_a_dead_printer_never_answers_and_prints_nothing() -> None:
    emulator = PrinterEmulator()
    emulator.dead = True
    assert emulator.feed(b"\x10\x04\x01\x10\x04\x04") == b""
    emulator.feed(b"\x1b@hello\n" + CUT)
    assert emulator.receipts == []
    assert emulator.bytes_received == 6 + 11


def test_unknown_status_query_gets_no_reply() -> None:
    assert PrinterEmulator().feed(b"\x10\x04\x07") == b""


def test_gb18030_needs_chinese_mode_as_on_a_real_printer() -> None:
    emulator = PrinterEmulator()
    text = "合计".encode("gb18030")
    emulator.feed(b"\x1b@" + text + b"\n" + CUT)
    emulator.feed(b"\x1b@\x1c&" + text + b"\n" + CUT)
    emulator.feed(b"\x1c&\x1b@" + text + b"\n" + CUT)  # ESC @ restores the power-on mode: off
    garbled, right, reset = emulator.receipts
    assert right == "合计\n"
    assert garbled == text.decode("cp437") + "\n"
    assert reset == garbled


def test_commands_split_across_reads_parse_the_same() -> None:
    job = b"\x1b@\x1c&\x1bE\x01\x1ba\x01" + "星河".encode("gb18030") + b"\n\x1bE\x00\x1ba\x00ab\n" + CUT
    whole, trickled = PrinterEmulator(columns=10), PrinterEmulator(columns=10)
    whole.feed(job)
    for i in range(len(job)):
        trickled.feed(job[i : i + 1])
    assert whole.receipts == trickled.receipts == ["   星河\nab\n"]


def test_alignment_pads_to_the_paper_columns() -> None:
    emulator = PrinterEmulator(columns=12)
    emulator.feed(b"\x1ba\x01abcd\n\x1ba\x02xy\n\x1ba0left\n" + CUT)
    assert emulator.receipts == ["    abcd\n          xy\nleft\n"]


def test_native_qr_prints_a_marker_line() -> None:
    emulator = PrinterEmulator()
    dummy = Dummy()
    dummy.qr("order:abc", native=True, size=6)
    emulator.feed(b"total\n" + bytes(dummy.output) + b"\x1bd\x06\x1dVA\x03")  # GS V 65 n: feed and cut
    assert emulator.receipts == ["total\n[QR] order:abc\n"]
    assert emulator.qr_codes == ["order:abc"]


def test_each_cut_ends_one_receipt() -> None:
    emulator = PrinterEmulator()
    emulator.feed(b"one\n" + CUT + b"two\n" + CUT + CUT)
    assert emulator.receipts == ["one\n", "two\n"]  # a cut with nothing printed is no receipt


def test_offline_printer_drops_what_it_is_sent() -> None:
    emulator = PrinterEmulator()
    emulator.paper = "out"
    emulator.feed(b"lost\n" + CUT)
    assert emulator.receipts == []
    assert emulator.dropped_bytes == 4
    emulator.paper = "ok"
    emulator.feed(b"kept\n" + CUT)
    assert emulator.receipts == ["kept\n"]


def test_unknown_commands_are_recorded_not_printed() -> None:
    emulator = PrinterEmulator()
    emulator.feed(b"\x1b\x99a\n" + CUT)
    assert emulator.unknown_commands == [b"\x1b\x99"]
    assert emulator.receipts == ["a\n"]


def test_paper_state_is_validated() -> None:
    with pytest.raises(ValueError, match="paper must be one of"):
        PrinterEmulator().paper = "low"  # type: ignore[assignment]


def test_stdin_commands_change_state() -> None:
    emulator = PrinterEmulator()
    assert "paper=out" in _control(emulator, "paper out")
    assert "cover_open=True" in _control(emulator, "cover open")
    _control(emulator, "dead on")
    assert emulator.dead is True
    assert "not understood" in _control(emulator, "paper low")
    assert emulator.paper == "out"


def test_driver_output_reads_back_as_the_layout() -> None:
    receipt = Receipt(
        store_name="星河便利店",
        kiosk_id="kiosk-001",
        order_id="0badf00d-0000-4000-8000-000000000000",
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=(ReceiptLine("矿泉水", 2, 200),),
        total_fen=400,
        channel="wechat",
        transaction_masked="4200********1234",
    )
    lay = layout(receipt, ReceiptTemplate.default(), 32)
    dummy = Dummy()
    EscposReceiptPrinter(dummy).print_receipt(receipt.order_id, lay)
    emulator = PrinterEmulator(columns=32)
    emulator.feed(bytes(dummy.output))
    lines = emulator.receipts[0].splitlines()
    assert lines[0] == " " * 11 + "星河便利店"  # centred: (32 - 10) // 2
    assert lines[1 : 1 + len(lay.body)] == list(lay.body)
    assert lines[-1] == "[QR] order:0badf00d-0000-4000-8000-000000000000"


def test_render_png_draws_a_readable_qr(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    text = "   星河便利店\n合计          ¥4.00\n[QR] order:0badf00d\n"
    path = render_png(text, tmp_path / "r.png")
    with Image.open(path) as image:
        assert image.width > 200 and image.height > 100
        results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == ["order:0badf00d"]


def test_cutter_error_is_reported_through_eot_2_and_3_and_stops_printing() -> None:
    emulator = PrinterEmulator()
    emulator.cutter_error = True
    assert emulator.feed(b"\x10\x04\x01") == b"\x1a"  # offline
    assert emulator.feed(b"\x10\x04\x02") == b"\x52"  # bit 6: an error occurred
    assert emulator.feed(b"\x10\x04\x03") == b"\x1a"  # bit 3: the auto-cutter
    emulator.feed(b"\x1b@hello\n" + CUT)
    assert emulator.receipts == []


def test_paper_runs_out_mid_receipt_after_the_set_byte_count() -> None:
    """GIVEN paper for 20 more bytes WHEN a longer receipt arrives THEN its start is on the paper,
    the rest is dropped, no cut happens, and the status says paper out."""
    emulator = PrinterEmulator()
    emulator.paper_out_after = 20
    emulator.feed(b"\x1b@line one\nline two is long\nline three\n" + CUT)
    assert emulator.receipts == []
    assert emulator.paper == "out" and emulator.paper_out_after is None
    assert emulator.feed(b"\x10\x04\x04") == b"\x7e"
    assert emulator.dropped_bytes > 0
    emulator.feed(b"\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08")  # DLE DC4 8: clear buffers
    assert emulator.torn == ["line one\n"]  # what came out before the paper ended, without a cut
    emulator.paper = "ok"
    emulator.feed(b"\x1b@again\n" + CUT)
    assert emulator.receipts == ["again\n"]


def test_power_cycle_forgets_the_unprinted_buffer_and_modes() -> None:
    emulator = PrinterEmulator()
    emulator.feed(b"\x1b@\x1c&half a rec")  # no newline yet: still in the print buffer
    emulator.power_cycle()
    emulator.feed("合计\n".encode("gb18030") + CUT)
    # what was buffered is gone, and Chinese mode is off again as at power-on
    assert emulator.receipts == ["合计".encode("gb18030").decode("cp437") + "\n"]


def test_nv_logo_is_stored_then_printed_by_key() -> None:
    from PIL import Image

    from drivers.printer.commands import nv_logo_bytes

    emulator = PrinterEmulator()
    emulator.feed(b"\x1b@\x1cp\x01\x00shop\n" + CUT)  # no image stored yet: nothing printed for it
    logo = Image.new("L", (768, 160), 0)  # scaled by half to 384 x 80 dots
    data = nv_logo_bytes(logo, max_width_dots=384)
    assert data[:7] == b"\x1cq\x01\x30\x00\x0a\x00"  # 48 x 8 = 384 dots wide, 10 x 8 = 80 dots high
    assert len(data) == 7 + 384 * 10 and set(data[7:]) == {0xFF}  # all black
    emulator.feed(data)
    assert emulator.nv_images == {1: (384, 80)}
    emulator.power_cycle()  # NV memory survives
    emulator.feed(b"\x1b@\x1ba\x01\x1cp\x01\x00shop\n" + CUT)
    first, second = emulator.receipts
    assert first == "shop\n"
    assert second.splitlines()[0] == "[logo 1]"
    assert emulator.unknown_commands == []


def test_stdin_fault_commands() -> None:
    emulator = PrinterEmulator()
    assert "cutter_error=True" in _control(emulator, "cutter error")
    emulator.feed(b"\x1b@partial")
    assert "not understood" not in _control(emulator, "power cycle")
    emulator.cutter_error = False
    emulator.feed(b"x\n" + CUT)
    assert emulator.receipts == ["x\n"]  # "partial" was lost in the power cycle
