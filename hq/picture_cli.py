"""``hq catalog image set|rm|list``: the product pictures the kiosks show (``hq.pictures``).

A change takes effect on each kiosk after its next catalog pull: the kiosk fetches the new picture
(or removes the copy it fetched). The file's bytes decide whether it is a PNG or a JPEG, not its name.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hq import i18n, pictures
from hq.cli_common import EXIT_BAD_INPUT, EXIT_OK
from hq.cli_common import say as _say
from hq.db import connected
from hq.models import utc_text
from kiosk_common.pictures import MAX_IMAGE_BYTES

ACTION = "image"


def add_parsers(catalog: Any, common: argparse.ArgumentParser) -> None:
    """Add ``catalog image`` to ``hq``'s ``catalog`` subcommands."""
    image = catalog.add_parser("image", help="product pictures shown on the kiosks").add_subparsers(
        dest="sub", required=True
    )
    set_cmd = image.add_parser(
        "set",
        parents=[common],
        help="set a product's picture (a PNG or JPEG, at most 512 KiB, 2048 px a side)",
    )
    set_cmd.add_argument("sku", metavar="SKU")
    set_cmd.add_argument("file", metavar="FILE", type=Path)
    rm = image.add_parser("rm", parents=[common], help="remove a product's picture")
    rm.add_argument("sku", metavar="SKU")
    image.add_parser("list", parents=[common], help="the products that have a picture")


def _read(path: Path) -> bytes | None:
    """The file's bytes, read no further than one byte over the limit (a huge file is not slurped);
    None (and a message) when it cannot be read."""
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        _say(i18n.PICTURE_FILE_UNREADABLE.format(path=path, reason=exc.strerror or exc))
        return None


def run(args: argparse.Namespace) -> int:
    try:
        if args.sub == "set":
            data = _read(args.file)
            if data is None:
                return EXIT_BAD_INPUT
            with connected():
                info, changed = pictures.set_picture(args.sku, data)
            if not changed:
                _say(i18n.PICTURE_UNCHANGED.format(sku=info.sku), sys.stdout)
                return EXIT_OK
            shown = i18n.PICTURE_SET.format(
                sku=info.sku, name=info.name, width=info.width, height=info.height, size=info.size
            )
            _say(shown, sys.stdout)
            return EXIT_OK
        if args.sub == "rm":
            with connected():
                pictures.remove_picture(args.sku)
            _say(i18n.PICTURE_REMOVED.format(sku=args.sku), sys.stdout)
            return EXIT_OK
        with connected():
            rows = pictures.list_pictures()
        if not rows:
            _say(i18n.PICTURES_NONE, sys.stdout)
        for row in rows:
            print(
                f"{row.sku}\t{row.name}\t{row.width}x{row.height}\t{row.size}\t{row.sha256}\t"
                f"{utc_text(row.uploaded_at)}"
            )
        return EXIT_OK
    except pictures.PictureRefused as exc:
        _say(exc.text)
        return EXIT_BAD_INPUT
