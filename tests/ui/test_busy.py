"""When the spinner shows (kiosk.ui.busy): every wait of issue 12's "Responsive" list, and none else."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import Checkout, Phase
from kiosk.ui.busy import TURN_S, next_angle, waiting

WATER = Product("w", "矿泉水", "Water", 200)
CART = Cart().add(WATER)


@pytest.mark.parametrize(
    ("state", "kwargs", "shown"),
    [
        (Checkout(), {}, False),
        (Checkout(phase=Phase.CART, cart=CART), {}, False),
        (Checkout(phase=Phase.CART, cart=CART), {"pay_checking": True}, True),
        (Checkout(phase=Phase.CART, cart=CART, member_screen=True), {}, False),
        (Checkout(phase=Phase.CART, cart=CART, member_screen=True), {"member_checking": True}, True),
        (Checkout(phase=Phase.PAYING, cart=CART), {}, True),  # the order is being written
        (Checkout(phase=Phase.PAYING, cart=CART, order_id="o1"), {}, False),  # waits for the customer
        (Checkout(phase=Phase.PAYING, cart=CART, order_id="o1", charging=True), {}, True),
        (Checkout(phase=Phase.PRINTING, cart=CART, order_id="o1"), {}, True),
        (Checkout(phase=Phase.RECOVERING), {}, True),
        (Checkout(phase=Phase.DONE, cart=CART, order_id="o1"), {}, False),
        (Checkout(phase=Phase.NEEDS_HELP, cart=CART), {}, False),
        (Checkout(phase=Phase.NEEDS_HELP, cart=CART), {"staff_busy": True}, True),
    ],
)
def test_waiting(state: Checkout, kwargs: dict[str, bool], shown: bool) -> None:
    assert waiting(state, **kwargs) is shown


def test_the_spinner_turns_by_the_time_that_passed() -> None:
    assert next_angle(0.0, 0.0) == 0.0
    assert next_angle(0.0, TURN_S / 4) == pytest.approx(270.0)
    assert next_angle(90.0, TURN_S) == pytest.approx(90.0)
    with pytest.raises(ValueError, match="cannot last"):
        next_angle(0.0, -0.1)


def test_a_settled_state_is_not_a_wait() -> None:
    paid = Checkout(phase=Phase.PAYING, cart=CART, order_id="o1", charging=True)
    assert not waiting(replace(paid, charging=False))
