"""The last line of defence in every log: a payment code that a code path forgot to mask is masked here.

Code paths mask codes themselves (``kiosk_common.codes.mask``). This filter catches the one that forgot,
and only payment codes: a run of digits that stands alone (no letter or digit glued to either side) and
has the shape of a WeChat Pay or Alipay code. Order numbers such as ``K20261124215203ABC...`` carry long
digit runs too, but glued to letters; staff need them whole to find a sale, so they pass untouched.
"""

from __future__ import annotations

import logging
import re

from kiosk_common.codes import mask, payment_channel

_STANDALONE_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9]{16,24}(?![0-9A-Za-z])")


def mask_payment_codes(text: str) -> str:
    """``text`` with every standalone payment-code-shaped digit run masked."""

    def one(m: re.Match[str]) -> str:
        run = m.group(0)
        return mask(run) if payment_channel(run) is not None else run

    return _STANDALONE_DIGITS.sub(one, text)


class MaskingFilter(logging.Filter):
    """Masks payment codes in a record's final message (its arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_payment_codes(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
