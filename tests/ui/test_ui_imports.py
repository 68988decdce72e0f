"""Importing the UI package (and what the demo imports before it opens a window) must not import Kivy.

Kivy parses argv and reads the environment at import; a process that only prepares settings or
runs headless must not pay for it or have its command line parsed by Kivy.
"""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import kiosk.ui, kiosk.ui.snapshots, kiosk.ui.present, kiosk.ui.fonts, kiosk.ui.theme
import kiosk.ui.kivy_config, kiosk.ui.controller_api, kiosk.i18n
loaded = sorted(m for m in sys.modules if m == "kivy" or m.startswith("kivy."))
print(",".join(loaded) or "none")
"""


def test_importing_kiosk_ui_does_not_import_kivy() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "none"


def test_kiosk_environment_turns_off_what_a_customer_must_not_reach() -> None:
    from kiosk.ui.kivy_config import kiosk_environment

    env = kiosk_environment(fullscreen=True)
    assert env["KIVY_NO_ARGS"] == "1"
    assert env["KCFG_KIVY_EXIT_ON_ESCAPE"] == "0"
    assert env["KCFG_GRAPHICS_SHOW_CURSOR"] == "0"
    assert env["KCFG_GRAPHICS_FULLSCREEN"] == "auto"
    windowed = kiosk_environment(fullscreen=False)
    assert windowed["KCFG_GRAPHICS_SHOW_CURSOR"] == "1"
    assert windowed["KCFG_GRAPHICS_FULLSCREEN"] == "0"
    assert windowed["KCFG_KIVY_EXIT_ON_ESCAPE"] == "0"
