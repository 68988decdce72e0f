"""``kiosk run``: the kiosk on this machine's screen, camera, printer and pins."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.settings import Settings, load_settings

log = logging.getLogger(__name__)


def build_for_ui(
    settings: Settings,
    overrides: Overrides | None = None,
    config: Path | None = None,
    *,
    enrol_on_screen: bool = False,
) -> Kiosk:
    """Build a kiosk whose background results reach the Kivy thread through the Kivy clock.

    Call only after ``kiosk.ui.configure_kivy``: the wake-up imports Kivy's clock.
    ``enrol_on_screen``: a kiosk with no HQ credentials shows the enrolment screen (``kiosk run``).
    """
    holder: list[Kiosk] = []

    def wake() -> None:
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: holder[0].controller.pump(), 0)

    holder.append(
        build_kiosk(settings, wake=wake, overrides=overrides, config=config, enrol_on_screen=enrol_on_screen)
    )
    return holder[0]


def start_errors() -> tuple[type[Exception], ...]:
    """Errors that mean "fix the installation", shown as one clear line instead of a traceback."""
    from kiosk.core.receipt import TemplateError
    from kiosk.store.db import StoreError

    return (TemplateError, StoreError, ValueError)


def stop_on_signals(app: Any) -> None:
    """SIGTERM (``systemctl stop``) and SIGINT end the UI's main loop; ``run_kiosk`` then stops the
    kiosk, giving a charge or receipt in flight ``kiosk.stop_timeout_s`` before parking it.

    The window's own close request stays refused in full screen; a signal is the operating system
    asking, and is always obeyed. A second signal while stopping ends the process at once.
    """
    from kivy.clock import Clock

    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping:
            log.warning("signal %s again while stopping: exiting now", signum)
            raise SystemExit(128 + signum)
        stopping.append(signum)
        log.info("signal %s: stopping the kiosk", signal.Signals(signum).name)
        Clock.schedule_once(lambda _dt: app.stop(), 0)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)


def run_kiosk(config: Path | None) -> int:
    from kiosk.ui import configure_kivy

    settings = load_settings(config)
    configure_kivy(settings.ui)
    try:
        # no credentials yet: the installer's enrolment screen, never the shopping screens
        kiosk = build_for_ui(settings, config=config, enrol_on_screen=True)
    except start_errors() as exc:
        print(f"kiosk: cannot start: {exc}", file=sys.stderr)
        return 2
    kiosk.start()
    try:
        from kiosk.systemd_notify import SystemdNotifier
        from kiosk.ui.app import KioskApp
        from kiosk.ui.systemd import bind_systemd

        app = KioskApp(kiosk.controller, settings.ui, kiosk_settings=settings.kiosk)
        stop_on_signals(app)
        # READY=1 at the first frame, WATCHDOG=1 from the main loop (kiosk.service: Type=notify)
        bind_systemd(app, SystemdNotifier.from_env())
        if kiosk.ota is not None:
            link = kiosk.ota
            app.bind(on_start=lambda *_args: link.healthy("ui"))
        app.run()
    finally:
        kiosk.stop()
        log.info("kiosk stopped")
    # 0, or what IT chose in maintenance mode (kiosk.maintenance.it_info.EXIT_TO_DESKTOP: no restart)
    return int(getattr(app, "exit_code", 0))
