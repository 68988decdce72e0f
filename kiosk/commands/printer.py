"""``kiosk printer``: the installer's printer tools: a test page, the live status, the reprint queue.

    kiosk printer test   [--config FILE]           zh and en text, the encoding table, a QR code, a cut
    kiosk printer status [--config FILE] [--json]  the decoded DLE EOT status (one JSON line with --json)
    kiosk printer queue  [--config FILE]           receipts waiting to be reprinted
    kiosk printer reprint [--config FILE] JOB      release a held receipt (staff checked the printer)
    kiosk printer logo   [--config FILE] IMAGE     store IMAGE as the printer's NV logo 1 (then nv_logo = 1)

Exit status: 0 when the printer did what was asked (status: is ready), 1 when it did not, 2 for a
settings error.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from pathlib import Path
from typing import TextIO

from drivers.printer.escpos_printer import EscposReceiptPrinter
from drivers.printer.factory import PrinterDriver
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM, ReceiptLayout, wrap
from kiosk.ports import PrinterError, PrinterStatus
from kiosk.settings import Settings

_CHINESE = frozenset({"gb18030", "gbk", "gb2312", "big5", "big5hkscs", "cp950"})
#: the order id a test page is printed under (a text-file printer names its file receipt-TEST-n.txt)
TEST_PAGE_ID = "test"


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "printer",
        help="test-print, read the printer's status, manage the reprint queue (打印机测试与状态)",
        description=(
            "Printer tools for installers and staff: print a test page, show the printer's live status, "
            "list and release receipts waiting to be reprinted. "
            "打印机工具：打印测试页、查看打印机实时状态、查看和补打未打印的小票。"
        ),
    )
    actions = parser.add_subparsers(dest="printer_command", required=True, metavar="ACTION")
    for name, help_text in (
        ("test", "print a test page: zh and en text, the encoding table, a QR code, and cut"),
        ("status", "ask the printer for its status (online, cover, paper, errors)"),
        ("queue", "list receipts waiting to be reprinted"),
        ("reprint", "release a held receipt so that it prints (after checking it did not)"),
        ("logo", "store an image in the printer's NV memory as logo 1 (then set [printer] nv_logo = 1)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("--config", type=Path, help="a TOML file overriding the default settings")
        if name == "status":
            action.add_argument("--json", action="store_true", help="one JSON line instead of the report")
        if name == "reprint":
            action.add_argument("job", type=int, help="the job number shown by `kiosk printer queue`")
        if name == "logo":
            action.add_argument("image", type=Path, help="a PNG or BMP; scaled to the paper width")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from kiosk.settings import load_settings

    stream = out if out is not None else sys.stdout
    settings = load_settings(args.config)
    if args.printer_command == "test":
        return print_test_page(settings, stream)
    if args.printer_command == "status":
        return show_status(settings, stream, as_json=args.json)
    if args.printer_command == "logo":
        return store_logo(settings, args.image, stream)
    return _queue_command(settings, args, stream)


def _open(settings: Settings) -> PrinterDriver:
    """The configured printer, wired as the kiosk wires it (bootstrap is loaded only when used)."""
    from kiosk.bootstrap import open_configured_printer

    return open_configured_printer(settings.printer, settings.kiosk.data_dir)


def show_status(settings: Settings, out: TextIO, *, as_json: bool) -> int:
    try:
        printer = _open(settings)
    except ValueError as exc:
        print(f"kiosk printer: {exc}", file=sys.stderr)
        return 2
    try:
        status = printer.status()
    finally:
        printer.close()
    if as_json:
        print(json.dumps(status.as_json(), ensure_ascii=False), file=out)
    else:
        print(describe(status, f"{settings.printer.transport} {settings.printer.device}"), file=out)
    return 0 if status.ready else 1


def describe(status: PrinterStatus, where: str) -> str:
    """The status for a person, in both languages."""

    def yes_no(value: bool | None, yes: str, no: str) -> str:
        return "unknown 未知" if value is None else (yes if value else no)

    paper = {
        "ok": "ok 正常",
        "near_end": "near end 将尽",
        "out": "out 缺纸",
        "unknown": "unknown 未知",
    }[status.paper]
    lines = [
        f"printer 打印机: {where}",
        f"  ready 就绪:      {'yes 是' if status.ready else 'no 否'}",
        f"  online 在线:     {yes_no(status.online, 'yes 是', 'no 否')}",
        f"  cover 纸仓盖:    {yes_no(status.cover_open, 'open 打开', 'closed 关闭')}",
        f"  paper 纸张:      {paper}",
        f"  errors 错误:     {', '.join(status.errors) or 'none 无'}",
        f"  detail 说明:     {status.detail}",
    ]
    return "\n".join(lines)


def build_test_page(encoding: str, columns: int) -> ReceiptLayout:
    """What ``kiosk printer test`` prints: text in both languages, the code table, a QR code."""
    name = codecs.lookup(encoding).name
    body = [
        "-" * columns,
        *wrap("中文：打印机测试页。如果这些汉字清楚整齐，编码设置正确。", columns),
        *wrap("English: printer test page. If this reads cleanly, the encoding is right.", columns),
        *wrap(f"encoding 编码: {name}  columns 列: {columns}", columns),
        "-" * columns,
        "0123456789" * (columns // 10) + "0123456789"[: columns % 10],
        "-" * columns,
    ]
    body += _code_table(name, columns)
    body.append("-" * columns)
    return ReceiptLayout(
        header=("打印机测试 Printer test",),
        body=tuple(body),
        footer=("扫码测试 Scan to test",),
        qr_payload="kiosk-printer-test",
    )


def _code_table(encoding: str, columns: int) -> list[str]:
    """Printable ASCII, then the high half: code-page glyphs, or GB2312 rows on a Chinese printer."""
    rows = [bytes(range(start, start + 16)).decode("ascii") for start in range(0x20, 0x80, 16)]
    lines = [f"{start:02X} {row}" for start, row in zip(range(0x20, 0x80, 16), rows, strict=True)]
    if encoding in _CHINESE:
        per_line = max(1, (columns - 5) // 2)
        for lead in (0xB0, 0xB1, 0xD6):  # three rows of the GB2312 level-1 hanzi
            chars = bytes(b for t in range(0xA1, 0xA1 + per_line) for b in (lead, t)).decode(
                encoding, errors="replace"
            )
            lines.append(f"{lead:02X}A1 {chars}")
        return [line.replace("\x7f", " ") for line in lines]
    for start in range(0x80, 0x100, 16):
        chars = bytes(range(start, start + 16)).decode(encoding, errors="replace")
        lines.append(f"{start:02X} " + "".join(ch if ch.isprintable() else "." for ch in chars))
    return [line.replace("\x7f", " ") for line in lines]


def print_test_page(settings: Settings, out: TextIO) -> int:
    try:
        printer = _open(settings)
    except ValueError as exc:
        print(f"kiosk printer: {exc}", file=sys.stderr)
        return 2
    page = build_test_page(settings.printer.encoding, COLUMNS_BY_WIDTH_MM[settings.printer.paper_width_mm])
    try:
        printer.print_receipt(TEST_PAGE_ID, page)
    except PrinterError as exc:
        print(f"test page not printed 测试页未打印: {exc}", file=out)
        return 1
    finally:
        printer.close()
    print("test page printed 测试页已打印", file=out)
    return 0


#: printable dots across the paper at 203 dpi
DOTS_BY_WIDTH_MM = {58: 384, 80: 576}


def store_logo(settings: Settings, image_path: Path, out: TextIO) -> int:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(image_path) as image:
            image.load()
            picture = image.copy()
    except (OSError, UnidentifiedImageError) as exc:
        print(
            f"kiosk printer logo: cannot read {image_path} as an image ({exc}); give a PNG or BMP",
            file=sys.stderr,
        )
        return 2
    try:
        printer = _open(settings)
    except ValueError as exc:
        print(f"kiosk printer: {exc}", file=sys.stderr)
        return 2
    try:
        if not isinstance(printer, EscposReceiptPrinter):
            print(
                f"kiosk printer logo: transport {settings.printer.transport!r} has no NV memory; "
                "use a serial, usb or network printer",
                file=sys.stderr,
            )
            return 1
        try:
            sent = printer.store_nv_logo(picture, DOTS_BY_WIDTH_MM[settings.printer.paper_width_mm])
        except (PrinterError, ValueError) as exc:
            print(f"logo not stored 标志未保存: {exc}", file=out)
            return 1
    finally:
        printer.close()
    print(f"logo stored as NV image 1 ({sent} bytes); set [printer] nv_logo = 1 标志已保存", file=out)
    return 0


def _queue_command(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from kiosk.bootstrap import build_reprints, build_store
    from kiosk.store.db import StoreError
    from kiosk.store.reprints import ReprintError

    try:
        store = build_store(settings)
    except StoreError as exc:
        print(f"kiosk printer: {exc}", file=sys.stderr)
        return 2
    db = store.db
    try:
        queue = build_reprints(store)
        if args.printer_command == "reprint":
            try:
                queue.release(args.job)
            except ReprintError as exc:
                print(f"kiosk printer reprint: {exc}; see `kiosk printer queue`", file=sys.stderr)
                return 1
            print(f"job {args.job} will print when the printer is ready 打印机就绪后补打", file=out)
            return 0
        jobs = queue.jobs()
        if not jobs:
            print("no receipts waiting 没有待补打的小票", file=out)
        for job in jobs:
            print(
                f"{job.id:>5}  {job.state:<8}  order {job.order_id[:8].upper():<8}  "
                f"attempts {job.attempts}  {job.reason}",
                file=out,
            )
        return 0
    finally:
        db.close()
