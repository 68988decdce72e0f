"""What the touch UI may ask of the checkout controller, and nothing more.

``kiosk.controller.CheckoutController`` satisfies this protocol; so does the test's
``FakeController``. Typing the UI against the protocol keeps the screens from reaching into the
store, the drivers or the controller's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kiosk.core.cart import Product
from kiosk.core.checkout import Checkout, Event
from kiosk.ports import Frame


class KioskController(Protocol):
    @property
    def state(self) -> Checkout: ...

    def subscribe(self, listener: Callable[[Checkout], None]) -> None:
        """``listener`` runs after every state change, on whichever thread made the change."""

    def dispatch(self, event: Event) -> None:
        """Call from the UI thread only."""

    def catalog(self) -> list[Product]: ...

    @property
    def language(self) -> str: ...

    def set_language(self, language: str) -> None: ...

    def last_receipt_text(self) -> str: ...

    def current_receipt_url(self) -> str:
        """The e-receipt URL of the sale on screen ("" when none): shown as a QR when it did not print."""

    def latest_frame(self) -> Frame | None:
        """The camera's newest BGR (or grey) uint8 frame, or None when there is none."""

    def sample_codes(self) -> list[str]:
        """Demo only: names of the sample payment codes; [] outside the demo."""

    def hold_up_sample(self, name: str) -> None: ...

    def tick(self, now: float) -> None: ...
