"""The diagnostics panel under Xvfb, driven by touch events through Kivy's input.

GIVEN the real KioskApp with the FakeController (plausible diagnostics answers; a camera frame
      while the camera view is open; decode figures that grow with every poll)
WHEN  an IT member opens Diagnostics, presses the test page, LED and buzzer buttons, opens the
      camera view, closes it, runs the test charge, opens the view and leaves for another action,
      and locks with it open
THEN  each check has a row with its verdict, the buttons reach the controller off the UI thread,
      the camera view shows a picture and figures that update, and the camera is off again after
      closing, leaving the panel and locking.
"""

from __future__ import annotations

import pytest
from ui_harness import TourRun, distinct_colours, run_tour

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def diag(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    tour = run_tour(xvfb_display, tmp_path_factory.mktemp("diag"), "ui_diag_main.py")
    assert tour.returncode == 0, tour.result.get("failure") or tour.log[-3000:]
    return tour


def test_every_check_has_a_row_with_its_verdict_and_the_buttons(diag: TourRun) -> None:
    obs = diag.result["obs"]
    verdicts = obs["verdicts"]
    assert set(verdicts) == {
        "printer", "camera", "gpio", "network", "hq", "gateway", "charge", "disk", "sd_card", "versions"
    }  # fmt: skip
    assert verdicts["printer"] == "正常" and verdicts["gateway"] == "注意"
    assert verdicts["charge"] == "-"  # the test charge runs only when staff press its button
    for button in ("diag:run_all", "diag:test_page", "diag:gpio_led", "diag:gpio_buzzer", "diag:camera_on"):
        assert button in obs["buttons"]


def test_the_camera_view_shows_figures_that_update_and_the_camera_goes_off_again(diag: TourRun) -> None:
    obs = diag.result["obs"]
    assert obs["camera_before"] is False
    assert "read 15" in obs["stats_first"] and "read 30" in obs["stats_later"]
    assert obs["led_after_leaving"] is False  # leaving the panel put the LED back too
    assert obs["camera_after_lock"] is False and obs["session_after_lock"] is None
    checks = obs["checks"]
    assert checks[0] == "all" and {"test_page", "gpio_led", "gpio_buzzer", "camera_on"} <= set(checks)
    assert "camera_stats" in checks and "camera_off" in checks and "leave" in checks


def test_the_test_charge_asks_twice_waits_for_a_code_and_shows_the_outcome(diag: TourRun) -> None:
    obs = diag.result["obs"]
    assert obs["charge_waiting_after_one_press"] is False  # the first press only arms it
    assert "show a payment code" in obs["charge_prompt"]
    assert obs["charges"] == 1 and obs["camera_after_charge"] is False


def test_diagnostics_screenshots_are_real_pictures(diag: TourRun) -> None:
    for name in diag.result["shots"]:
        assert distinct_colours(diag.out_dir / f"{name}.png") > 20, name
