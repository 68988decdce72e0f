"""Child-process entry point of the watchdog test: the real KioskApp with the FakeController and
systemd's notifications bound the way ``kiosk run`` binds them (``kiosk.ui.systemd.bind_systemd``).

It sends ``STATUS=frame-flipped-N`` right after each of the window's first buffer swaps. Run with
``NOTIFY_SOCKET``, ``WATCHDOG_USEC``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb). It obeys
lines on stdin: ``hang`` blocks the UI's main loop (from a Kivy clock callback, as a stuck call on
the UI thread would) after sending ``STATUS=hanging``; ``go`` lets it run on; ``quit`` stops the app.
"""

from __future__ import annotations

import queue
import sys
import threading

from fake_controller import FakeController

from kiosk.settings import KioskSection, UiSection
from kiosk.systemd_notify import SystemdNotifier
from kiosk.ui.kivy_config import configure_kivy

#: the longest the main loop is held: only ends a test whose driver died
HANG_LIMIT_S = 120.0


def main() -> int:
    ui = UiSection(fullscreen=False, width=800, height=480)
    configure_kivy(ui)
    from kivy.clock import Clock

    from kiosk.ui.app import KioskApp
    from kiosk.ui.systemd import bind_systemd

    app = KioskApp(FakeController(), ui, kiosk_settings=KioskSection(store_name="Watchdog"))
    notifier = SystemdNotifier.from_env()
    bind_systemd(app, notifier)

    # says when each of the first frames has really gone to the screen: the buffer swap itself
    from kivy.core.window import Window

    real_flip = Window.flip
    flips: list[int] = []

    def flip_and_say() -> None:
        real_flip()
        flips.append(1)
        if len(flips) <= 3:
            notifier.status(f"frame-flipped-{len(flips)}")

    Window.flip = flip_and_say
    commands: queue.Queue[str] = queue.Queue()
    resume = threading.Event()

    def read_stdin() -> None:
        for line in sys.stdin:
            word = line.strip()
            if word == "go":
                resume.set()
            else:
                commands.put(word)
        commands.put("quit")

    threading.Thread(target=read_stdin, name="test-stdin", daemon=True).start()

    def obey(_dt: float) -> None:
        while not commands.empty():
            word = commands.get_nowait()
            if word == "hang":
                notifier.status("hanging")
                resume.wait(HANG_LIMIT_S)  # the UI thread is stuck here: no frame, no clock callback
                notifier.status("running")
            elif word == "quit":
                app.stop()

    Clock.schedule_interval(obey, 0.02)
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
