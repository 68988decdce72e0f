"""The limit on authentication failures (``hq.keylimit``) on an injected clock: counts, 429 windows, one
WARNING per client per window."""

from __future__ import annotations

import logging

import pytest

from hq.keylimit import BadKeyLimiter, client_key, key_hint

KEY = "wrong-key-0123456789abcdefghijklmnopqrstuvwxyz"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "hq.keylimit" and r.levelno == logging.WARNING
    ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_after_n_failures_the_client_waits_until_its_window_ends(clock: Clock) -> None:
    limiter = BadKeyLimiter(max_bad_keys=3, window_s=60, clock=clock)
    for _ in range(3):
        assert limiter.retry_after("192.0.2.1") is None
        limiter.refused("192.0.2.1", KEY)
    assert limiter.retry_after("192.0.2.1") == 60
    clock.now += 59.2
    assert limiter.retry_after("192.0.2.1") == 1
    assert limiter.retry_after("198.51.100.7") is None  # another address is not held back
    clock.now += 0.8  # the window opened at the first failure has ended
    assert limiter.retry_after("192.0.2.1") is None


def test_keys_spread_over_windows_never_hold_a_client_back(clock: Clock) -> None:
    limiter = BadKeyLimiter(max_bad_keys=3, window_s=60, clock=clock)
    for _ in range(10):
        for _ in range(2):
            limiter.refused("192.0.2.1", KEY)
        assert limiter.retry_after("192.0.2.1") is None
        clock.now += 60


def test_one_warning_per_client_per_window_says_how_many_were_refused(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hq.keylimit")
    limiter = BadKeyLimiter(max_bad_keys=10, window_s=60, clock=clock)
    for _ in range(300):
        if limiter.retry_after("192.0.2.1") is None:
            limiter.refused("192.0.2.1", KEY)
    limiter.refused("198.51.100.7", KEY)
    assert limiter.retry_after("192.0.2.1") == 60  # the positive signal: it is held back
    assert warnings(caplog) == []  # counted, not logged, while the window is open
    clock.now += 60
    assert limiter.retry_after("203.0.113.9") is None  # any request after the windows closes them
    logged = warnings(caplog)
    assert len(logged) == 2
    first = next(m for m in logged if "192.0.2.1" in m)
    assert "refused 301 request(s) from 192.0.2.1 in a 60 s window" in first
    assert "10 failed to authenticate" in first and "291 held back with 429" in first
    assert KEY not in first and key_hint(KEY) in first
    assert any("refused 1 request(s) from 198.51.100.7" in m for m in logged)
    limiter.retry_after("192.0.2.1")
    assert len(warnings(caplog)) == 2  # a closed window is reported once


def test_close_reports_open_windows_once(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="hq.keylimit")
    limiter = BadKeyLimiter(max_bad_keys=2, window_s=60, clock=clock)
    limiter.refused("192.0.2.1", KEY)
    limiter.close()
    limiter.close()
    [message] = warnings(caplog)
    assert "refused 1 request(s) from 192.0.2.1" in message and "reported before its end" in message


def test_the_table_is_bounded_by_closing_the_oldest_window_early(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hq.keylimit")
    limiter = BadKeyLimiter(max_bad_keys=1, window_s=60, clock=clock, max_clients=3)
    for last in range(1, 6):
        limiter.refused(f"192.0.2.{last}", KEY)
    assert [m.split(" from ")[1].split(" ")[0] for m in warnings(caplog)] == ["192.0.2.1", "192.0.2.2"]
    assert limiter.retry_after("192.0.2.5") == 60


@pytest.mark.parametrize(
    ("host", "counted_as"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("testclient", "testclient"),
        (None, "(unknown address)"),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(host: str | None, counted_as: str) -> None:
    assert client_key(host) == counted_as


def test_a_huge_key_is_logged_as_a_short_masked_hint() -> None:
    hint = key_hint("k" * 100_000)
    assert len(hint) < 60 and "100000 characters" in hint and "kkkkkkkk" not in hint


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        BadKeyLimiter(max_bad_keys=0, window_s=60)
