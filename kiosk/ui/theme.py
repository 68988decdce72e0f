"""Colours and sizes of the touch UI, in one place so every screen looks like the same product.

High contrast (dark text on white, white text on deep colours), and touch targets no smaller
than ``BUTTON_MIN_H`` pixels, because customers may be elderly, hurried or wearing gloves.
Values are plain tuples so this module needs no Kivy; the .kv files import it.
"""

from __future__ import annotations

import math

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

#: white on it 5.4:1, and it on the page 4.8:1 (WCAG AA for body text both ways)
PRIMARY = hex_rgba("#137A42")
PRIMARY_DOWN = hex_rgba("#0F6034")
DANGER = hex_rgba("#B3261E")
DANGER_SOFT = hex_rgba("#FBE9E7")
NEUTRAL = hex_rgba("#E2E7EE")
NEUTRAL_DOWN = hex_rgba("#C8D0DB")
#: a greyed button still says what it is: white on it, and it on white, 4.7:1
DISABLED = hex_rgba("#6B7480")

NOTICE_BG = hex_rgba("#FFF4D6")
NOTICE_FG = hex_rgba("#6B4700")
NOTICE_EDGE = hex_rgba("#E8B64C")
HELP_BG = hex_rgba("#FFF8E8")
#: the help header: the language toggle's white text stays 4.5:1 on it under its 12 % white wash
HELP_ACCENT = hex_rgba("#8F4C00")
PREVIEW_BG = hex_rgba("#1E242C")

#: touch targets, in pixels at density 1 (the .kv files pass them through dp())
BUTTON_MIN_H = 64
#: a cart row: the name's two lines (scaled with the text) above the - qty + buttons
CART_NAME_H = 52
HEADER_H = 72
#: the large-text button's width (it grows with the text it enlarges)
TEXT_TOGGLE_W = 120
RADIUS = 14

#: font sizes (sp)
FONT_HUGE = 64
FONT_TITLE = 34
FONT_LARGE = 28
FONT_BODY = 22
FONT_SMALL = 18

# --- accessibility: bigger text, 9 mm touch targets, contrast (issue 12) ---------------------------

#: the customer's "大字 / Aa" button multiplies every font size by this (kiosk.ui.viewmodel.text_scale).
#: A .kv file writes ``font_size: sp(theme.FONT_BODY) * app.vm.text_scale``: the multiplication binds
#: the label to the view-model, so the whole screen follows the button at once (docs/ui.md)
LARGE_TEXT_SCALE = 1.3

#: a fingertip: the smallest side a touch target may have on the real glass (WCAG 2.5.8 asks 24 CSS
#: px; kiosk guidance and ISO 9241-9 ask about 9 mm for a bare finger on a vertical screen)
TOUCH_MIN_MM = 9.0
MM_PER_INCH = 25.4


def text_scale(large_text: bool) -> float:
    """The factor every font size is multiplied by: 1 normally, ``LARGE_TEXT_SCALE`` in large-text mode."""
    return LARGE_TEXT_SCALE if large_text else 1.0


def pixels_per_mm(width_px: int, height_px: int, diagonal_in: float) -> float:
    """The display's pixel density from its resolution and its diagonal (square pixels assumed)."""
    if width_px <= 0 or height_px <= 0 or diagonal_in <= 0:
        raise ValueError(f"a display needs a positive size, got {width_px}x{height_px} at {diagonal_in} in")
    diagonal_px = math.hypot(width_px, height_px)
    return diagonal_px / (diagonal_in * MM_PER_INCH)


def min_touch_px(width_px: int, height_px: int, diagonal_in: float, mm: float = TOUCH_MIN_MM) -> int:
    """How many pixels ``mm`` millimetres are on this display (rounded up): a target's smallest side."""
    exact = mm * pixels_per_mm(width_px, height_px, diagonal_in)
    return int(exact) + (0 if exact == int(exact) else 1)


def relative_luminance(colour: RGBA) -> float:
    """WCAG 2.x relative luminance of an opaque sRGB colour."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def over(fg: RGBA, bg: RGBA) -> RGBA:
    """``fg`` (maybe translucent) painted over an opaque ``bg``: the colour the eye gets."""
    a = fg[3]
    r, g, b = (f * a + k * (1 - a) for f, k in zip(fg[:3], bg[:3], strict=True))
    return (r, g, b, 1.0)


def contrast_ratio(fg: RGBA, bg: RGBA) -> float:
    """WCAG contrast ratio (1 to 21) of text ``fg`` on ``bg``; a translucent ``fg`` is blended first."""
    a, b = relative_luminance(over(fg, bg)), relative_luminance(bg)
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


#: WCAG AA: body text 4.5:1; large text (>= 18 pt, or 14 pt bold; about 24 px / 19 px) 3:1
CONTRAST_BODY = 4.5
CONTRAST_LARGE = 3.0

# --- shopping screens (catalog tiles with pictures, item detail, search keypad, "+1" toast) ---
#: a catalog tile: its picture and name above, the price and the info button (a full touch target) below
PRODUCT_TILE_H = 140
PICTURE_SMALL = 56
#: the "+1" toast's and the flashing tile's colour
ADDED_BG = hex_rgba("#16884A")
FLASH_BG = hex_rgba("#E3F4EA")
PICTURE_BG = hex_rgba("#DCE8F7")
