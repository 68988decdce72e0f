"""Waiting for the kiosk to be idle before the machine under it is rebooted (``ota hold-kiosk``).

The update agent asks the kiosk HOLD before it restarts it (``ota.agent.KioskLink``, answered by
``kiosk.ota_link``): ``held`` means no customer is mid-sale, no payment or receipt is in flight,
nobody is in maintenance mode, and the kiosk now starts no new sale. The image's OS updates
(``kiosk-os-update``) reboot the whole Pi, so they ask the same question the same way; this is the
waiting, bounded by a count of questions (not by reading a clock), so it ends on a busy kiosk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ota.agent import KioskLink


@dataclass(frozen=True, slots=True)
class HoldOutcome:
    held: bool
    #: how many times the kiosk was asked
    asked: int
    #: one line for the journal
    detail: str


def hold_when_idle(
    link: KioskLink, wait_s: float, retry_s: float, sleep: Callable[[float], None]
) -> HoldOutcome:
    """Ask HOLD now, then every ``retry_s`` until ``wait_s`` has been spent waiting; held or not.

    A kiosk that is busy, outside its maintenance window, or not answering (stopped, starting) counts
    as not idle: the caller does not reboot, and tries again at its next run."""
    tries = 1 + max(0, math.floor(wait_s / retry_s))
    for asked in range(1, tries + 1):
        if link.hold():
            return HoldOutcome(True, asked, f"the kiosk is idle and holds (asked {asked} time(s))")
        if asked < tries:
            sleep(retry_s)
    return HoldOutcome(
        False,
        tries,
        f"the kiosk stayed busy (or did not answer) for {wait_s:.0f} s, asked {tries} time(s): "
        "not rebooting now, trying again at the next run",
    )
