"""kiosk.core.dedupe: a payment code is admitted once within its lifetime; memory is bounded and hashed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.dedupe import PAYMENT_CODE_LIFETIME_S, PaymentCodeGuard, SeenWindow

CODE = "134567890123459001"


def test_lifetime_is_one_minute() -> None:
    assert PAYMENT_CODE_LIFETIME_S == 60.0
    assert PaymentCodeGuard().lifetime_s == 60.0


def test_a_code_is_admitted_once_within_its_lifetime() -> None:
    guard = PaymentCodeGuard()
    assert guard.admit(CODE, now=100.0)
    assert not guard.admit(CODE, now=100.5)
    assert not guard.admit(CODE, now=159.9)
    assert guard.was_used(CODE, now=159.9)


def test_a_code_is_admitted_again_after_its_lifetime() -> None:
    guard = PaymentCodeGuard()
    assert guard.admit(CODE, now=100.0)
    assert not guard.was_used(CODE, now=160.0)
    assert guard.admit(CODE, now=160.0)


def test_showing_a_code_again_does_not_extend_its_lifetime() -> None:
    """GIVEN a code first seen at t=0 and shown again at 30 s and 59 s THEN it is free again at 60 s."""
    guard = PaymentCodeGuard()
    assert guard.admit(CODE, now=0.0)
    assert not guard.admit(CODE, now=30.0)
    assert not guard.admit(CODE, now=59.0)
    assert guard.admit(CODE, now=60.0)


def test_other_codes_are_independent() -> None:
    guard = PaymentCodeGuard()
    assert guard.admit(CODE, now=0.0)
    assert guard.admit("284567890123450000", now=1.0)
    assert not guard.admit("284567890123450000", now=2.0)
    assert len(guard) == 2


def test_expired_codes_are_forgotten_so_memory_does_not_grow() -> None:
    window = SeenWindow(lifetime_s=10.0)
    for i in range(100):
        window.add(f"code-{i}", now=float(i))
    window.expire(now=200.0)
    assert len(window) == 0


def test_the_window_holds_at_most_max_entries_dropping_the_oldest() -> None:
    window = SeenWindow(lifetime_s=60.0, max_entries=3)
    for i, text in enumerate(["a", "b", "c", "d"]):
        assert window.add(text, now=float(i))
    assert len(window) == 3
    assert not window.seen("a", now=4.0)
    assert window.seen("d", now=4.0)


def test_codes_are_kept_only_as_digests() -> None:
    window = SeenWindow(lifetime_s=60.0)
    window.add(CODE, now=0.0)
    assert CODE not in repr(vars(window)) and CODE.encode() not in repr(vars(window)).encode()


def test_clear_forgets_everything() -> None:
    window = SeenWindow(lifetime_s=60.0)
    window.add(CODE, now=0.0)
    window.clear()
    assert window.add(CODE, now=1.0)


@pytest.mark.parametrize(("lifetime", "entries"), [(0.0, 10), (-1.0, 10), (10.0, 0)])
def test_bad_limits_are_refused(lifetime: float, entries: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        SeenWindow(lifetime, entries)


@given(st.lists(st.tuples(st.text(max_size=40), st.floats(0, 1000)), max_size=60))
@settings(max_examples=100)
def test_any_sequence_of_texts_never_raises_and_stays_bounded(events: list[tuple[str, float]]) -> None:
    window = SeenWindow(lifetime_s=5.0, max_entries=16)
    now = 0.0
    for text, step in events:
        now += step / 100
        window.add(text, now)
        assert window.seen(text, now)
        assert len(window) <= 16
