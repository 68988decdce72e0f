"""Fresh payment codes for the demo, drawn the way a phone shows them (a Code 128 above a QR code).

A real payment code is single-use, so the demo makes a new one for every press of a demo button or
scripted customer. The last four digits pick the simulator's outcome (see docs/payments.md):
9001 asks for the password on the phone first, 9002 is declined; anything else is approved.
"""

from __future__ import annotations

import random

import numpy as np
import zxingcpp

from kiosk.ports import Frame

OUTCOME_SUFFIX = {"ok": None, "password": "9001", "declined": "9002"}
CHANNEL_PREFIX = {"wechat": "13", "alipay": "28"}
RESERVED = {"9001", "9002", "9003"}


def fresh_code(channel: str, outcome: str, rng: random.Random) -> str:
    """An 18-digit code of the channel's format whose suffix asks the simulator for ``outcome``."""
    prefix = CHANNEL_PREFIX[channel]
    suffix = OUTCOME_SUFFIX[outcome]
    while suffix is None:
        candidate = f"{rng.randrange(10_000):04d}"
        suffix = None if candidate in RESERVED else candidate
    middle = "".join(rng.choice("0123456789") for _ in range(18 - len(prefix) - len(suffix)))
    return prefix + middle + suffix


def render_code(code: str, width: int = 640, height: int = 480) -> Frame:
    """A grey camera frame with a phone screen showing ``code`` as Code 128 and QR, as BGR uint8."""
    frame = np.full((height, width, 3), 96, dtype=np.uint8)
    qr = np.array(
        zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.QRCode), scale=6)
    )
    bar = np.array(
        zxingcpp.write_barcode_to_image(
            zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.Code128), scale=2
        )
    )
    bar = np.repeat(bar[:1, :], 50, axis=0) if bar.shape[0] < 50 else bar
    screen_h = min(height - 20, qr.shape[0] + bar.shape[0] + 60)
    screen_w = min(width - 20, max(qr.shape[1], bar.shape[1]) + 40)
    top, left = (height - screen_h) // 2, (width - screen_w) // 2
    frame[top : top + screen_h, left : left + screen_w] = 255
    y = top + 20
    for img in (bar, qr):
        h, w = min(img.shape[0], screen_h - (y - top)), min(img.shape[1], screen_w)
        x = left + (screen_w - w) // 2
        frame[y : y + h, x : x + w] = img[:h, :w, None]
        y += h + 20
    return frame


class DemoCodes:
    """The names the demo buttons show, and a fresh frame for each."""

    NAMES = (
        "wechat_ok",
        "alipay_ok",
        "wechat_password",
        "alipay_password",
        "wechat_declined",
        "alipay_declined",
    )

    def __init__(self, width: int = 640, height: int = 480, seed: int | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
        self.width, self.height = width, height
        self.last_code = ""

    def names(self) -> list[str]:
        return list(self.NAMES)

    def code(self, name: str) -> str:
        channel, _, outcome = name.partition("_")
        if channel not in CHANNEL_PREFIX or outcome not in OUTCOME_SUFFIX:
            raise ValueError(f"no demo code {name!r}; choose one of {', '.join(self.NAMES)}")
        self.last_code = fresh_code(channel, outcome, self._rng)
        return self.last_code

    def frame(self, name: str) -> Frame:
        return render_code(self.code(name), self.width, self.height)
