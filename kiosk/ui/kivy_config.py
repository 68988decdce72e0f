"""Kivy's configuration for a kiosk, applied before Kivy creates its window.

Kivy reads ``sys.argv``, the environment and its config file when ``kivy`` is first imported, and
the window reads ``Config`` when it is created; so this module imports nothing from Kivy at the
top and ``configure_kivy`` must run before ``kiosk.ui.app`` is imported.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
from pathlib import Path

from kiosk.settings import UiSection

log = logging.getLogger(__name__)

#: the environment's way to switch a Kivy module on (``KCFG_MODULES_INSPECTOR=``)
KCFG_MODULES = "KCFG_MODULES_"


def x11_screen_size(display: str | None = None) -> tuple[int, int] | None:
    """The X screen's size in pixels, asked of the X server itself; None without X (KMS/DRM, offscreen).

    Why: SDL's "fullscreen desktop" asks the window manager to make the window full screen. With
    no window manager (a kiosk's bare X server) nobody does, so the X window stays at the size it
    was created with (Kivy's 800x600 by default) and centred, while SDL reports the display's size:
    Kivy then lays out for the display and the customer sees the middle of it. Creating the window
    at the screen's size and at 0,0 makes it full screen whether or not a window manager helps.
    """
    name = display if display is not None else os.environ.get("DISPLAY", "")
    if not name or os.environ.get("SDL_VIDEODRIVER", "x11") not in ("", "x11"):
        return None
    path = ctypes.util.find_library("X11")
    if path is None:
        return None
    try:
        xlib = ctypes.CDLL(path)
    except OSError:
        return None
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XDefaultScreen.argtypes = [ctypes.c_void_p]
    xlib.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = xlib.XOpenDisplay(name.encode())
    if not dpy:
        return None
    try:
        screen = xlib.XDefaultScreen(dpy)
        width, height = int(xlib.XDisplayWidth(dpy, screen)), int(xlib.XDisplayHeight(dpy, screen))
    finally:
        xlib.XCloseDisplay(dpy)
    return (width, height) if width > 0 and height > 0 else None


def kiosk_environment(fullscreen: bool, kivy_home: Path | None = None) -> dict[str, str]:
    """The environment variables Kivy must see at import: no argv parsing, no config file, no exit
    on Escape; a stray ``~/.kivy/config.ini`` on a kiosk cannot turn a module, Escape-to-exit or the
    mouse cursor back on.
    """
    env = {
        # the kiosk's own command line is not Kivy's to parse (``-m inspector``, ``-k``, ``--size``)
        "KIVY_NO_ARGS": "1",
        # nor is a config file: Kivy configures the modules a ``config.ini`` lists while it is being
        # imported, before configure_kivy can remove them (``screen`` even exits the process), so
        # none is read or written; the settings below and in configure_kivy are the whole config
        "KIVY_NO_CONFIG": "1",
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
    for name in [n for n in os.environ if n.upper().startswith(KCFG_MODULES)]:
        # a module named in the environment is configured at import, like one in a config file
        log.warning("ignoring %s: Kivy's modules are off on a kiosk", name)
        del os.environ[name]

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
    else:
        screen = x11_screen_size()
        if screen is not None:
            # create the window as large as the screen, at its corner: full screen even when no
            # window manager honours SDL's full-screen request (see x11_screen_size)
            Config.set("graphics", "width", str(screen[0]))
            Config.set("graphics", "height", str(screen[1]))
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
            log.info("full screen on an X screen of %dx%d", *screen)
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if Config.has_section("modules"):
        for module in Config.options("modules"):
            Config.remove_option("modules", module)
