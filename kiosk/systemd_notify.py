"""Tell systemd the kiosk is up, alive and stopping: the ``sd_notify`` protocol, without libsystemd.

``kiosk.service`` is ``Type=notify`` with ``WatchdogSec``: systemd starts counting the kiosk as
started only at ``READY=1``, and restarts it when ``WATCHDOG=1`` stops arriving for longer than
``WatchdogSec``. The beats are sent from the UI's main loop (``kiosk.ui.systemd``), so a main loop
that hangs (a blocking call on the UI thread, a deadlock) stops them and systemd restarts the
kiosk, which a beat from a thread of its own could never show.

The protocol is one datagram per message to the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a path,
or ``@name`` for the abstract namespace); ``$WATCHDOG_USEC`` is the watchdog period, and
``$WATCHDOG_PID``, when set, names the process it is meant for. Outside systemd there is no socket
and every call does nothing. A notification that cannot be sent is logged once and never raised:
the checkout must not stop because systemd could not be told about it.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

#: beats per watchdog period: systemd's own advice is to send at half the period or faster
BEATS_PER_PERIOD = 2


@dataclass
class SystemdNotifier:
    """Messages to systemd's notify socket; ``address`` None: not started by systemd, do nothing."""

    address: str | None = None
    #: the watchdog period in seconds; None: no watchdog is asked for (or it is not for this process)
    watchdog_s: float | None = None
    _sock: socket.socket | None = field(default=None, repr=False)
    _warned: bool = field(default=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, pid: int | None = None) -> SystemdNotifier:
        """The notifier systemd asked for in the environment (``os.environ`` by default)."""
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        if address is not None and not (address.startswith("/") or address.startswith("@")):
            log.warning(
                "NOTIFY_SOCKET %r is neither a path nor an abstract name: not notifying systemd", address
            )
            address = None
        return cls(address=address, watchdog_s=_watchdog_period(env, os.getpid() if pid is None else pid))

    @property
    def beat_interval_s(self) -> float | None:
        """How often to send ``WATCHDOG=1``; None when no watchdog is asked for."""
        return None if self.watchdog_s is None else self.watchdog_s / BEATS_PER_PERIOD

    def ready(self, status: str = "") -> None:
        self.notify("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self) -> None:
        self.notify("WATCHDOG=1")

    def stopping(self) -> None:
        self.notify("STOPPING=1")

    def status(self, text: str) -> None:
        self.notify(f"STATUS={text}")

    def notify(self, message: str) -> bool:
        """Send one message; True when it was sent, False outside systemd or when sending failed."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode("utf-8"), target)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s (the kiosk keeps running)", self.address, exc)
                self._warned = True
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _watchdog_period(env: Mapping[str, str], pid: int) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec:
        return None
    if owner and owner != str(pid):
        return None  # the watchdog is for another process (a parent that started us)
    try:
        period = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC %r is not a number of microseconds: no watchdog beats", usec)
        return None
    return period / 1_000_000 if period > 0 else None
