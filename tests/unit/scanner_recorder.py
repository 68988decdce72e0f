"""What a hand-scanner test listens with: every callback recorded, and a bounded wait for a condition.

The bound only ends a failing test; a passing one is woken by the callback it waits for.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kiosk.ports import Decoded

BOUND_S = 10.0


class Recorder:
    def __init__(self) -> None:
        self.codes: list[Decoded] = []
        self.faults: list[str] = []
        self.recovered: list[str] = []
        self.cond = threading.Condition()

    def on_codes(self, codes: list[Decoded]) -> None:
        with self.cond:
            self.codes += codes
            self.cond.notify_all()

    def on_fault(self, message: str) -> None:
        with self.cond:
            self.faults.append(message)
            self.cond.notify_all()

    def on_recover(self, message: str) -> None:
        with self.cond:
            self.recovered.append(message)
            self.cond.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = BOUND_S) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.02))  # also re-checks conditions on the scanner itself
        return True
