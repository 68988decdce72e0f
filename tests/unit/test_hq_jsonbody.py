"""Strict JSON for request bodies (``hq.jsonbody``): what Python's json reads but JSON is not, refused
with a position; everything that is JSON read as before."""

from __future__ import annotations

import json

import pytest

from hq import jsonbody
from hq.jsonbody import MAX_INT_DIGITS, loads_strict


@pytest.mark.parametrize(
    ("body", "words", "position"),
    [
        (b'[{"total_fen": NaN}]', "NaN is not a JSON number", 15),
        (b'{"a": Infinity}', "Infinity is not a JSON number", 6),
        (b"[1, -Infinity]", "-Infinity is not a JSON number", 4),
        (b'["NaN", NaN]', "NaN is not a JSON number", 8),
        (b"[2, 1e999]", "1e999 is too large", 4),
        (b"[-1.5e400]", "-1.5e400 is too large", 1),
        (b"[" + b"7" * (MAX_INT_DIGITS + 1) + b"]", f"{MAX_INT_DIGITS + 1} digits is too long", 1),
        (b'["\\ud800"]', "\\ud800 is half of a UTF-16 surrogate pair", 2),
        (b'{"name": "ok \\uDC00"}', "\\uDC00 is half", 13),
        (b'["\\ude00\\ud83d"]', "\\ude00 is half", 2),
        (b'["\\ud83d x \\ude00"]', "\\ud83d is half", 2),
        (b'["\\ud83d\\ud83d\\ude00"]', "\\ud83d is half", 2),
        (b'{"\\ud800": 1}', "\\ud800 is half", 2),
        (b'["caf\xe9"]', "not UTF-8", 5),
        (b'"\xed\xa0\x80"', "not UTF-8", 1),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply", 100),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_what_is_not_json_is_refused_with_where(body: bytes, words: str, position: int) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        loads_strict(body)
    assert words in caught.value.msg
    assert caught.value.pos == position


@pytest.mark.parametrize(
    "text",
    [
        '[{"total_fen": 750, "name": "矿泉水 \\u77ff"}]',
        '["\\ud83d\\ude00", "😀"]',
        '["\\\\ud800"]',  # an escaped backslash, then the letters ud800: text, not a surrogate
        '{"x": 1.5e308, "y": -0.0, "z": 12345678901234567890}',
        '[true, false, null, "NaN", "Infinity"]',
        "\ufeff[1]",
    ],
)
def test_json_reads_as_python_reads_it(text: str) -> None:
    assert loads_strict(text.encode("utf-8")) == json.loads(text.removeprefix("\ufeff"))


def test_a_syntax_error_is_still_a_json_decode_error_with_its_place() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        loads_strict(b"[{not json")
    assert caught.value.pos == 2


@pytest.mark.parametrize(
    ("body", "words", "fault"),
    [
        (
            b'["a", "b", "c", "d", NaN]',
            "NaN is not a JSON number; send numbers as decimal digits, somewhere",
            b"NaN",
        ),
        (
            b'["\\ud83d\\ude00", "\\ud83d\\ude00", "\\ud800"]',
            "an escape \\uD800-\\uDFFF is half",
            b'"\\ud800',
        ),
        (
            b"[[], [], [], [], " + b"[" * 5000 + b"]" * 5000 + b"]",
            "nested too deeply, somewhere after",
            b"[[[[",
        ),
    ],
    ids=["constant", "surrogate", "depth"],
)
def test_past_its_bound_the_search_for_the_place_says_how_far_it_looked(
    monkeypatch: pytest.MonkeyPatch, body: bytes, words: str, fault: bytes
) -> None:
    """A crafted body could make the search for the exact place long; past MAX_TOKENS_SCANNED the
    error still says what is wrong, and only how far HQ looked, never a wrong place."""
    monkeypatch.setattr(jsonbody, "MAX_TOKENS_SCANNED", 2)
    monkeypatch.setattr(jsonbody, "DEPTH_SHOWN", 3)
    with pytest.raises(json.JSONDecodeError) as caught:
        loads_strict(body)
    assert words in caught.value.msg
    assert caught.value.msg.endswith(f"somewhere after character {caught.value.pos}")
    assert 0 < caught.value.pos < body.index(fault)
