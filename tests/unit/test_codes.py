"""kiosk.core.codes: payment-code routing, product check digits, masking, and refusing garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.codes import Classified, CodeKind, classify
from kiosk_common.codes import MAX_TEXT_LEN, gtin_check_ok, mask, upce_to_upca


def _with_check_digit(body: str) -> str:
    """GS1 mod-10, written out independently of the code under test."""
    weights = [3 if i % 2 == 0 else 1 for i in range(len(body))]
    total = sum(int(d) * w for d, w in zip(reversed(body), weights, strict=True))
    return body + str((10 - total % 10) % 10)


# --- check digits ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "4006381333931",  # EAN-13
        "9780804816632",  # EAN-13 (ISBN), from the corpus
        "6901234560015",  # EAN-13, China prefix
        "96385074",  # EAN-8
        "48512343",  # EAN-8, from the corpus
        "036000291452",  # UPC-A
        "890444000335",  # UPC-A, from the corpus
        "10012345678902",  # GTIN-14
    ],
)
def test_gtin_check_digit_accepts_valid_codes(code: str) -> None:
    assert gtin_check_ok(code)


@pytest.mark.parametrize(
    "code",
    [
        "4006381333932",  # EAN-13, last digit off by one
        "96385075",  # EAN-8 wrong
        "036000291453",  # UPC-A wrong
        "4006381333",  # 10 digits: no such GTIN length
        "123456789",  # 9 digits
        "",
        "40063813339３",  # a full-width digit is not an ASCII digit
        "400638133393a",
        "4006381 33931",
    ],
)
def test_gtin_check_digit_refuses_wrong_or_malformed(code: str) -> None:
    assert not gtin_check_ok(code)


@given(st.text(alphabet="0123456789", min_size=7, max_size=13).filter(lambda s: len(s) in (7, 11, 12)))
def test_gtin_check_digit_agrees_with_an_independent_computation(body: str) -> None:
    good = _with_check_digit(body)
    assert gtin_check_ok(good)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert not gtin_check_ok(bad)


@pytest.mark.parametrize(
    ("upce", "upca"),
    [
        ("01234565", "012345000065"),  # last digit 5-9: manufacturer 5 digits, item 0000d
        ("04252614", "042100005264"),  # last digit 0-2: manufacturer d0 d1 d5 00, item 00 d2 d3 d4
        ("01234133", "012300000413"),  # last digit 3
        ("01234144", "012340000014"),  # last digit 4
        ("11234565", "112345000065"),  # number system 1
    ],
)
def test_upce_expands_to_its_upca(upce: str, upca: str) -> None:
    assert upce_to_upca(upce) == upca


@pytest.mark.parametrize("upce", ["21234565", "0123456", "012345655", "0123456a", ""])
def test_upce_expansion_refuses_malformed(upce: str) -> None:
    assert upce_to_upca(upce) is None


# --- products -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "symbology"),
    [
        ("4006381333931", "EAN13"),
        ("4006381333931", None),
        ("96385074", "EAN8"),
        ("96385074", None),
        ("036000291452", "UPCA"),
        ("036000291452", None),
        ("01234565", "UPCE"),
    ],
)
def test_valid_product_barcodes_are_products(text: str, symbology: str | None) -> None:
    assert classify(text, symbology) == Classified(CodeKind.PRODUCT, text)


@pytest.mark.parametrize(
    ("text", "symbology", "reason"),
    [
        ("4006381333932", "EAN13", "check digit"),
        ("96385075", "EAN8", "check digit"),
        ("036000291453", "UPCA", "check digit"),
        ("01234566", "UPCE", "UPC-E check digit"),
        ("4006381333931", "QRCode", "not a payment code or product barcode"),
        ("4006381333931", "Code128", "not a payment code or product barcode"),
        ("40063813", "Code128", "not a payment code or product barcode"),
    ],
)
def test_bad_or_misplaced_product_barcodes_are_other(text: str, symbology: str, reason: str) -> None:
    c = classify(text, symbology)
    assert c.kind is CodeKind.OTHER
    assert not c.is_payment
    assert reason in c.reason


# --- payment codes --------------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["10", "11", "12", "13", "14", "15"])
@pytest.mark.parametrize("symbology", ["QRCode", "Code128", None])
def test_wechat_is_18_digits_starting_10_to_15(head: str, symbology: str | None) -> None:
    code = head + "4567890123456789"
    assert len(code) == 18
    c = classify(code, symbology)
    assert c == Classified(CodeKind.WECHAT, code)
    assert c.is_payment


@pytest.mark.parametrize(
    "code",
    [
        "13456789012345678",  # 17 digits
        "1345678901234567890",  # 19 digits
        "094567890123456789",  # prefix 09
        "164567890123456789",  # prefix 16: neither channel
        "244567890123456789",  # prefix 24: neither channel
    ],
)
def test_wrong_length_or_prefix_is_not_wechat(code: str) -> None:
    c = classify(code, "QRCode")
    assert c.kind is CodeKind.OTHER
    assert "payment code" in c.reason


@pytest.mark.parametrize("head", ["25", "26", "27", "28", "29", "30"])
@pytest.mark.parametrize("length", [16, 18, 20, 24])
def test_alipay_is_16_to_24_digits_starting_25_to_30(head: str, length: int) -> None:
    code = (head + "1234567890" * 3)[:length]
    c = classify(code, "QRCode")
    assert c == Classified(CodeKind.ALIPAY, code)
    assert c.is_payment


@pytest.mark.parametrize(
    "code",
    [
        "281234567890123",  # 15 digits
        "2812345678901234567890123",  # 25 digits
        "311234567890123456",  # prefix 31
        "241234567890123456",  # prefix 24
    ],
)
def test_wrong_length_or_prefix_is_not_alipay(code: str) -> None:
    assert classify(code, "QRCode").kind is CodeKind.OTHER


@pytest.mark.parametrize("symbology", ["EAN13", "EAN8", "UPCA", "UPCE"])
def test_payment_codes_only_come_from_qr_or_code128(symbology: str) -> None:
    assert classify("134567890123450000", symbology).kind is CodeKind.OTHER


def test_surrounding_spaces_are_trimmed_from_a_payment_code() -> None:
    assert classify(" 284567890123450000 ", "QRCode") == Classified(CodeKind.ALIPAY, "284567890123450000")


def test_full_width_digits_are_not_a_payment_code() -> None:
    assert classify("１３４５６７８９０１２３４５００００", "QRCode").kind is CodeKind.OTHER


def test_payment_code_with_letters_is_other() -> None:
    assert classify("13456789012345000A", "QRCode").kind is CodeKind.OTHER


# --- garbage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1345678901234\x0050000", "134567890123450000\n", "\x1b[31m", "abc\x7f"])
def test_control_characters_are_refused(bad: str) -> None:
    c = classify(bad, "QRCode")
    assert c.kind is CodeKind.OTHER
    assert c.reason == "contains control characters"


def test_huge_payloads_are_refused_and_not_carried_along() -> None:
    huge = "1" * (MAX_TEXT_LEN + 1)
    c = classify(huge, "QRCode")
    assert c.kind is CodeKind.OTHER
    assert str(MAX_TEXT_LEN) in c.reason
    assert len(c.text) <= 16


def test_exactly_max_length_is_still_looked_at() -> None:
    c = classify("x" * MAX_TEXT_LEN, "QRCode")
    assert c.kind is CodeKind.OTHER
    assert c.reason == "not a payment code or product barcode"


def test_non_text_is_refused() -> None:
    c = classify(b"134567890123450000", "QRCode")  # type: ignore[arg-type]
    assert c == Classified(CodeKind.OTHER, "", "not text")


def test_urls_and_words_are_other() -> None:
    c = classify("https://example.com/pay?code=134567890123450000", "QRCode")
    assert c.kind is CodeKind.OTHER
    assert not c.is_payment


@given(
    st.text(max_size=600), st.sampled_from([None, "QRCode", "Code128", "EAN13", "EAN8", "UPCA", "UPCE", "x"])
)
@settings(max_examples=400)
def test_any_text_is_classified_without_raising(text: str, symbology: str | None) -> None:
    c = classify(text, symbology)
    assert isinstance(c.kind, CodeKind)
    if c.kind is not CodeKind.OTHER:
        assert c.text.isascii()
        assert c.text.isdigit()
        assert c.reason == ""


@given(st.from_regex(r"\A(1[0-5][0-9]{16}|(2[5-9]|30)[0-9]{14,22})\Z"))
def test_generated_payment_codes_are_routed_by_prefix(code: str) -> None:
    expected = CodeKind.WECHAT if len(code) == 18 and code[0] == "1" else CodeKind.ALIPAY
    assert classify(code, "QRCode").kind is expected
    assert classify(code, "Code128").kind is expected


# --- masking --------------------------------------------------------------------------------------


def test_mask_keeps_first_and_last_four() -> None:
    assert mask("134567890123459001") == "1345**********9001"


def test_mask_of_nine_characters() -> None:
    assert mask("123456789") == "1234*6789"


@pytest.mark.parametrize("short", ["", "1", "1234", "12345678"])
def test_mask_hides_short_codes_completely(short: str) -> None:
    assert mask(short) == "*" * len(short)


@given(st.text(alphabet="0123456789", min_size=9, max_size=40))
def test_mask_never_shows_the_middle(code: str) -> None:
    m = mask(code)
    assert len(m) == len(code)
    assert m[:4] == code[:4]
    assert m[-4:] == code[-4:]
    assert set(m[4:-4]) == {"*"}


# --- separators and symbology lengths ----------------------------------------------------------


@pytest.mark.parametrize(
    "sneaky",
    [
        "\x85134567890123450000",
        "134567890123450000\u2028",
        "\u3000134567890123450000",
        "1345\u200b67890123450000",
    ],
)
def test_unicode_line_breaks_around_a_payment_code_are_refused_like_newline(sneaky: str) -> None:
    assert classify(sneaky, "QRCode").kind is CodeKind.OTHER


def test_thirteen_digits_read_as_ean8_are_not_a_product() -> None:
    assert classify("4006381333931", "EAN8").kind is CodeKind.OTHER


# --- member and staff codes: the seam later releases fill ------------------------------------------


def _member_rule(text: str, symbology: str | None) -> Classified | None:
    return Classified(CodeKind.MEMBER, text[2:]) if text.startswith("M:") and len(text) > 2 else None


def test_a_rule_claims_member_codes() -> None:
    c = classify("M:000123", "QRCode", rules=[_member_rule])
    assert c.kind is CodeKind.MEMBER
    assert c.text == "000123"
    assert not c.is_payment


def test_without_rules_member_looking_text_is_other() -> None:
    assert classify("M:000123", "QRCode").kind is CodeKind.OTHER


def test_a_rule_can_never_take_a_payment_code() -> None:
    def greedy(text: str, symbology: str | None) -> Classified:
        return Classified(CodeKind.STAFF, text)

    assert classify("134567890123459001", "QRCode", rules=[greedy]).kind is CodeKind.WECHAT


def test_a_rule_cannot_claim_a_payment_kind() -> None:
    def sneaky(text: str, symbology: str | None) -> Classified:
        return Classified(CodeKind.WECHAT, "134567890123459001")

    assert classify("hello", "QRCode", rules=[sneaky]).kind is CodeKind.OTHER


def test_a_rule_that_raises_is_ignored_and_the_next_one_runs() -> None:
    def broken(text: str, symbology: str | None) -> Classified | None:
        raise RuntimeError("bad parser")

    def staff(text: str, symbology: str | None) -> Classified | None:
        return Classified(CodeKind.STAFF, text) if text.startswith("S-") else None

    assert classify("S-42", "QRCode", rules=[broken, staff]).kind is CodeKind.STAFF
    assert classify("4006381333931", "EAN13", rules=[broken, staff]).kind is CodeKind.PRODUCT


@given(st.binary(max_size=600))
@settings(max_examples=300)
def test_random_bytes_decoded_any_way_never_raise(raw: bytes) -> None:
    for text in (
        raw.decode("latin-1"),
        raw.decode("utf-8", "replace"),
        raw.decode("utf-8", "surrogateescape"),
    ):
        c = classify(text, "QRCode", rules=[_member_rule])
        assert isinstance(c.kind, CodeKind)
        assert len(c.text) <= 512
