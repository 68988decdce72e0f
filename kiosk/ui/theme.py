"""Colours and sizes of the touch UI, in one place so every screen looks like the same product.

High contrast (dark text on white, white text on deep colours), and touch targets no smaller
than ``BUTTON_MIN_H`` pixels, because customers may be elderly, hurried or wearing gloves.
Values are plain tuples so this module needs no Kivy; the .kv files import it.
"""

from __future__ import annotations

RGBA = tuple[float, float, float, float]


def hex_rgba(code: str, alpha: float = 1.0) -> RGBA:
    code = code.lstrip("#")
    r, g, b = (int(code[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


BACKGROUND = hex_rgba("#EEF1F5")
SURFACE = hex_rgba("#FFFFFF")
SURFACE_DOWN = hex_rgba("#DCE8F7")
BORDER = hex_rgba("#C9D1DC")
TEXT = hex_rgba("#1B2430")
TEXT_MUTED = hex_rgba("#5A6573")
TEXT_ON_DARK = hex_rgba("#FFFFFF")

BRAND = hex_rgba("#134B7A")
BRAND_DARK = hex_rgba("#0C3557")
BRAND_SOFT = hex_rgba("#2C6AA0")

PRIMARY = hex_rgba("#16884A")
PRIMARY_DOWN = hex_rgba("#0F6637")
DANGER = hex_rgba("#B3261E")
DANGER_SOFT = hex_rgba("#FBE9E7")
NEUTRAL = hex_rgba("#E2E7EE")
NEUTRAL_DOWN = hex_rgba("#C8D0DB")
DISABLED = hex_rgba("#AEB6C1")

NOTICE_BG = hex_rgba("#FFF4D6")
NOTICE_FG = hex_rgba("#6B4700")
NOTICE_EDGE = hex_rgba("#E8B64C")
HELP_BG = hex_rgba("#FFF8E8")
HELP_ACCENT = hex_rgba("#C26A00")
PREVIEW_BG = hex_rgba("#1E242C")

#: touch targets, in pixels at density 1 (the .kv files pass them through dp())
BUTTON_MIN_H = 64
CART_ROW_H = 104
HEADER_H = 72
RADIUS = 14

#: font sizes (sp)
FONT_HUGE = 64
FONT_TITLE = 34
FONT_LARGE = 28
FONT_BODY = 22
FONT_SMALL = 18

# --- shopping screens (catalog tiles with pictures, item detail, search keypad, "+1" toast) ---
#: a catalog tile: its picture and name above, the price and the info button (a full touch target) below
PRODUCT_TILE_H = 140
PICTURE_SMALL = 56
#: the "+1" toast's and the flashing tile's colour
ADDED_BG = hex_rgba("#16884A")
FLASH_BG = hex_rgba("#E3F4EA")
PICTURE_BG = hex_rgba("#DCE8F7")
