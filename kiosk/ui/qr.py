"""A QR code as a picture for the screen: the e-receipt URL the printed receipt would have carried."""

from __future__ import annotations

import importlib
from typing import Any

from PIL import Image


def qr_picture(text: str, box_px: int = 8) -> Image.Image:
    """``text`` as a black-on-white RGBA QR code with its quiet zone (error correction M)."""
    qrcode: Any = importlib.import_module("qrcode")  # ships without type hints
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_px, border=4)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    img = Image.new("L", (size, size), 255)
    img.putdata([0 if cell else 255 for row in matrix for cell in row])
    return img.resize((size * box_px, size * box_px), Image.Resampling.NEAREST).convert("RGBA")
