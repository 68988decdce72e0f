"""The default snapshot tour (what ``kiosk demo --headless`` runs) with the FakeController.

GIVEN a controller with sample codes, one of which the gateway never answers
WHEN run_snapshot_tour runs without a script
THEN it saves attract, cart, pay, done and help, and tour.json says it completed.
"""

from __future__ import annotations

import pytest
from PIL import Image
from ui_harness import distinct_colours, run_tour

pytestmark = pytest.mark.ui


def test_default_tour_captures_every_screen(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("default"), "ui_tour_main.py", "--script", "default")
    assert run.returncode == 0, run.log[-3000:]
    assert run.manifest["shots"] == ["recovering", "attract", "cart", "pay", "done", "help"]
    assert run.manifest["screens_not_visited"] == []
    for name in run.manifest["shots"]:
        png = run.out_dir / f"{name}.png"
        with Image.open(png) as img:
            assert img.size == (1024, 600)
        assert distinct_colours(png) > 50


def test_a_tour_that_cannot_finish_stops_at_its_time_limit(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """GIVEN a script waiting for a phase that never comes THEN the app stops and names what was missed."""
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("stuck"), "ui_tour_main.py", "--script", "stuck")
    assert run.returncode == 3, run.log[-3000:]
    assert run.manifest["complete"] is False
    assert "time limit" in run.manifest["failure"]
    assert "phase done" in run.manifest["failure"]
    assert run.manifest["shots"] == ["attract"]
    assert "cart" in run.result["error"] and "help" in run.result["error"]


def test_the_limit_is_per_step_so_a_slow_tour_that_keeps_moving_finishes(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Before, the limit ran from the tour's start: a long tour on a loaded 2-core machine hit it
    while still moving (the cart test stopped at "category picked"). Each step has the limit now."""
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("slow"), "ui_tour_main.py", "--script", "slow")
    assert run.returncode == 0, run.result.get("error") or run.log[-3000:]
    assert run.manifest["complete"] is True and run.manifest["shots"] == ["attract"]
