"""Draw the boot splash's picture: ``image/rootfs/usr/share/plymouth/themes/kiosk/watermark.png``.

The picture is committed; run this again (``.venv/bin/python scripts/make-splash-watermark.py``)
after changing the words or the look. It needs a CJK font (Debian: fonts-wqy-microhei), found as
the app finds its own (``kiosk.ui.fonts``).

Plymouth's two-step plugin draws the picture on the theme's background colour (``kiosk.plymouth``,
the attract screen's brand blue) and leaves it there when the kiosk takes the display: the screen
shows the kiosk's name from the splash to the kiosk's first frame instead of going black. White
on a transparent ground, 560 x 260 pixels, so it fits the 800 x 480 touch display with room for
the throbber below it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kiosk.ui.fonts import FontNotFound, find_cjk_font

OUT = Path(__file__).resolve().parent.parent / "image/rootfs/usr/share/plymouth/themes/kiosk/watermark.png"
SIZE = (560, 260)
WHITE = (255, 255, 255, 255)
SOFT = (255, 255, 255, 200)


def draw(font_path: str) -> Image.Image:
    """The picture: a basket over the product's name in both languages and "starting"."""
    picture = Image.new("RGBA", SIZE, (0, 0, 0, 0))
    pen = ImageDraw.Draw(picture)
    middle = SIZE[0] // 2
    # a basket: handle, body, slats
    pen.arc((middle - 34, 6, middle + 34, 74), 180, 360, fill=WHITE, width=7)
    pen.polygon([(middle - 52, 40), (middle + 52, 40), (middle + 40, 96), (middle - 40, 96)], fill=WHITE)
    for x in (-22, 0, 22):
        pen.line((middle + x, 50, middle + x * 0.8, 86), fill=(19, 75, 122, 255), width=5)
    title = ImageFont.truetype(font_path, 44)
    small = ImageFont.truetype(font_path, 26)
    pen.text((middle, 150), "自助收银 · Self-checkout", font=title, fill=WHITE, anchor="mm")
    pen.text((middle, 212), "正在启动… Starting…", font=small, fill=SOFT, anchor="mm")
    return picture


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the PNG (default: {OUT})")
    parser.add_argument("--font", help="a font file with CJK glyphs (default: the app's own choice)")
    args = parser.parse_args(argv)
    try:
        font = args.font or str(find_cjk_font())
    except FontNotFound as exc:
        print(f"make-splash-watermark: {exc}", file=sys.stderr)
        return 1
    draw(font).save(args.out, optimize=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
