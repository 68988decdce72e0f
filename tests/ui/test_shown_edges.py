"""The UI tours' count of toasts (tests/ui/shown_edges.py): one per showing, whatever the frame times.

GIVEN the values the "+1" toast's opacity takes when its fade-in (0.12 s), stay (1.2 s) and fade-out
      (0.25 s) are updated at uneven frame times, as Kivy's linear Animation computes them
WHEN  a frame lands just short of the end of the fade-in
THEN  the value passes through [0.999, 1) before reaching 1.0, and RisingEdges counts the showing
      once, where "value >= 0.999" counts it twice.
"""

from __future__ import annotations

from shown_edges import FULL, RisingEdges

IN_S, STAY_S, OUT_S = 0.12, 1.2, 0.25


def toast_values(frame_times: list[float]) -> list[float]:
    """The toast's opacity at each frame time (seconds since it started), keeping only the changes
    (a Kivy property notifies only when its value changes). One timeline for the three parts, where
    Kivy starts each part's clock at its first frame; the same for the fade-in, the part that
    matters here."""
    values: list[float] = []
    for now in frame_times:
        if now < IN_S:
            v = now / IN_S
        elif now < IN_S + STAY_S:
            v = 1.0
        else:
            t = min(1.0, (now - IN_S - STAY_S) / OUT_S)
            v = 1.0 * (1.0 - t) + 0.0 * t  # Animation._calculate's linear blend
        if not values or v != values[-1]:
            values.append(v)
    return values


def test_a_frame_just_short_of_the_fade_ins_end_counts_one_showing() -> None:
    values = toast_values([0.0, 0.05, 0.11995, 0.14, 0.6, 1.0, 1.3, 1.5, 1.6])
    assert any(FULL <= v < 1.0 for v in values) and 1.0 in values  # the case arises
    assert sum(1 for v in values if v >= FULL) == 2  # what the old watcher counted
    edges = RisingEdges()
    assert sum(edges.rose(v) for v in values) == 1


def test_each_showing_counts_once_and_a_restart_counts_again() -> None:
    """An add while the toast still shows sets it back to 0 and plays again: two showings."""
    edges = RisingEdges()
    first = [0.0, 0.4, 0.9993, 1.0]
    restart = [0.0, 0.5, 1.0, 0.9996, 0.6, 0.0]
    assert [edges.rose(v) for v in first + restart] == [False, False, True, False] + [False] * 2 + [
        True,
        False,
        False,
        False,
    ]


def test_a_value_that_never_reaches_full_is_no_showing() -> None:
    edges = RisingEdges()
    assert not any(edges.rose(v) for v in [0.0, 0.5, 0.998, 0.3, 0.0])
