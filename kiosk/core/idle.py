"""The checkout's timers as one pure function: what a clock tick means for the sale on screen.

A customer who walks away must not leave their cart (or an unpaid order) for the next one, but a
customer who only paused must not lose it without warning. So a quiet cart, or a pay screen with
no charge in flight, first asks "still there?" with a countdown; only when nobody answers is the
sale cleared. A charge in flight is never timed out: only the gateway's answer may end it.

The controller (and the UI tests' fake controller) call ``timer_event`` from their tick with the
seconds since the last activity and since the phase began, on whatever clock they were given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kiosk.core.checkout import Checkout, Event, IdleAsked, Notice, Phase, TimedOut

#: the least time the thank-you screen stays when it shows the e-receipt QR instead of a paper
#: receipt: the customer must have time to take out a phone and scan it
E_RECEIPT_DONE_S = 30.0

#: the phases in which a quiet customer is asked "still there?"
ASKING_PHASES = frozenset({Phase.CART, Phase.PAYING})


@dataclass(frozen=True, slots=True)
class IdleRules:
    #: quiet seconds on the cart (or an unpaid pay screen) before "still there?" is asked
    ask_after_s: float = 60.0
    #: seconds the question stays up, counting down, before the sale is cleared
    answer_within_s: float = 20.0
    #: seconds the thank-you screen stays before the attract screen returns
    done_after_s: float = 6.0

    def __post_init__(self) -> None:
        for name in ("ask_after_s", "answer_within_s", "done_after_s"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")


def timer_event(state: Checkout, *, quiet_s: float, in_phase_s: float, rules: IdleRules) -> Event | None:
    """The event a tick dispatches now, or None.

    ``quiet_s``: seconds since the customer last did anything; ``in_phase_s``: since the phase began.
    While asking, an ``IdleAsked`` is returned only when the whole-second countdown changes, so a
    tick several times a second does not redraw the screen for nothing.
    """
    if state.phase is Phase.DONE:
        done_after_s = rules.done_after_s
        if state.notice is Notice.RECEIPT_ON_PHONE:
            done_after_s = max(done_after_s, E_RECEIPT_DONE_S)
        return TimedOut() if in_phase_s >= done_after_s else None
    if state.phase not in ASKING_PHASES or state.charging or quiet_s < rules.ask_after_s:
        return None
    left = rules.ask_after_s + rules.answer_within_s - quiet_s
    if left <= 0:
        return TimedOut()
    seconds = max(1, math.ceil(left))
    return None if seconds == state.still_there_s else IdleAsked(seconds)
