"""ota.hold: how often a busy kiosk is asked before the OS update gives up for this run."""

from __future__ import annotations

from ota.hold import hold_when_idle


class Link:
    """A kiosk that answers HOLD from a script: busy until its turn comes."""

    def __init__(self, held_at: int | None) -> None:
        self.held_at = held_at
        self.asked = 0

    def hold(self) -> bool:
        self.asked += 1
        return self.held_at is not None and self.asked >= self.held_at

    def release(self) -> None:  # pragma: no cover - not used here
        raise AssertionError("hold_when_idle never releases")


def test_a_kiosk_idle_at_once_is_asked_once_and_nothing_waits() -> None:
    slept: list[float] = []
    outcome = hold_when_idle(Link(1), 1800, 15, slept.append)
    assert outcome.held and outcome.asked == 1 and slept == []


def test_a_busy_kiosk_is_asked_every_retry_until_the_wait_is_spent() -> None:
    slept: list[float] = []
    link = Link(None)
    outcome = hold_when_idle(link, 60, 15, slept.append)
    assert not outcome.held
    assert link.asked == outcome.asked == 5  # at 0, 15, 30, 45 and 60 s
    assert slept == [15, 15, 15, 15]
    assert "not rebooting now" in outcome.detail


def test_a_kiosk_that_becomes_idle_is_held_then() -> None:
    slept: list[float] = []
    outcome = hold_when_idle(Link(3), 1800, 15, slept.append)
    assert outcome.held and outcome.asked == 3 and slept == [15, 15]


def test_no_wait_asks_exactly_once() -> None:
    link = Link(None)
    assert not hold_when_idle(link, 0, 15, lambda _s: None).held
    assert link.asked == 1
