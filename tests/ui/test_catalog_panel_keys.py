"""The price and stock panel's keypad arithmetic (pure parts of kiosk.ui.panels.catalog)."""

from __future__ import annotations

from kiosk.ui.panels.catalog import QUERY_MAX, price_fen, search_key


def test_a_typed_price_becomes_whole_fen_and_nothing_or_zero_is_no_price() -> None:
    assert price_fen("2.8") == 280
    assert price_fen("12.05") == 1205
    assert price_fen("3.") == 300
    assert price_fen("") is None and price_fen("0") is None and price_fen("0.00") is None


def test_the_search_keypad_appends_drops_and_stops_at_its_limit() -> None:
    assert search_key("CH", "I") == "CHI"
    assert search_key("CHI", "back") == "CH" and search_key("", "back") == ""
    assert search_key("9" * QUERY_MAX, "1") == "9" * QUERY_MAX
