"""Has this code been seen within its lifetime? A pure, bounded memory of codes, kept as SHA-256 digests.

A payment code (付款码) lives about one minute on the customer's phone, and a kiosk must never try to
charge it twice. The store already refuses any code it ever submitted, but that answer costs a
database query and comes after an order exists; ``PaymentCodeGuard`` answers at once, before
anything is written, so the checkout can say "this code was already used, refresh it" the moment
the same code is shown again.

Codes are remembered only as digests (the plain code is a bearer secret and must not sit in
memory longer than needed), for ``lifetime_s`` seconds of the caller's monotonic clock, and at most
``max_entries`` of them (the oldest go first), so a stream of garbage cannot grow it without bound.
No I/O, no threads, no clock of its own: the caller passes ``now``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

#: how long WeChat Pay and Alipay keep a payment code valid
PAYMENT_CODE_LIFETIME_S = 60.0


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class SeenWindow:
    """Texts seen within the last ``lifetime_s`` seconds; not thread-safe (one owner thread)."""

    def __init__(self, lifetime_s: float, max_entries: int = 4096) -> None:
        if not lifetime_s > 0:
            raise ValueError(f"lifetime_s must be > 0, not {lifetime_s!r}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, not {max_entries!r}")
        self.lifetime_s = lifetime_s
        self.max_entries = max_entries
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # digest -> when first seen, oldest first

    def __len__(self) -> int:
        return len(self._seen)

    def expire(self, now: float) -> None:
        """Forget every text older than the lifetime."""
        while self._seen:
            digest, at = next(iter(self._seen.items()))
            if now - at < self.lifetime_s:
                break
            del self._seen[digest]

    def seen(self, text: str, now: float) -> bool:
        """True when ``text`` was added less than ``lifetime_s`` ago. Does not add it."""
        self.expire(now)
        return _digest(text) in self._seen

    def add(self, text: str, now: float) -> bool:
        """Remember ``text`` from ``now``; True when it was new (not seen within its lifetime).

        A text seen again keeps its first time: a code's lifetime runs from when it was first shown,
        however long the customer keeps holding it up.
        """
        self.expire(now)
        digest = _digest(text)
        if digest in self._seen:
            return False
        self._seen[digest] = now
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)
        return True

    def clear(self) -> None:
        self._seen.clear()


class PaymentCodeGuard:
    """Admits a payment code for charging once within its lifetime (one minute).

    The controller asks ``admit(code, now)`` just before it dispatches a scanned payment code: True
    the first time, False for the same code again within the minute (the customer must refresh it).
    """

    def __init__(self, lifetime_s: float = PAYMENT_CODE_LIFETIME_S, max_entries: int = 4096) -> None:
        self._window = SeenWindow(lifetime_s, max_entries)

    @property
    def lifetime_s(self) -> float:
        return self._window.lifetime_s

    def admit(self, code: str, now: float) -> bool:
        return self._window.add(code, now)

    def was_used(self, code: str, now: float) -> bool:
        return self._window.seen(code, now)

    def __len__(self) -> int:
        return len(self._window)
