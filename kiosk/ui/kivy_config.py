"""Kivy's configuration for a kiosk, applied before Kivy creates its window.

Kivy reads ``sys.argv``, the environment and its config file when ``kivy`` is first imported, and
the window reads ``Config`` when it is created; so this module imports nothing from Kivy at the
top and ``configure_kivy`` must run before ``kiosk.ui.app`` is imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.settings import UiSection


def kiosk_environment(fullscreen: bool, kivy_home: Path | None = None) -> dict[str, str]:
    """The environment variables Kivy must see at import: no argv parsing, no exit on Escape.

    ``KCFG_*`` variables override Kivy's config file, so a stray ``~/.kivy/config.ini`` on a kiosk
    cannot turn Escape-to-exit or the mouse cursor back on.
    """
    env = {
        # the kiosk's own command line is not Kivy's to parse
        "KIVY_NO_ARGS": "1",
        # leave Python's root logger to kiosk.logs; Kivy logs through its own logger
        "KIVY_LOG_MODE": "MIXED",
        "KCFG_KIVY_EXIT_ON_ESCAPE": "0",
        "KCFG_KIVY_DESKTOP": "0" if fullscreen else "1",
        "KCFG_GRAPHICS_FULLSCREEN": "auto" if fullscreen else "0",
        "KCFG_GRAPHICS_SHOW_CURSOR": "0" if fullscreen else "1",
        # right clicks must not leave red multitouch dots on a touchscreen
        "KCFG_INPUT_MOUSE": "mouse,disable_multitouch",
        # SDL would turn SIGTERM into a window-close request, which a full-screen kiosk refuses
        # (Alt+F4 must not close it), so `systemctl stop` hung; the kiosk handles its signals itself
        "SDL_NO_SIGNAL_HANDLERS": "1",
    }
    if kivy_home is not None:
        env["KIVY_HOME"] = str(kivy_home)
    return env


def configure_kivy(ui: UiSection, fullscreen: bool | None = None, kivy_home: Path | None = None) -> None:
    """Set Kivy up for a kiosk; call once, before the first ``import kivy`` of the process.

    Then imports ``kivy.config`` to switch off what a customer must never reach: the settings panel
    and every debugging module (inspector, console, monitor, ...), whatever the config file says.
    """
    full = ui.fullscreen if fullscreen is None else fullscreen
    os.environ.update(kiosk_environment(full, kivy_home))

    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "desktop", "0" if full else "1")
    Config.set("graphics", "fullscreen", "auto" if full else "0")
    Config.set("graphics", "show_cursor", "0" if full else "1")
    Config.set("graphics", "borderless", "1" if full else "0")
    Config.set("graphics", "resizable", "0" if full else "1")
    if not full:
        Config.set("graphics", "width", str(ui.width))
        Config.set("graphics", "height", str(ui.height))
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if Config.has_section("modules"):
        for module in Config.options("modules"):
            Config.remove_option("modules", module)
