"""Finding a font with Chinese glyphs, and drawing the receipt the way the printer lays it out.

Kivy's bundled Roboto has no CJK glyphs: without a CJK font every Chinese text is a row of boxes.
Kivy's SDL2 text provider can only open the first face of a font collection, and that face of
WenQuanYi Micro Hei is proportional, so on-screen receipts would drift out of their columns.
The receipt is therefore drawn with Pillow (which can pick the "Mono" face of a collection) on a
fixed grid where a wide character takes two cells, exactly as ``kiosk.core.receipt`` counts them.
No Kivy here: the app turns the image into a texture.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from kiosk.core.receipt import display_width
from kiosk.ui.qr import qr_picture
from kiosk.ui.receipt_view import QR_MODULE_COLUMNS, Paper, PaperLine

log = logging.getLogger(__name__)

FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))

#: file names in order of preference: good CJK coverage and a monospace face for receipts first
CJK_FONT_FILES: tuple[str, ...] = (
    "wqy-microhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
)

#: a bounded walk: a font folder is a few thousand files at most
_MAX_FILES_SCANNED = 20_000


class FontNotFound(LookupError):
    """No font with Chinese glyphs: Chinese text would show as boxes."""


def _search(dirs: Iterable[Path], names: tuple[str, ...]) -> Path | None:
    found: dict[str, Path] = {}
    scanned = 0
    for root_dir in dirs:
        if not root_dir.is_dir():
            continue
        for dirpath, _dirnames, filenames in os.walk(root_dir):
            for fn in filenames:
                scanned += 1
                if fn in names and fn not in found:
                    found[fn] = Path(dirpath) / fn
            if scanned > _MAX_FILES_SCANNED:
                break
    return next((found[n] for n in names if n in found), None)


def find_cjk_font(configured: str = "", dirs: Iterable[Path] = FONT_DIRS) -> Path:
    """The font file to use for every label: ``[ui] font`` when it exists, else the best one installed.

    A configured font that is missing is logged and skipped rather than fatal: a kiosk with a typo
    in its font path should still sell, in the fallback font.
    """
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
        log.warning(
            "[ui] font = %r does not exist or is not a file; searching the installed fonts instead. "
            'Set it to a TTF/TTC/OTF file with Chinese glyphs, or to "" to search.',
            configured,
        )
    path_found = _search(dirs, CJK_FONT_FILES)
    if path_found is None:
        raise FontNotFound(
            "no font with Chinese glyphs found in "
            + ", ".join(str(d) for d in dirs)
            + "; install one (Debian: apt install fonts-wqy-microhei) or set [ui] font to a font file"
        )
    return path_found


def mono_face_index(font_path: Path) -> int:
    """The index of a monospace face inside a font collection (TTC), else 0."""
    for index in range(16):
        try:
            font = ImageFont.truetype(str(font_path), 16, index=index)
        except OSError:
            break
        family = font.getname()[0] or ""
        if "mono" in family.lower():
            return index
    return 0


class ReceiptPainter:
    """Draws receipt text on a paper-coloured image, one character cell per printer column."""

    PAPER = (255, 255, 255, 255)
    INK = (32, 32, 32, 255)
    SHADOW = (0, 0, 0, 40)
    EDGE = (210, 210, 210, 255)

    def __init__(self, font_path: Path, font_px: int = 26) -> None:
        index = mono_face_index(font_path)
        self.font = ImageFont.truetype(str(font_path), font_px, index=index)
        narrow = max(self.font.getlength(ch) for ch in "M0W¥")
        wide = self.font.getlength("中")
        self.cell = math.ceil(max(narrow, wide / 2))
        ascent, descent = self.font.getmetrics()
        self.line_h = math.ceil((ascent + descent) * 1.25)
        self.margin = self.cell * 2

    def paint(self, text: str) -> Image.Image:
        """Plain receipt text, every line from the left (a document without its layout)."""
        lines = text.rstrip("\n").split("\n") if text.strip() else [""]
        columns = max(32, *(display_width(line) for line in lines))
        return self.paint_paper(Paper(columns, tuple(PaperLine(line) for line in lines), ""))

    def paint_paper(self, paper: Paper) -> Image.Image:
        """The receipt as it printed: centred lines where the printer centres them, bold where it
        emboldens, and the QR code centred under the footer at the printed size (half a column a
        module), so what the screen shows is what the customer holds."""
        qr = None
        if paper.qr_payload:
            module_px = max(2, round(self.cell * QR_MODULE_COLUMNS))
            qr = qr_picture(paper.qr_payload, box_px=module_px)
        width = paper.columns * self.cell + 2 * self.margin
        qr_h = 0 if qr is None else qr.height + self.line_h // 2
        height = len(paper.lines) * self.line_h + qr_h + 2 * self.margin
        image = Image.new("RGBA", (width + 6, height + 6), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        draw.rectangle((6, 6, width + 5, height + 5), fill=self.SHADOW)
        draw.rectangle((0, 0, width - 1, height - 1), fill=self.PAPER, outline=self.EDGE)
        y = self.margin
        for line in paper.lines:
            col = line.indent
            for ch in line.text:
                w = display_width(ch)
                if not ch.isspace():
                    x = self.margin + col * self.cell + (w * self.cell - self.font.getlength(ch)) / 2
                    # emphasis (ESC E) on a thermal head is a double strike: a one-pixel stroke
                    draw.text(
                        (x, y),
                        ch,
                        font=self.font,
                        fill=self.INK,
                        stroke_width=int(line.bold),
                        stroke_fill=self.INK,
                    )
                col += w
            y += self.line_h
        if qr is not None:
            y += self.line_h // 2
            image.alpha_composite(qr, ((width - qr.width) // 2, y))
        return image
