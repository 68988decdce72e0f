"""The kiosk in full screen is locked down and fills the real screen, with no window manager.

GIVEN the real KioskApp in full screen on an Xvfb of its own size, with no window manager
WHEN the X server's own picture of the screen is compared with what Kivy laid out
THEN they are the same picture, the window is the screen's size and no widget lies outside it
     (before: the X window stayed at Kivy's default 800x600, centred, while Kivy laid out for the
     whole screen, so the store name, the language buttons and half the start button were cut off)

GIVEN the same app, with a Kivy config file that turns the inspector, monitor and Escape-to-exit on,
      KIVY_NO_ARGS unset and Kivy options on the command line
WHEN Esc, F1, Ctrl+E, Alt+F4, Ctrl+Q (and the rest of Kivy's keys) are pressed on the attract and
     cart screens, a close request arrives, and two and three fingers pinch and swipe
THEN the app keeps running on the same screen with nothing but its own root on the window:
     no settings panel, no inspector, no Kivy module active, the sale still there.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from ui_harness import TourRun, run_tour

from kiosk.cli import main as kiosk_main

pytestmark = pytest.mark.ui

XVFB_START_TIMEOUT_S = 15.0


@contextmanager
def xvfb(size: str) -> Iterator[str]:
    """An Xvfb of the given size (``WxH``), no window manager; yields its DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.fail("Xvfb is not installed (Debian: apt install xvfb xauth)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            "Xvfb",
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{size}x24",
            "+extension",
            "GLX",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        sel = selectors.DefaultSelector()
        sel.register(read_fd, selectors.EVENT_READ)
        ready = sel.select(timeout=XVFB_START_TIMEOUT_S)
        sel.close()
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number.isdigit():
            pytest.fail(f"Xvfb {size} did not start within {XVFB_START_TIMEOUT_S} s")
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def run_lock(tmp: Path, size: str, *args: str) -> TourRun:
    with xvfb(size) as display:
        return run_tour(display, tmp, "ui_lock_main.py", *args)


@pytest.mark.parametrize("size", ["800x600", "800x480", "1280x720"])
def test_full_screen_fills_the_real_screen_without_a_window_manager(tmp_path: Path, size: str) -> None:
    run = run_lock(tmp_path, size, "--script", "fit")
    assert run.returncode == 0, run.log[-3000:]
    obs = run.result["obs"]
    expected = [int(v) for v in size.split("x")]
    assert obs["screen_size"] == expected
    assert obs["window_size"] == expected
    assert obs["drawn_size"] == expected
    # what the customer sees is what was laid out (before the fix: 40% of a 1280x720 screen was black)
    assert obs["differing_fraction"] < 0.01, f"{obs['differing_fraction']:.1%} of the screen differs"
    assert obs["outside"] == []


@pytest.fixture(scope="module")
def keys_run(tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    with xvfb("1024x600") as display:
        return run_tour(
            display, tmp_path_factory.mktemp("lock"), "ui_lock_main.py", "--script", "keys", "--hostile"
        )


def test_the_hostile_run_finished(keys_run: TourRun) -> None:
    assert keys_run.returncode == 0, keys_run.log[-3000:]
    assert keys_run.result["failure"] == ""
    assert keys_run.result["obs"]["argv"][:2] == ["-m", "inspector"]


def test_kivy_config_file_and_command_line_are_ignored(keys_run: TourRun) -> None:
    obs = keys_run.result["obs"]
    # not --size=640x400, not the config file's 640x400: the screen
    assert obs["window_size"] == [1024, 600]
    assert obs["start"]["modules_active"] == []
    assert obs["start"]["root_alone"] is True


KEY_LABELS = [
    "esc",
    "f1",
    "ctrl_e",
    "alt_f4",
    "ctrl_q",
    "ctrl_w",
    "f11",
    "shift_f11",
    "f12",
    "ctrl_p",
    "android_back",
]


@pytest.mark.parametrize("where", ["attract", "cart"])
def test_no_key_and_no_close_request_leads_out(keys_run: TourRun, where: str) -> None:
    obs = keys_run.result["obs"]
    for label in [*KEY_LABELS, "close_request"]:
        state = obs[f"{where}:{label}"]
        assert state["loop"] == "started", f"{label} stopped the app"
        assert state["screen"] == where, f"{label} changed the screen"
        assert state["root_alone"] is True, f"{label} put {state['window_children']} on the window"
        assert state["settings_panel"] is False, f"{label} built the settings panel"
        assert state["modules_active"] == [], f"{label} activated {state['modules_active']}"
    assert obs[f"{where}:close_request_refused"] is True


def test_multi_finger_gestures_change_nothing(keys_run: TourRun) -> None:
    obs = keys_run.result["obs"]
    for label in ("cart:two_fingers", "cart:three_fingers"):
        state = obs[label]
        assert state["loop"] == "started"
        assert state["screen"] == "cart"
        assert state["root_alone"] is True
    assert obs["cart_lines_after"] == 1


def test_kiosk_run_takes_no_kivy_options() -> None:
    with pytest.raises(SystemExit) as exc:
        kiosk_main(["run", "-m", "inspector"])
    assert exc.value.code == 2
