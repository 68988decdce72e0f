"""The log filter masks payment codes, and only payment codes: order numbers stay whole for staff."""

from __future__ import annotations

import logging

import pytest

from kiosk_common.masking import MaskingFilter, mask_payment_codes

WECHAT = "134567890123456789"
ALIPAY = "28763443825664394"


def _filtered(msg: str, *args: object) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, None)
    assert MaskingFilter().filter(record)
    return record.getMessage()


@pytest.mark.parametrize("code", [WECHAT, ALIPAY])
def test_a_payment_code_is_masked_in_the_message_and_in_its_arguments(code: str) -> None:
    assert code not in _filtered(f"charging code {code} now")
    out = _filtered("charging code %s for order %s", code, "x")
    assert code not in out
    assert code[:4] in out and code[-4:] in out


@pytest.mark.parametrize(
    "order_no",
    [
        "K20261124215203998412ABCDEF",  # out_trade_no: 14 timestamp digits, then hex that starts with digits
        "R20261124215203998412ABCDEF",  # its refund number
        "K202611242152031234567890AB",
    ],
)
def test_order_numbers_with_long_digit_runs_pass_untouched(order_no: str) -> None:
    assert _filtered("payment %s settled", order_no) == f"payment {order_no} settled"


def test_digit_runs_that_are_not_payment_codes_pass_untouched() -> None:
    # 18 digits starting 19: no channel issues such a code; a 25-digit run is too long for any
    text = "serial 190000000000000000 and 2800000000000000000000000"
    assert mask_payment_codes(text) == text


def test_a_code_inside_xml_or_json_is_still_masked() -> None:
    out = mask_payment_codes(f'<auth_code>{WECHAT}</auth_code> {{"auth_code": "{ALIPAY}"}}')
    assert WECHAT not in out and ALIPAY not in out
