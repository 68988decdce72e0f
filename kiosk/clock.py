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
    """``[kiosk] require_time_sync`` at this moment: "yes", "no", or "auto" (required while
    systemd-timesyncd's run folder exists). A one-off answer for ``kiosk doctor``; the app asks
    :func:`clock_sync_for` once and its "auto" probe asks again on every check."""
    if setting == "yes":
        return True
    if setting == "no":
        return False
    return _timesyncd_runs(flag)


def _timesyncd_runs(flag: Path) -> bool:
    try:
        return flag.parent.is_dir()
    except OSError:  # an unreadable /run: something runs there
        return True


class AutoClockSync:
    """``require_time_sync = "auto"``: time sync is required from the first check that sees
    systemd-timesyncd's run folder, and from then on for the life of the app. The folder is its
    RuntimeDirectory: it is not there yet when the kiosk starts before timesyncd, and it disappears
    whenever timesyncd stops or restarts, so a choice made once at start (or remade without memory)
    could let payments run on an unsynced clock. Before timesyncd was ever seen (a development box,
    the demo, a container) no sync is required; the image ships "yes", which closes that window too."""

    def __init__(self, flag: Path = TIMESYNCD_FLAG) -> None:
        self.flag = flag
        self._sync = TimesyncdClockSync(flag)
        self._required = False

    def required(self) -> bool:
        if not self._required:
            self._required = _timesyncd_runs(self.flag)
        return self._required

    def synced(self) -> bool:
        return not self.required() or self._sync.synced()


def clock_sync_for(
    setting: str, flag: Path = TIMESYNCD_FLAG
) -> TimesyncdClockSync | SyncNotRequired | AutoClockSync:
    """The probe ``[kiosk] require_time_sync`` asks for: "yes" always waits for the flag, "no" never
    does, "auto" decides on each check (:class:`AutoClockSync`)."""
    if setting == "yes":
        return TimesyncdClockSync(flag)
    if setting == "no":
        return SyncNotRequired()
    return AutoClockSync(flag)
