"""The member QR format (``KM1`` + 11-digit member number + GS1 check digit) and its place among codes:
a member code is never a payment code or a product barcode, and neither of those is ever a member code."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.codes import CodeKind, classify
from kiosk.core.members import mask_name, member_code_rule
from kiosk_common.codes import (
    MEMBER_CODE_LEN,
    gtin_check_ok,
    is_member_code,
    mask_member_code,
    member_code,
    member_code_problem,
    payment_channel,
)
from kiosk_common.masking import mask_codes

RULES = (member_code_rule,)
SYMBOLOGIES = (None, "QRCode", "Code128", "EAN13", "EAN8", "UPCA", "UPCE")

numbers = st.text(alphabet="0123456789", min_size=11, max_size=11).filter(lambda s: s.strip("0") != "")
digits = st.text(alphabet="0123456789", min_size=1, max_size=30)


def _gs1(body: str) -> str:
    """GS1 mod-10, written out independently of the code under test."""
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))]
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=True))
    return str((10 - total % 10) % 10)


# --- the format -------------------------------------------------------------------------------------


def test_a_member_code_is_km1_the_number_and_its_check_digit() -> None:
    code = member_code("00000012345")
    assert code == "KM1000000123457"
    assert len(code) == MEMBER_CODE_LEN == 15
    assert is_member_code(code) and member_code_problem(code) == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("KM100000012345", "followed by 12 digits"),  # one digit short
        ("KM10000001234570", "followed by 12 digits"),  # one digit long
        ("KM1000000123458", "check digit is wrong"),
        ("KM1000000000000", "never issued"),
        ("km1000000123457", "does not start with KM1"),  # no case folding: a wedge in caps lock misreads
        ("KB1000000123457", "does not start with KM1"),  # a staff badge's prefix
        ("KM10000001234５7", "followed by 12 digits"),  # a full-width digit
        ("KM1 00000123457", "followed by 12 digits"),
        ("", "does not start with KM1"),
    ],
)
def test_a_malformed_member_code_says_what_is_wrong(text: str, problem: str) -> None:
    assert problem in member_code_problem(text)
    assert not is_member_code(text)
    assert member_code_rule(text, "QRCode") is None


@pytest.mark.parametrize(
    "bad", ["1234567890", "123456789012", "0000000000a", "00000000000", "１２３４５６７８９０１"]
)
def test_member_numbers_are_eleven_ascii_digits_and_not_zero(bad: str) -> None:
    with pytest.raises(ValueError, match="member number"):
        member_code(bad)


@given(numbers)
def test_the_check_digit_agrees_with_an_independent_computation(number: str) -> None:
    assert member_code(number) == "KM1" + number + _gs1(number)


@given(numbers, st.integers(0, 10), st.integers(1, 9))
def test_one_wrong_digit_never_names_another_member(number: str, at: int, delta: int) -> None:
    """A misread or mistyped digit anywhere (the check digit included) makes the code invalid."""
    code = member_code(number)
    pos = 3 + at if at < 11 else 14
    wrong = code[:pos] + str((int(code[pos]) + delta) % 10) + code[pos + 1 :]
    assert not is_member_code(wrong)


def test_a_member_code_is_masked_to_its_format_and_last_four() -> None:
    assert mask_member_code("KM1000000123457") == "KM1********3457"
    assert "00000012" not in mask_member_code("KM1000000123457")


def test_logs_mask_a_member_code_that_a_code_path_forgot() -> None:
    line = "scanned KM1000000123457 and 134567890123456789, order K20261124ABC"
    masked = mask_codes(line)
    assert "KM1000000123457" not in masked and "KM1********3457" in masked
    assert "134567890123456789" not in masked
    assert "K20261124ABC" in masked


def test_member_names_show_masked() -> None:
    assert mask_name("王小明") == "王*明"
    assert mask_name("李雷") == "李*"
    assert mask_name("Alice") == "A***e"
    assert mask_name(" 王 ") == "王"
    assert mask_name("") == ""


# --- disjoint classes -------------------------------------------------------------------------------


@given(numbers, st.sampled_from(SYMBOLOGIES))
@settings(max_examples=200)
def test_every_member_code_classifies_as_a_member_and_nothing_else(
    number: str, symbology: str | None
) -> None:
    code = member_code(number)
    assert payment_channel(code) is None
    assert not gtin_check_ok(code)
    c = classify(code, symbology, RULES)
    assert c.kind is CodeKind.MEMBER and c.text == code and not c.is_payment
    assert classify(code, symbology).kind is CodeKind.OTHER  # without the rule it is nobody's


@given(digits, st.sampled_from(SYMBOLOGIES))
@settings(max_examples=400)
def test_no_run_of_digits_is_ever_a_member_code(text: str, symbology: str | None) -> None:
    """Payment codes and product barcodes are digits only: the member rule can claim none of them,
    and each classifies as it does without the rule."""
    assert not is_member_code(text)
    assert classify(text, symbology, RULES) == classify(text, symbology)


@given(st.text(max_size=40), st.sampled_from(SYMBOLOGIES))
@settings(max_examples=400)
def test_the_three_classes_never_overlap(text: str, symbology: str | None) -> None:
    """Any text is at most one of: payment code, product barcode, member code; and the classifier
    with the member rule only ever moves texts the rule accepts, and only to MEMBER."""
    shapes = [payment_channel(text) is not None, gtin_check_ok(text), is_member_code(text)]
    assert sum(shapes) <= 1
    with_rule, without = classify(text, symbology, RULES), classify(text, symbology)
    if is_member_code(text.strip(" ")):
        assert with_rule.kind is CodeKind.MEMBER
    else:
        assert with_rule == without
        assert with_rule.kind is not CodeKind.MEMBER


@given(numbers, st.sampled_from(["", "X", "0", " KM1", "KM1"]), st.sampled_from(["", "0", "X", "KM1"]))
def test_a_member_code_with_anything_glued_on_is_not_one(number: str, before: str, after: str) -> None:
    text = before + member_code(number) + after
    if text.strip(" ") == member_code(number):
        return
    assert classify(text, "QRCode", RULES).kind is not CodeKind.MEMBER
