"""The maintenance window: the local time of day in which an update may restart the kiosk.

``[ota] maintenance_window = "02:00-05:00"`` (local time, the kiosk's ``[kiosk] timezone``); a
window whose end is before its start runs over midnight (``"22:00-02:00"``); empty means any time.
Pure: the caller passes the local time, so tests pass any clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

_WINDOW = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-3]|24):([0-5]\d)\s*$")


@dataclass(frozen=True, slots=True)
class Window:
    """From ``start`` (included) to ``end`` (excluded), minutes since local midnight."""

    start: int
    end: int

    def contains(self, at: time) -> bool:
        minute = at.hour * 60 + at.minute
        if self.start <= self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end  # over midnight

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def parse_window(text: str) -> Window | None:
    """``"HH:MM-HH:MM"`` as a ``Window``; None for "" (any time). ValueError says what is wrong."""
    if not text.strip():
        return None
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a window of local time like 02:00-05:00 (24-hour HH:MM-HH:MM), or empty for any time"
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end > 24 * 60:
        raise ValueError(f"{text!r}: the end is after 24:00")
    if start == end:
        raise ValueError(f"{text!r}: start and end are the same; leave it empty for any time")
    return Window(start, end)


def in_window(window: Window | None, at: time) -> bool:
    """May an update switch now? Always when there is no window."""
    return window is None or window.contains(at)
