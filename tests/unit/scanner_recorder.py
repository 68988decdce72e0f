"""What a hand-scanner test listens with: every callback recorded, and a bounded wait for a condition."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from kiosk.ports import Decoded


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

    def wait_for(self, condition: Callable[[], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.05))
        return True
