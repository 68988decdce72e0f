"""Out of service: the kiosk cannot sell (``kiosk.core.availability``); the customer is sent to another
checkout, staff read the reason code and what to do in small print.

It shows instead of the attract screen (``present.customer_screen``) and goes away by itself when the
reason clears. A touch starts nothing (the controller refuses a sale while out of service); the
attract screen's hidden corner still opens the staff PIN pad, because maintenance mode is how staff
fix most reasons.
"""

from __future__ import annotations

from kiosk.ui.attract_screen import StaffCornerScreen


class OutOfServiceScreen(StaffCornerScreen):
    def customer_touch(self) -> None:
        """Nothing to start: the controller refuses a sale while the kiosk is out of service."""
