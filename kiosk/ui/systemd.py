"""Ties systemd's notifications to the UI's main loop: ready at the first frame, beats from the loop.

``READY=1`` goes out after the first frame of the app has been drawn (the splash stays until the
customer's screen is really there), ``WATCHDOG=1`` from a Kivy clock callback, which only runs
while the main loop runs: a UI thread stuck in a blocking call or a deadlock stops the beats and
systemd restarts the kiosk after ``WatchdogSec``. ``STOPPING=1`` goes out when the app stops.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock

from kiosk.systemd_notify import SystemdNotifier


def bind_systemd(app: App, notifier: SystemdNotifier) -> None:
    """Notify systemd of ``app``'s life; does nothing outside systemd (no ``$NOTIFY_SOCKET``)."""
    if notifier.address is None:
        return
    events: list[Any] = []

    def first_frame(_dt: float) -> None:
        notifier.ready("the customer's screen is up")
        interval = notifier.beat_interval_s
        if interval is not None:
            notifier.watchdog()
            events.append(Clock.schedule_interval(lambda _dt: notifier.watchdog(), interval))

    def started(*_args: Any) -> None:
        # scheduled now, run on the next frame: after the first frame has been drawn
        events.append(Clock.schedule_once(first_frame, 0))

    def stopped(*_args: Any) -> None:
        for event in events:
            event.cancel()
        notifier.stopping()
        notifier.close()

    app.bind(on_start=started, on_stop=stopped)
