"""``kiosk run``: the kiosk on this machine's screen, camera, printer and pins."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.settings import Settings, load_settings

log = logging.getLogger(__name__)


def build_for_ui(settings: Settings, overrides: Overrides | None = None) -> Kiosk:
    """Build a kiosk whose background results reach the Kivy thread through the Kivy clock.

    Call only after ``kiosk.ui.configure_kivy``: the wake-up imports Kivy's clock.
    """
    holder: list[Kiosk] = []

    def wake() -> None:
        from kivy.clock import Clock

        Clock.schedule_once(lambda _dt: holder[0].controller.pump(), 0)

    holder.append(build_kiosk(settings, wake=wake, overrides=overrides))
    return holder[0]


def start_errors() -> tuple[type[Exception], ...]:
    """Errors that mean "fix the installation", shown as one clear line instead of a traceback."""
    from kiosk.core.receipt import TemplateError
    from kiosk.store.db import StoreError

    return (TemplateError, StoreError, ValueError)


def run_kiosk(config: Path | None) -> int:
    from kiosk.ui import configure_kivy

    settings = load_settings(config)
    configure_kivy(settings.ui)
    try:
        kiosk = build_for_ui(settings)
    except start_errors() as exc:
        print(f"kiosk: cannot start: {exc}", file=sys.stderr)
        return 2
    kiosk.start()
    try:
        from kiosk.ui.app import KioskApp

        KioskApp(kiosk.controller, settings.ui, kiosk_settings=settings.kiosk).run()
    finally:
        kiosk.stop()
    return 0
