"""The real KioskApp under Xvfb, driven through every screen by a scripted customer (FakeController).

GIVEN the app in a child process with the FakeController (the real checkout core, no I/O)
WHEN the full tour runs: attract -> cart (zh, then en) -> pay -> declined -> printing -> done -> attract ->
     cart -> pay -> needs help (a payment the gateway never answers)
THEN every screen was shown in that order, each screenshot is a real picture of the right size,
     the language toggle and the notice changed what is on screen, buttons stay touch-sized,
     and the gateway's answers (delivered on a worker thread) still reached the screen.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops
from ui_harness import TourRun, distinct_colours, run_tour

from kiosk.ui.fonts import CJK_FONT_FILES

pytestmark = pytest.mark.ui

SHOTS = ["recovering", "attract", "cart", "cart_en", "pay", "pay_declined", "printing", "done", "help"]


@pytest.fixture(scope="module")
def tour(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run_tour(xvfb_display, tmp_path_factory.mktemp("smoke"), "ui_tour_main.py", "--script", "full")


def test_the_tour_finished_and_visited_the_screens_in_order(tour: TourRun) -> None:
    assert tour.returncode == 0, tour.log[-3000:]
    assert tour.manifest["complete"] is True
    assert tour.manifest["shots"] == SHOTS
    assert tour.manifest["screens_visited"] == [
        "attract",
        "recovering",
        "attract",
        "cart",
        "pay",
        "done",
        "attract",
        "cart",
        "pay",
        "help",
    ]
    assert tour.manifest["screens_not_visited"] == []


def test_every_screenshot_is_a_real_picture_of_the_window(tour: TourRun) -> None:
    for name in SHOTS:
        png = tour.out_dir / f"{name}.png"
        assert png.is_file(), f"{name}.png missing"
        with Image.open(png) as img:
            assert img.size == (1024, 600)
        assert distinct_colours(png) > 50, f"{name}.png is (nearly) a single colour"
    assert [Path(p).name for p in tour.result["shots"]] == [f"{n}.png" for n in SHOTS]
    assert not list(tour.out_dir.glob(".*-shot*.png")), "Kivy's counter-suffixed files must be renamed away"


def differs(a: Path, b: Path) -> bool:
    with Image.open(a) as ia, Image.open(b) as ib:
        return ImageChops.difference(ia.convert("RGB"), ib.convert("RGB")).getbbox() is not None


def test_language_toggle_and_notice_change_the_screen(tour: TourRun) -> None:
    assert differs(tour.out_dir / "cart.png", tour.out_dir / "cart_en.png")
    assert differs(tour.out_dir / "pay.png", tour.out_dir / "pay_declined.png")
    assert differs(tour.out_dir / "pay.png", tour.out_dir / "printing.png")


def test_language_follows_the_toggle_and_resets_for_the_next_customer(tour: TourRun) -> None:
    langs = tour.manifest["language_per_shot"]
    assert langs["cart"] == "zh_CN"
    assert langs["cart_en"] == "en"
    assert langs["help"] == "zh_CN"  # the first customer left in English; the second starts in Chinese


def test_buttons_are_touch_sized_on_every_screen(tour: TourRun) -> None:
    heights = tour.manifest["min_button_height_px"]
    assert set(heights) == set(SHOTS)
    assert all(h >= 60 for h in heights.values()), heights


def test_a_cjk_font_was_registered(tour: TourRun) -> None:
    assert Path(tour.manifest["font"]).name in CJK_FONT_FILES


def test_state_changes_from_a_worker_thread_reached_the_screen(tour: TourRun) -> None:
    # the gateway's answers come on "fake-gateway"; done and help were only reachable through them
    assert "fake-gateway" in tour.result["notify_threads"]
