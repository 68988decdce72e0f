"""Done screen: thank you, and the receipt as printed, drawn on screen on a column grid."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.screenmanager import Screen
from PIL import Image as PILImage

from kiosk.ui.fonts import ReceiptPainter

log = logging.getLogger(__name__)


class DoneScreen(Screen):  # type: ignore[misc]
    vm = ObjectProperty(None)
    has_receipt = BooleanProperty(False)

    def __init__(self, font_path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._painter: ReceiptPainter | None = None
        self._font_path = font_path

    def on_kv_post(self, base_widget: Any) -> None:
        self.vm.bind(receipt_text=self._show_receipt)
        self._show_receipt()

    def on_leave(self, *_args: Any) -> None:
        """Faded out: only now may the last customer's total and receipt be forgotten (forgetting
        them earlier is what flashed "Paid ¥0.00" during the fade)."""
        self.vm.forget_done()

    def _show_receipt(self, *_args: Any) -> None:
        text = self.vm.receipt_text
        image = self.ids.receipt
        if not text.strip() or self._font_path is None:
            image.texture = None
            self.has_receipt = False
            return
        try:
            if self._painter is None:
                self._painter = ReceiptPainter(self._font_path)
            paper = self._painter.paint(text)
        except OSError:  # an unreadable font file: say so, keep the thank-you screen
            log.exception("receipt could not be drawn with %s", self._font_path)
            image.texture = None
            self.has_receipt = False
            return
        tex = Texture.create(size=paper.size, colorfmt="rgba")
        # Pillow's row 0 is the top, OpenGL's the bottom
        tex.blit_buffer(
            paper.transpose(PILImage.Transpose.FLIP_TOP_BOTTOM).tobytes(), colorfmt="rgba", bufferfmt="ubyte"
        )
        image.texture = tex
        self.has_receipt = True
