"""Child-process entry point of the touch-size warning test (tests/ui/test_ui_touch_size.py): the
real KioskApp started at ``--width`` x ``--height`` with ``ui.screen_diagonal_in`` = ``--diagonal``.

``KioskApp.on_start`` runs ``_check_touch_size``, which logs a warning when the theme's buttons are
under 9 mm on that display. This script records the app's warnings from start-up on, then calls
``_check_touch_size`` again with the same window on the official 7" touchscreen's diagonal (the
setting staff would correct), and prints one JSON line: ``startup`` (warnings logged by the time
the app was up) and ``after_fix`` (warnings the second check added).

Run as ``python tests/ui/ui_touch_size_main.py OUT_DIR --width W --height H --diagonal IN`` with
``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a ``DISPLAY`` (Xvfb).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FakeController
from ui_maint_main import SCRIPT_LIMIT_S, Do, Fingers, Frames, Step, run_script

from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy


class Warnings(logging.Handler):
    """The app logger's warnings, as formatted messages."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def script(f: Fingers, seen: Warnings, obs: dict[str, Any]) -> Iterator[Step]:
    from kivy.core.window import Window

    yield Frames(2, "the app is up")
    yield Do(lambda: obs.__setitem__("startup", list(seen.messages)), "note start-up warnings")
    yield Do(lambda: obs.__setitem__("window", list(Window.size)), "note the window")

    def on_a_7_inch_screen() -> None:
        before = len(seen.messages)
        f.app.ui_settings = f.app.ui_settings.model_copy(update={"screen_diagonal_in": 7.0})
        f.app._check_touch_size(tuple(Window.size))
        obs["after_fix"] = seen.messages[before:]

    yield Do(on_a_7_inch_screen, "staff set the right diagonal")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--height", type=int, required=True)
    parser.add_argument("--diagonal", type=float, required=True)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=args.width, height=args.height, screen_diagonal_in=args.diagonal)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    seen = Warnings()
    logging.getLogger("kiosk.ui.app").addHandler(seen)
    app = KioskApp(FakeController(), ui, fullscreen=False, kiosk_settings=KioskSection(store_name="Touch"))
    obs: dict[str, Any] = {}
    return run_script(app, args.out, args.timeout, lambda f: script(f, seen, obs), report=lambda: obs)


if __name__ == "__main__":
    sys.exit(main())
