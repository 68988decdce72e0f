"""Edges that stall and say so: a printer whose status query hangs, a gateway that holds a charge.

Each holds its call until the test releases it, after first setting ``blocked`` ("I am blocked"),
so a test can check what the UI thread does meanwhile without timing anything. A stall nobody
releases gives up after ``BOUND_S`` and records it (``held_to_bound``): the test fails instead of
hanging, and a passing test never waits for the bound.
"""

from __future__ import annotations

import threading
from pathlib import Path

from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.ports import ChargeRequest, ChargeResult
from tests.fakes.payments import FakePaymentGateway

BOUND_S = 10.0


class Stall:
    """One held call at an edge: ``blocked`` is set once the call is inside, ``release`` lets it go.
    ``held_to_bound`` is True if nobody released it (the UI thread itself was stuck in it)."""

    def __init__(self) -> None:
        self.blocked = threading.Event()
        self.release = threading.Event()
        self.held_to_bound = False

    def hold(self) -> None:
        self.blocked.set()
        if not self.release.wait(BOUND_S):
            self.held_to_bound = True


class StallingPrinter(FileReceiptPrinter):
    """A printer whose status query hangs (a USB printer that does not answer) while ``stall`` is armed."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.stall: Stall | None = None

    def is_ready(self) -> bool:
        if self.stall is not None:
            self.stall.hold()
        return bool(super().is_ready())


class StallingGateway(FakePaymentGateway):
    """A payment gateway that holds the charge until released (the simulator waiting on the bank)."""

    def __init__(self, stall: Stall) -> None:
        super().__init__()
        self.stall = stall

    def pay(self, request: ChargeRequest) -> ChargeResult:
        self.stall.hold()
        return super().pay(request)
