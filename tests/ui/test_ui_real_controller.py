"""The UI against the lead's real CheckoutController: same interface, and one real order on screen."""

from __future__ import annotations

import inspect

import pytest
from ui_harness import distinct_colours, run_tour

from kiosk import controller as controller_mod
from kiosk.ui.controller_api import KioskController

MEMBERS = [
    name
    for name, _ in inspect.getmembers(KioskController)
    if not name.startswith("_") and name not in ("mro",)
]


def test_protocol_lists_the_whole_interface() -> None:
    assert sorted(MEMBERS) == sorted(
        [
            "catalog",
            "current_receipt_url",
            "dispatch",
            "hold_up_sample",
            "language",
            "last_receipt_layout",
            "last_receipt_text",
            "latest_frame",
            "member_sign_in",
            "priced_cart",
            "product_image",
            "sample_codes",
            "set_language",
            "state",
            "subscribe",
            "tick",
        ]
    )


@pytest.mark.parametrize("name", MEMBERS)
def test_real_controller_has_each_member_the_ui_uses(name: str) -> None:
    real = controller_mod.CheckoutController
    assert hasattr(real, name), f"CheckoutController has no {name}"
    proto = getattr(KioskController, name)
    impl = getattr(real, name)
    assert isinstance(proto, property) == isinstance(impl, property), f"{name}: property vs method differs"
    if not isinstance(proto, property):
        wanted = [p for p in inspect.signature(proto).parameters if p != "self"]
        params = inspect.signature(impl).parameters
        for p in wanted:
            assert p in params, f"CheckoutController.{name} lacks parameter {p}"


@pytest.mark.ui
def test_one_real_order_through_the_screens(
    xvfb_display: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("real"), "ui_tour_real_main.py")
    assert run.returncode == 0, run.log[-3000:]
    assert run.manifest["shots"] == ["attract", "cart", "pay", "done"]
    assert run.manifest["screens_visited"] == ["attract", "cart", "pay", "done"]
    assert len(run.result["receipts"]) == 1
    assert "￥2.00" in run.result["last_receipt_text"]
    for name in run.manifest["shots"]:
        assert distinct_colours(run.out_dir / f"{name}.png") > 50
