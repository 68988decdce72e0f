"""Issue 12 "Responsive", on screen: the real controller's printer and gateway stall, the screen does not.

``ui_busy_main.py`` drives the real app with touches; see its docstring for what it counts.
"""

from __future__ import annotations

from typing import Any

import pytest
from ui_harness import run_tour

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def busy(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("busy"), "ui_busy_main.py")
    assert run.returncode == 0 and not run.result.get("failure"), run.log[-4000:]
    obs: dict[str, Any] = run.result["obs"]
    return obs


def test_the_spinner_shows_at_once_when_pay_waits_for_the_printer(busy: dict[str, Any]) -> None:
    assert busy["idle"] == {"active": False, "opacity": 0.0}
    assert busy["first_poll_after_pay"] == {"active": True, "opacity": 1.0}
    assert busy["printer_while_held"] == {"active": True, "opacity": 1.0}


def test_frames_keep_coming_while_the_printer_and_the_gateway_are_held(busy: dict[str, Any]) -> None:
    assert busy["printer_frames_while_held"] >= 5
    assert busy["gateway_frames_while_held"] >= 5
    assert busy["held_to_bound"] is False


def test_the_spinner_shows_while_the_charge_is_out_and_goes_after(busy: dict[str, Any]) -> None:
    assert busy["first_poll_after_code"] == {"active": True, "opacity": 1.0}
    assert busy["waiting_for_the_customer"]["active"] is False
    assert busy["done"]["active"] is False
