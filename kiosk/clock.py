"""The real clock: what production hands to every timer that takes a :class:`~kiosk.ports.Clock`."""

from __future__ import annotations

import time


class SystemClock:
    """``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
