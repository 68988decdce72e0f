"""What the camera drivers hand out and take in: frames, decoded symbols, and the two small interfaces.

They live with the drivers because the drivers produce them, and a driver imports nothing from
``kiosk`` or ``hq`` (drivers take plain arguments; ``kiosk.bootstrap`` translates the settings).
``kiosk.ports`` re-exports them under the same names, so the rest of the kiosk keeps speaking of
``kiosk.ports.Decoded`` and need not know where it is defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

#: a numpy ndarray (H x W x 3 BGR or H x W gray); Any keeps numpy out of the pure layers that pass it on
Frame = Any


class FrameSource(Protocol):
    """Where frames come from: a V4L2 device, a video file or a folder of images."""

    def read(self) -> Frame | None:
        """The next frame, or None when the source has no frame now (end of file, unplugged)."""

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Decoded:
    """One symbol found in a frame. ``symbology`` uses zxing-cpp's names: QRCode, Code128, EAN13, ..."""

    symbology: str
    text: str


class Decoder(Protocol):
    name: str

    def decode(self, frame: Frame) -> list[Decoded]:
        """Every symbol in the frame; an empty list when there is none. Never raises on bad pixels."""
