"""The kiosk's Kivy touch UI: attract, cart, pay, done and needs-help screens.

Importing this package does not import Kivy (Kivy reads argv and the environment at import time,
and a process that never opens a window should not pay for it). Kivy is imported by
``run_ui``, ``run_snapshot_tour`` and ``kiosk.ui.app``, after ``configure_kivy`` has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.ui.kivy_config import configure_kivy

if TYPE_CHECKING:
    from kiosk.settings import KioskSection, UiSection
    from kiosk.ui.controller_api import KioskController

__all__ = ["configure_kivy", "run_ui"]


def run_ui(
    controller: KioskController,
    ui_settings: UiSection,
    fullscreen: bool | None = None,
    *,
    kiosk_settings: KioskSection | None = None,
) -> None:
    """Configure Kivy, open the window and run the touch UI until the app stops (blocks)."""
    configure_kivy(ui_settings, fullscreen)
    from kiosk.ui.app import KioskApp

    KioskApp(controller, ui_settings, fullscreen, kiosk_settings=kiosk_settings).run()
