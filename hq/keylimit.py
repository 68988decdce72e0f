"""Holding back a client address that keeps failing to authenticate.

Every way in counts the same: a kiosk request whose signature HQ refuses, an enrolment code that is
wrong, used or expired, an admin password or bearer token that is wrong. A kiosk's secret and an
admin token are 256 random bits, so guessing them is hopeless; an enrolment code (about 79 bits) and
an admin password are what this limit really protects, and a stream of failures would also fill the
log and keep HQ busy. So each client address gets a window that opens at its first failure and lasts
``window_s``: after ``max_bad_keys`` failures in it, every request from that address that needs
authentication is answered 429 with ``Retry-After`` until the window ends, without looking at what
it sent (a right code or password from it waits too, or guessing would go on under the 429s). Other
addresses are not affected. Each window is logged once, as one WARNING when it closes, with how many
requests it refused and how.

A window is reported on the first request HQ handles after it ends (from any client), or when HQ
stops, so the limiter needs no thread of its own; the clock is injected so tests need not sleep.
IPv6 clients are counted per /64, the block one subscriber usually holds. The table is bounded:
past ``max_clients`` open windows the oldest is closed early, so a flood of addresses costs memory
only up to that bound.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from kiosk_common.codes import mask

log = logging.getLogger(__name__)

#: longest credential shown (masked) in the log; a longer one is shown by its length
MAX_KEY_SHOWN = 64


def client_key(host: str | None) -> str:
    """The address a client is counted under: the IPv4 address, the IPv6 /64, or the text given."""
    if not host:
        return "(unknown address)"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def key_hint(credential: str) -> str:
    """What was sent (a signature header, a code, a name) as the log may show it: masked, and never
    more than a short line."""
    if not credential:
        return "(nothing sent)"
    if len(credential) <= MAX_KEY_SHOWN:
        return mask(credential)
    return f"{mask(credential[:12])}... ({len(credential)} characters)"


@dataclass(slots=True)
class _Window:
    start: float
    failed: int = 0
    held_back: int = 0
    last_key: str = ""


class BadKeyLimiter:
    """Counts authentication failures per client address and says when to answer 429. Thread-safe."""

    def __init__(
        self,
        max_bad_keys: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if max_bad_keys < 1 or window_s <= 0 or max_clients < 1:
            raise ValueError("max_bad_keys, window_s and max_clients must be positive")
        self.max_bad_keys = max_bad_keys
        self.window_s = window_s
        self._clock = clock
        self._max_clients = max_clients
        self._lock = threading.Lock()
        # insertion order is opening order, so the windows that ended first are at the front
        self._windows: dict[str, _Window] = {}

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try to authenticate again, or None if it may now.

        A request answered this way is counted as held back in the client's window.
        """
        with self._lock:
            now = self._clock()
            self._close_ended(now)
            window = self._windows.get(client)
            if window is None or window.failed < self.max_bad_keys:
                return None
            window.held_back += 1
            return max(1, math.ceil(window.start + self.window_s - now))

    def refused(self, client: str, credential: str) -> None:
        """Count a failure of ``client`` (``credential`` is what it sent, for the log, masked), opening
        its window if it has none open."""
        with self._lock:
            now = self._clock()
            self._close_ended(now)
            window = self._windows.get(client)
            if window is None:
                while len(self._windows) >= self._max_clients:
                    oldest = next(iter(self._windows))
                    self._report(oldest, self._windows.pop(oldest), early=True)
                window = self._windows[client] = _Window(start=now)
            window.failed += 1
            window.last_key = key_hint(credential)

    def close(self) -> None:
        """Report every open window now (HQ is stopping) and forget them."""
        with self._lock:
            for client, window in self._windows.items():
                self._report(client, window, early=True)
            self._windows.clear()

    def _close_ended(self, now: float) -> None:
        while self._windows:
            client = next(iter(self._windows))
            window = self._windows[client]
            if window.start + self.window_s > now:
                return
            del self._windows[client]
            self._report(client, window, early=False)

    def _report(self, client: str, window: _Window, early: bool) -> None:
        log.warning(
            "refused %d request(s) from %s in a %g s window%s: %d failed to authenticate (last sent %s), "
            "%d held back with 429",
            window.failed + window.held_back,
            client,
            self.window_s,
            " (reported before its end: HQ is stopping or tracks too many addresses)" if early else "",
            window.failed,
            window.last_key,
            window.held_back,
        )
