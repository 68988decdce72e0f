"""Code checks shared by the kiosk, its drivers and HQ: product check digits, payment-code shapes, masking.

Payment codes (付款码) are recognised by prefix and length, as the channels publish them: WeChat Pay is
18 digits starting 10-15; Alipay is 16-24 digits starting 25-30. Codes are secrets while they live, so
every human-facing form of one is masked.
"""

from __future__ import annotations

MAX_TEXT_LEN = 512


def payment_channel(text: str) -> str | None:
    """ "wechat" or "alipay" when ``text`` has the shape of that channel's payment code, else None."""
    if len(text) < 16 or not (text.isascii() and text.isdigit()):
        return None
    head = int(text[:2])
    if len(text) == 18 and 10 <= head <= 15:
        return "wechat"
    if 16 <= len(text) <= 24 and 25 <= head <= 30:
        return "alipay"
    return None


def mask(code: str) -> str:
    """First 4 and last 4 characters, the rest as '*': enough for staff to match, useless to a thief."""
    if len(code) <= 8:
        return "*" * len(code)
    return f"{code[:4]}{'*' * (len(code) - 8)}{code[-4:]}"


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit that follows ``body`` (the digits before it, any GTIN length)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gtin_check_ok(digits: str) -> bool:
    """Check digit of EAN-8, UPC-A (12), EAN-13 and GTIN-14, by the GS1 mod-10 rule."""
    if not digits.isascii() or not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return False
    return gtin_check_digit(digits[:-1]) == int(digits[-1])


def upce_to_upca(upce: str) -> str | None:
    """Expand an 8-digit UPC-E (number system 0 or 1) to its 12-digit UPC-A, or None if malformed."""
    if len(upce) != 8 or not upce.isascii() or not upce.isdigit() or upce[0] not in "01":
        return None
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = f"{d[0]}{d[1]}{last}0000{d[2]}{d[3]}{d[4]}"
    elif last == "3":
        body = f"{d[0]}{d[1]}{d[2]}00000{d[3]}{d[4]}"
    elif last == "4":
        body = f"{d[0]}{d[1]}{d[2]}{d[3]}00000{d[4]}"
    else:
        body = f"{d[0]}{d[1]}{d[2]}{d[3]}{d[4]}0000{last}"
    return f"{ns}{body}{check}"
