"""``kiosk decode``: read the codes in image files with the kiosk's own decoders, one JSON line per file.

For installers checking a camera picture or a printed code, and for comparing the two backends on a
folder of images (docs/adr/0001-zxing-cpp-decoder.md). Each line says what was found, how the kiosk
would classify it, and how long the decoder alone took. Payment codes (and any other
run of 16 or more digits, which may be a wallet we do not route) are masked unless ``--show-codes``
is given, because terminal output ends up in tickets and chat logs.

    kiosk decode [--backend zxing|zxing-plain|pyzbar] [--show-codes] FILE...

``ms`` on each line is the decoder's own time for that file (grey conversion included, file reading
not); ``zxing-plain`` is zxing-cpp's single call, to compare with the kiosk's retries.

Exit status 0 when every file was read as an image, 1 when at least one was not (the others are
still decoded and printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from drivers.camera.decoders import BACKENDS
from drivers.camera.sources import read_image
from kiosk.core.codes import classify
from kiosk_common.codes import mask


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    """Add ``decode`` to the ``kiosk`` command; ``set_defaults(func=run)`` lets the CLI dispatch to it."""
    parser = subparsers.add_parser(
        "decode",
        help="read barcodes and QR codes in image files (识别图片中的条码)",
        description=(
            "Decode the barcodes and QR codes in image files with the kiosk's decoder and print one JSON "
            "line per file. Payment codes are masked unless --show-codes is given. "
            "用收银机的解码器识别图片中的条码和二维码，每个文件输出一行 JSON；付款码默认打码显示。"
        ),
    )
    _add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="zxing",
        help="decoder to use (default zxing; zxing-plain and pyzbar are the references to compare with)",
    )
    parser.add_argument(
        "--show-codes",
        action="store_true",
        help="print payment codes in full (by default only their first and last 4 digits)",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PNG, JPEG or BMP image files")


def _secret(is_payment: bool, text: str) -> bool:
    """Payment codes, and long digit strings that may be another wallet's payment code (UnionPay: 62...)."""
    return is_payment or (len(text) >= 16 and text.isascii() and text.isdigit())


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Decode ``args.files`` with ``args.backend``; mask payment codes unless ``args.show_codes``."""
    stream = out if out is not None else sys.stdout
    from kiosk.bootstrap import build_decoder

    decoder = build_decoder(args.backend)
    status = 0
    for name in args.files:
        path = Path(name)
        line: dict[str, Any] = {"file": str(path)}
        frame = read_image(path) if path.is_file() else None
        if frame is None:
            why = (
                "no such file"
                if not path.exists()
                else "not a file"
                if not path.is_file()
                else "not an image"
            )
            line["error"] = f"cannot read image: {why}; give a PNG/JPEG file"
            status = 1
        else:
            started = time.perf_counter()
            found = decoder.decode(frame)
            elapsed_ms = (time.perf_counter() - started) * 1000
            codes = []
            for code in found:
                c = classify(code.text, code.symbology)
                text = (
                    code.text if args.show_codes or not _secret(c.is_payment, code.text) else mask(code.text)
                )
                codes.append({"format": code.symbology, "text": text, "kind": str(c.kind)})
            line["codes"] = codes
            line["ms"] = round(elapsed_ms, 2)
        stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        stream.flush()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``decode`` on its own: ``python -m kiosk.commands.decode FILE...``."""
    parser = argparse.ArgumentParser(
        prog="kiosk decode", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
