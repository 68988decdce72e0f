"""Bytes and time per receipt through the ESC/POS driver and the printer emulator at real byte timing.

For receipts of 1, 2, 5 and 20 items, in zh and en, on 58 mm and 80 mm paper, at 9600 and 115200
baud: the bytes the printer received (the job plus the status queries before and after it), the
receipt's content (its encoded text plus the QR payload; docs/adr/0006-receipt-bytes-and-reprints.md),
and the time ``print_receipt`` took against the wire time those bytes need at that rate (10 bits a
byte). The emulator holds each byte for its wire time, so the driver's "printed" answer (its status
check after the job) cannot come before the printer has read the whole receipt.

Targets (brief section 6, issue 5): bytes <= 1.2 x content, time <= 1.1 x wire time. The last
lines say "within target" or "over target" for each, and the exit status is 1 when any figure is
over its target (``make bench`` stops there). The bench writes no files.

    .venv/bin/python bench/print.py [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime

from escpos.printer import Serial

from drivers.printer.commands import content_size
from drivers.printer.escpos_printer import EscposReceiptPrinter
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM, Receipt, ReceiptLine, ReceiptTemplate, layout
from printer_emulator.emulator import PrinterEmulator

ZH = ("可口可乐 330ml", "康师傅红烧牛肉面", "农夫山泉 550ml", "全麦面包", "益达口香糖 木糖醇薄荷味")
EN = ("Cola 330ml", "Instant noodles, beef", "Mineral water 550ml", "Wholemeal bread", "Gum, xylitol mint")
ORDER_ID = "3f2a9c1e-5b7d-4e21-9a0b-1c2d3e4f5a6b"
BYTES_TARGET = 1.2  # bytes sent / content (brief section 6)
TIME_TARGET = 1.1  # time / wire time of the bytes sent
TEMPLATE = ReceiptTemplate(
    header=("${store_name}", "自助收银小票 Receipt"),
    footer=("谢谢惠顾，欢迎再来", "Thank you, come again", "退款请扫码 Scan for refunds"),
)


def receipt(language: str, items: int) -> Receipt:
    names = ZH if language == "zh_CN" else EN
    lines = tuple(ReceiptLine(names[i % len(names)], 1 + i % 3, 250 + 130 * i) for i in range(items))
    return Receipt(
        store_name="星河便利店" if language == "zh_CN" else "Star River Mart",
        kiosk_id="kiosk-001",
        order_id=ORDER_ID,
        time_local=datetime(2026, 3, 14, 9, 26, 53),
        lines=lines,
        total_fen=sum(line.total_fen for line in lines),
        channel="alipay",
        transaction_masked="2026********5678",
        language=language,
    )


def measure(baudrate: int, language: str, width_mm: int, items: int, repeat: int) -> dict[str, object]:
    lay = layout(receipt(language, items), TEMPLATE, COLUMNS_BY_WIDTH_MM[width_mm])
    content = content_size(lay, "gb18030")
    times: list[float] = []
    sent = 0
    with PrinterEmulator(encoding="gb18030", columns=COLUMNS_BY_WIDTH_MM[width_mm], baudrate=baudrate) as emu:
        escpos = Serial(devfile=emu.device_path, baudrate=baudrate, timeout=0.5)
        driver = EscposReceiptPrinter(escpos, encoding="gb18030", status_timeout_ms=500)
        try:
            driver.status()  # open the port first: opening is not part of a receipt
            for n in range(repeat):
                before = emu.bytes_received
                start = time.perf_counter()
                driver.print_receipt(ORDER_ID, lay)
                times.append(time.perf_counter() - start)
                emu.wait_for_receipts(n + 1, timeout_s=10)
                sent = emu.bytes_received - before
        finally:
            driver.close()
    elapsed = statistics.median(times)
    wire = sent * 10 / baudrate
    return {
        "baud": baudrate,
        "lang": language,
        "paper_mm": width_mm,
        "items": items,
        "content_bytes": content,
        "bytes_sent": sent,
        "bytes_ratio": round(sent / content, 3),
        "time_s": round(elapsed, 3),
        "wire_s": round(wire, 3),
        "time_ratio": round(elapsed / wire, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=0,
        help="receipts per case, median time shown (default: 1 at 9600 baud, 5 at 115200 where ms matter)",
    )
    args = parser.parse_args()
    rows = []
    for baudrate in (9600, 115200):
        for language in ("zh_CN", "en"):
            for width_mm in (58, 80):
                for items in (1, 2, 5, 20):
                    repeat = args.repeat or (1 if baudrate < 115200 else 5)
                    rows.append(measure(baudrate, language, width_mm, items, repeat))
    return report(rows)


def report(rows: list[dict[str, object]]) -> int:
    """Print the table, the worst figures and their verdicts; 1 when any is over its target."""
    print(
        f"{'baud':>6} {'lang':<5} {'mm':>2} {'items':>5} {'content':>7} {'sent':>5} {'ratio':>5} "
        f"{'time s':>7} {'wire s':>7} {'t/wire':>6}"
    )
    for r in rows:
        print(
            f"{r['baud']:>6} {r['lang']:<5} {r['paper_mm']:>2} {r['items']:>5} {r['content_bytes']:>7} "
            f"{r['bytes_sent']:>5} {r['bytes_ratio']:>5} {r['time_s']:>7} {r['wire_s']:>7} {r['time_ratio']:>6}"
        )
    worst_bytes = max(float(str(r["bytes_ratio"])) for r in rows)
    bauds = sorted({int(str(r["baud"])) for r in rows})
    worst_time = {b: max(float(str(r["time_ratio"])) for r in rows if r["baud"] == b) for b in bauds}
    verdicts = verdict_lines(worst_bytes, worst_time)
    over = [line for line in verdicts if "over target" in line]
    print(
        json.dumps(
            {
                "bench": "print",
                "worst_bytes_ratio": worst_bytes,
                "worst_time_ratio": worst_time,
                "within_target": not over,
            }
        )
    )
    for line in verdicts:
        print(line)
    if over:
        print(f"print bench: over target ({len(over)} of {len(verdicts)} figures); exit status 1")
        return 1
    return 0


def verdict_lines(worst_bytes: float, worst_time: dict[int, float]) -> list[str]:
    """One line per target: the worst figure, the target, and "within target" or "over target"."""

    def verdict(value: float, target: float) -> str:
        return "within target" if value <= target else "over target"

    lines = [
        f"bytes/content: worst {worst_bytes:.3f}, target <= {BYTES_TARGET}: {verdict(worst_bytes, BYTES_TARGET)}"
    ]
    for baud, value in sorted(worst_time.items()):
        lines.append(
            f"time/wire at {baud} baud: worst {value:.3f}, target <= {TIME_TARGET}: {verdict(value, TIME_TARGET)}"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
