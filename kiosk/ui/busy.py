"""When the screen must show that it is waiting, and how the spinner turns: pure, testable without Kivy.

Issue 12 asks for a sign of life within 100 ms of any wait. Every wait the customer (or staff) can
cause is listed here, so the one spinner (``kiosk.ui.widgets.BusySpinner``) follows a single
answer: it is shown in the same frame the state that starts the wait is applied, because the
view-model sets it while applying that state, before Kivy draws again.
"""

from __future__ import annotations

from kiosk.core.checkout import Checkout, Phase

#: one turn of the spinner takes this long (seconds); it moves on each frame by the time that passed
TURN_S = 1.2


def waiting(
    state: Checkout, *, pay_checking: bool = False, member_checking: bool = False, staff_busy: bool = False
) -> bool:
    """True while the kiosk waits on something outside the screen:

    * ``pay_checking``: "pay" was tapped and the printer is asked whether it can print;
    * ``member_checking``: the member directory (HQ) is asked about a number or a member QR;
    * the order is being written (paying, no order yet: the camera is not on);
    * a charge is at the gateway (``charging``), or the receipt is printing;
    * the start-up check of the last payment (recovering);
    * ``staff_busy``: a staff action runs (a PIN's hash, a refund, a report).
    """
    if pay_checking or member_checking or staff_busy or state.charging:
        return True
    if state.phase is Phase.PAYING and state.order_id is None:
        return True
    return state.phase in (Phase.PRINTING, Phase.RECOVERING)


def next_angle(angle: float, dt: float) -> float:
    """The spinner's arc after ``dt`` seconds more (degrees, clockwise, kept in 0..360)."""
    if dt < 0:
        raise ValueError(f"a frame cannot last {dt} s")
    return (angle - 360.0 * dt / TURN_S) % 360.0
