"""The real clock: what production hands to every timer that takes a :class:`~kiosk.ports.Clock`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path


class SystemClock:
    """``time.monotonic`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


#: systemd-timesyncd creates this file once NTP has set the clock; it is gone after a reboot until
#: NTP answers again (image/README.md, "Time")
TIMESYNCD_FLAG = Path("/run/systemd/timesync/synchronized")

#: no clock is right before this: the day this release's clock rules were made. Raise it with the
#: releases; it only has to be earlier than any true "now" and later than a Pi's clock at boot (1970,
#: or fake-hwclock's last shutdown of an older image)
RELEASE_FLOOR_UTC = datetime(2026, 12, 1, tzinfo=UTC)


class TimesyncdClockSync:
    """systemd-timesyncd's answer: its flag file exists once NTP set the clock."""

    def __init__(self, flag: Path = TIMESYNCD_FLAG) -> None:
        self.flag = flag

    def synced(self) -> bool:
        try:
            return self.flag.exists()
        except OSError:  # an unreadable /run says nothing: not synced, and staff are told why
            return False


class SyncNotRequired:
    """A kiosk whose settings do not ask for time sync (a development machine, the demo, a clock kept
    by something other than systemd-timesyncd): the release floor still applies."""

    def synced(self) -> bool:
        return True


def time_sync_required(setting: str, flag: Path = TIMESYNCD_FLAG) -> bool:
    """``[kiosk] require_time_sync``: "yes", "no", or "auto" (required when systemd-timesyncd runs
    here, i.e. its run folder exists: on the image; not on a development box or in a container)."""
    if setting == "yes":
        return True
    if setting == "no":
        return False
    return flag.parent.is_dir()
