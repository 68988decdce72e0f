"""Draw the demo's sample pictures (``kiosk.samples.SAMPLES``) and check that both decoders read them.

    .venv/bin/python -m kiosk.samples.make_samples            # write the PNGs beside this file
    .venv/bin/python -m kiosk.samples.make_samples --check    # only check the committed PNGs

A payment code is drawn the way the WeChat Pay and Alipay apps show one: a phone screen with a
Code 128 barcode above a QR code, both holding the same number, and the number itself hidden
except for its first and last four digits. A product barcode is drawn as an EAN-13 on a label.
Every picture is 640 x 480, the camera's default frame size, so the simulated camera shows it as is.

Exit status 1 when a picture does not decode to its code with both zxing-cpp and pyzbar: a sample the
demo cannot read would make the demo look broken when it is not.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from drivers.camera.decoders import PyzbarDecoder, ZxingDecoder
from drivers.camera.sources import load_image
from kiosk.core.codes import CodeKind, classify
from kiosk.samples import SAMPLES, SAMPLES_DIR, Sample

WIDTH, HEIGHT = 640, 480
BACKDROP = (70, 76, 88)
BRAND = {CodeKind.WECHAT: (7, 193, 96), CodeKind.ALIPAY: (22, 119, 255)}
TITLE = {
    CodeKind.WECHAT: ("微信支付 · 付款码", "WeChat Pay"),
    CodeKind.ALIPAY: ("支付宝 · 付款码", "Alipay"),
}
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> tuple[Font, bool]:
    """A CJK font if one is installed (True), else Pillow's built-in one, which has Latin glyphs only."""
    for path in CJK_FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size), True
    return ImageFont.load_default(size=size), False


def _text(draw: ImageDraw.ImageDraw, xy: tuple[int, int], zh: str, en: str, size: int, fill: Any) -> None:
    font, cjk = _font(size)
    draw.text(xy, f"{zh}  {en}" if cjk else en, font=font, fill=fill)


def _centred(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, fill: Any) -> None:
    font, _ = _font(size)
    left, _top, right, _bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((WIDTH - (right - left)) // 2, y), text, font=font, fill=fill)


def _linear(fmt: Any, text: str, module_px: int, height_px: int) -> Image.Image:
    """A 1D symbol with its quiet zones, ``module_px`` pixels a module, ``height_px`` tall."""
    bars = np.asarray(zxingcpp.create_barcode(text, fmt).to_image(scale=1, add_quiet_zones=True))
    row = np.repeat(bars[bars.shape[0] // 2], module_px)
    return Image.fromarray(np.tile(row, (height_px, 1)).astype(np.uint8), mode="L").convert("RGB")


def _qr(text: str, module_px: int) -> Image.Image:
    symbol = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    pixels = np.asarray(symbol.to_image(scale=module_px, add_quiet_zones=True))
    return Image.fromarray(pixels.astype(np.uint8), mode="L").convert("RGB")


def _paste_centred(canvas: Image.Image, part: Image.Image, top: int) -> None:
    canvas.paste(part, ((WIDTH - part.width) // 2, top))


def draw_payment(sample: Sample) -> Image.Image:
    canvas = Image.new("RGB", (WIDTH, HEIGHT), BACKDROP)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((40, 6, 600, 474), radius=36, fill=(20, 20, 24))
    draw.rounded_rectangle((62, 18, 578, 462), radius=18, fill=(255, 255, 255))
    draw.rounded_rectangle(
        (62, 18, 578, 72), radius=18, fill=BRAND[sample.kind], corners=(True, True, False, False)
    )
    zh, en = TITLE[sample.kind]
    _text(draw, (82, 32), zh, en, 20, (255, 255, 255))
    _text(draw, (470, 38), "演示", "DEMO", 13, (255, 255, 255))
    _centred(
        draw, 80, "向商家付款 Pay the merchant" if _font(16)[1] else "Pay the merchant", 16, (110, 110, 110)
    )
    _paste_centred(canvas, _linear(zxingcpp.BarcodeFormat.Code128, sample.code, 3, 84), 106)
    hidden = f"{sample.code[:4]} {'*' * (len(sample.code) - 8)} {sample.code[-4:]}"
    _centred(draw, 194, hidden, 18, (60, 60, 60))
    _paste_centred(canvas, _qr(sample.code, 6), 222)
    _centred(
        draw,
        404,
        "每分钟自动更新 Refreshes every minute" if _font(14)[1] else "Refreshes every minute",
        14,
        (140, 140, 140),
    )
    return canvas


def draw_product(sample: Sample) -> Image.Image:
    canvas = Image.new("RGB", (WIDTH, HEIGHT), BACKDROP)
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle((110, 40, 530, 440), radius=24, fill=(236, 226, 198))
    cjk = _font(22)[1]
    _centred(draw, 70, sample.label_zh if cjk else sample.label_en, 22, (60, 50, 30))
    if cjk:
        _centred(draw, 102, sample.label_en, 16, (90, 80, 60))
    draw.rectangle((140, 150, 500, 410), fill=(255, 255, 255))
    _paste_centred(canvas, _linear(zxingcpp.BarcodeFormat.EAN13, sample.code, 3, 180), 166)
    code = sample.code
    _centred(draw, 356, f"{code[0]}  {code[1:7]}  {code[7:]}", 24, (0, 0, 0))
    return canvas


def draw(sample: Sample) -> Image.Image:
    return draw_product(sample) if sample.kind is CodeKind.PRODUCT else draw_payment(sample)


def check(sample: Sample, path: Path) -> list[str]:
    """What is wrong with the picture at ``path`` for ``sample``: empty when both backends read it right."""
    want = {"Code128", "QRCode"} if sample.kind is not CodeKind.PRODUCT else {"EAN13"}
    problems = []
    if classify(sample.code).kind is not sample.kind:
        problems.append(
            f"{sample.name}: the code classifies as {classify(sample.code).kind}, not {sample.kind}"
        )
    try:
        frame = load_image(path)
    except ValueError as exc:
        return [*problems, str(exc)]
    for decoder in (ZxingDecoder(), PyzbarDecoder()):
        found = {(c.symbology, c.text) for c in decoder.decode(frame)}
        expected = {(s, sample.code) for s in want}
        if found != expected:
            problems.append(f"{path.name}: {decoder.name} read {sorted(found)}, expected {sorted(expected)}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw and check the demo's sample code pictures.")
    parser.add_argument(
        "--out", type=Path, default=SAMPLES_DIR, help="folder to write to (default: beside this file)"
    )
    parser.add_argument("--check", action="store_true", help="only check the pictures already there")
    args = parser.parse_args(argv)
    out: Path = args.out
    problems = []
    for sample in SAMPLES:
        path = out / f"{sample.name}.png"
        if not args.check:
            out.mkdir(parents=True, exist_ok=True)
            draw(sample).save(path, optimize=True)
        problems += check(sample, path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(SAMPLES)} samples in {out} read correctly with zxing-cpp and pyzbar")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
