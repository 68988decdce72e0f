"""The "still there?" question: a dialog over the cart or the unpaid pay screen, with a countdown.

The checkout decides when to ask and when to give up (``kiosk.core.idle``); this dialog only shows
``vm.still_there_s`` while it is above zero and sends "continue" back. It is modal: a tap anywhere
else does nothing, because "continue" is the one answer that keeps the cart, and any touch that
reached the screen below would also count as an answer without the customer seeing what it did.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty
from kivy.uix.modalview import ModalView


class StillThereDialog(ModalView):  # type: ignore[misc]
    vm = ObjectProperty(None)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("auto_dismiss", False)
        super().__init__(**kwargs)
        self.vm.bind(still_there_s=self._follow)

    @property
    def showing(self) -> bool:
        return self._window is not None

    def _follow(self, *_args: Any) -> None:
        """Open while the checkout asks, close as soon as it stops asking (an answer or a time-out)."""
        if self.vm.still_there_s > 0 and not self.showing:
            self.open(animation=False)
        elif self.vm.still_there_s <= 0 and self.showing:
            self.dismiss(animation=False)

    def keep_going(self) -> None:
        self.vm.still_here()
