"""Ties systemd's notifications to the UI's main loop: ready once the screen is shown, beats from
the loop.

``READY=1`` goes out once the app's screen has been drawn and swapped onto the display twice (the
splash stays until the customer's screen is really there; why twice: ``bind_systemd``),
``WATCHDOG=1`` from a Kivy clock callback, which only runs while the main loop runs: a UI thread
stuck in a blocking call or a deadlock stops the beats and systemd restarts the kiosk after
``WatchdogSec``. ``STOPPING=1`` goes out when the app stops.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock

from kiosk.systemd_notify import SystemdNotifier

#: frames swapped onto the display before READY=1: the first one is not always shown (bind_systemd)
FRAMES_BEFORE_READY = 2


def bind_systemd(app: App, notifier: SystemdNotifier) -> None:
    """Notify systemd of ``app``'s life; does nothing outside systemd (no ``$NOTIFY_SOCKET``)."""
    if notifier.address is None:
        return
    events: list[Any] = []

    def screen_shown(_dt: float) -> None:
        notifier.ready("the customer's screen is up")
        interval = notifier.beat_interval_s
        if interval is not None:
            notifier.watchdog()
            events.append(Clock.schedule_interval(lambda _dt: notifier.watchdog(), interval))

    def started(*_args: Any) -> None:
        # Not a clock callback scheduled now: the loop ticks the clock before it draws, so that
        # ran before the first frame (a qemu boot showed the splash give way to a black screen).
        # Nor the first frame: on SDL2's KMS/DRM back end the first buffer put on the display
        # was black (a qemu boot watched the DRM plane: the kiosk's first framebuffer went up
        # with READY=1 and stayed black until its second frame, 9 s later under emulation).
        # So the first frame asks for a second one, and READY=1 follows that one's swap: the
        # window's on_flip is dispatched before the buffer swap, hence the next tick.
        from kivy.core.window import Window

        flips = 0

        def flipping(*_flip: Any) -> None:
            nonlocal flips
            flips += 1
            if flips < FRAMES_BEFORE_READY:
                Window.canvas.ask_update()
                return
            Window.unbind(on_flip=flipping)
            events.append(Clock.schedule_once(screen_shown, 0))

        Window.bind(on_flip=flipping)

    def stopped(*_args: Any) -> None:
        for event in events:
            event.cancel()
        notifier.stopping()
        notifier.close()

    app.bind(on_start=started, on_stop=stopped)
