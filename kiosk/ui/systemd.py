"""Ties systemd's notifications to the UI's main loop: ready at the first frame, beats from the loop.

``READY=1`` goes out after the first frame of the app has been drawn and swapped onto the screen
(the splash stays until the customer's screen is really there), ``WATCHDOG=1`` from a Kivy clock callback, which only runs
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
        # Not a clock callback scheduled now: the loop ticks the clock before it draws, so that
        # ran before the first frame (a qemu boot showed the splash give way to a black screen).
        # The window's first on_flip is dispatched with the frame drawn; our handler runs before
        # the buffer swap, so it schedules READY=1 for the next tick, after the swap.
        from kivy.core.window import Window

        def flipping(*_flip: Any) -> None:
            Window.unbind(on_flip=flipping)
            events.append(Clock.schedule_once(first_frame, 0))

        Window.bind(on_flip=flipping)

    def stopped(*_args: Any) -> None:
        for event in events:
            event.cancel()
        notifier.stopping()
        notifier.close()

    app.bind(on_start=started, on_stop=stopped)
