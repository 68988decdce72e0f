"""When an animated 0..1 value (an overlay's ``shown``, a toast's opacity) has come up to full: once
per showing, whatever values the frames happen to land on.

A linear animation lands wherever the frame times put it: a frame just short of a fade-in's end gives
0.9996, the next 1.0. A watcher that takes every change to "at least 0.999" as a showing counts that
one twice, and a tour that waits for exactly N showings waits forever: the likely cause of the shop
tour's stall at "toast shown", seen once in CI on a busy machine (not reproduced).
"""

from __future__ import annotations

#: how near to 1 counts as fully shown
FULL = 0.999


class RisingEdges:
    """Feed it every value the property takes; ``rose`` is true only on the change that brings it up
    to full from below (the start of a showing), never on the frames that follow at or near full."""

    def __init__(self, full: float = FULL) -> None:
        self.full = full
        self.up = False

    def rose(self, value: float) -> bool:
        was_up, self.up = self.up, value >= self.full
        return self.up and not was_up
