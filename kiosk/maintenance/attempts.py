"""The failed-unlock limiter: back-off that doubles from the ``backoff_from``-th failure, and a
lockout of ``lockout_s`` at the ``lockout_after``-th ([maintenance] settings).

After failure number n (n >= backoff_from) the next attempt waits ``base_delay_s * 2**(n -
backoff_from)`` seconds (at most ``lockout_s``). At n = lockout_after the kiosk locks out; after a
lockout has run out, each further failure locks out again, so a guesser gets one try per lockout
and never 10 fresh ones. Only a successful unlock starts the count again. Attempts refused while
waiting are not checked at all, so they cost nothing and count nothing.

The state is saved through the store after every change (Unix seconds, the wall clock: a reboot
must not end a lockout), and read back at start. Pure: the clock and the store are injected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LimiterConfig:
    backoff_from: int = 5
    lockout_after: int = 10
    base_delay_s: float = 5.0
    lockout_s: float = 900.0

    def __post_init__(self) -> None:
        if not 1 <= self.backoff_from <= self.lockout_after:
            raise ValueError("[maintenance] backoff_from must be between 1 and lockout_after")
        if self.base_delay_s <= 0 or self.lockout_s <= 0:
            raise ValueError("[maintenance] base_delay_s and lockout_s must be above 0")


@dataclass(slots=True)
class LimiterState:
    #: failed attempts since the last successful unlock
    failures: int = 0
    #: Unix seconds before which no attempt is checked
    blocked_until: float = 0.0
    #: lockouts since the last successful unlock (the heartbeat's alert for HQ)
    lockouts: int = 0


class LimiterStore(Protocol):
    def load_limiter(self) -> str | None: ...

    def save_limiter(self, state: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Failure:
    failures: int
    #: seconds until the next attempt is checked (0: at once)
    wait_s: float
    #: this failure started a lockout
    locked_out: bool


class AttemptLimiter:
    def __init__(self, config: LimiterConfig, store: LimiterStore, clock: Callable[[], float]) -> None:
        self.config = config
        self._store = store
        self._clock = clock
        self.state = self._load()

    def _load(self) -> LimiterState:
        raw = self._store.load_limiter()
        if not raw:
            return LimiterState()
        try:
            data = json.loads(raw)
            return LimiterState(int(data["failures"]), float(data["blocked_until"]), int(data["lockouts"]))
        except (ValueError, KeyError, TypeError):
            # an unreadable state must not open the door: treat it as a fresh lockout
            log.warning("maintenance limiter state unreadable; locking out as a precaution")
            c = self.config
            return LimiterState(c.lockout_after, self._clock() + c.lockout_s, 1)

    def _save(self) -> None:
        self._store.save_limiter(json.dumps(asdict(self.state), sort_keys=True))

    def wait_s(self) -> float:
        """Seconds before the next attempt may be checked; 0 when it may be checked now."""
        return max(0.0, self.state.blocked_until - self._clock())

    def locked_out(self) -> bool:
        return self.state.failures >= self.config.lockout_after and self.wait_s() > 0

    def failed(self) -> Failure:
        c = self.config
        s = self.state
        s.failures += 1
        locked = s.failures >= c.lockout_after
        if locked:
            delay = c.lockout_s
            s.lockouts += 1
        elif s.failures >= c.backoff_from:
            delay = min(c.lockout_s, c.base_delay_s * 2 ** (s.failures - c.backoff_from))
        else:
            delay = 0.0
        s.blocked_until = self._clock() + delay if delay else 0.0
        self._save()
        return Failure(s.failures, delay, locked)

    def succeeded(self) -> None:
        if self.state != LimiterState():
            self.state = LimiterState()
            self._save()
