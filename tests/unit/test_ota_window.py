"""The maintenance window's parsing and test of the time of day (kiosk.core.window)."""

from __future__ import annotations

from datetime import time

import pytest

from kiosk.core.window import in_window, parse_window
from kiosk.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("02:00-05:00", [time(2, 0), time(4, 59)], [time(1, 59), time(5, 0), time(14, 0)]),
        ("22:00-02:00", [time(22, 0), time(23, 59), time(0, 0), time(1, 59)], [time(2, 0), time(21, 59)]),
        ("00:00-24:00", [time(0, 0), time(23, 59)], []),
    ],
)
def test_a_window_holds_its_start_and_not_its_end(text: str, inside: list[time], outside: list[time]) -> None:
    window = parse_window(text)
    assert all(in_window(window, t) for t in inside)
    assert not any(in_window(window, t) for t in outside)


def test_no_window_means_any_time() -> None:
    assert parse_window("") is None and parse_window("  ") is None
    assert in_window(None, time(13, 0))


@pytest.mark.parametrize("text", ["2-5", "02:00", "25:00-03:00", "02:00-02:00", "02:60-03:00", "02:00-24:30"])
def test_a_bad_window_is_refused_by_the_settings_with_the_example(text: str) -> None:
    with pytest.raises(ValueError):
        parse_window(text)
    with pytest.raises(SettingsError, match=r"ota\.maintenance_window"):
        load_settings(overrides={"ota": {"maintenance_window": text}})
