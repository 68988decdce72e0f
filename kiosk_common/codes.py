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


# --- member codes ---------------------------------------------------------------------------------
# A member QR (会员码) is ``KM1`` and 12 digits: the 11-digit member number HQ issues, then its GS1
# mod-10 check digit (the rule product barcodes use, so one typo or misread digit never names another
# member). The letters keep it apart from every payment code and product barcode, which are digits
# only; the "1" is the format's version, as in the staff badge's ``KB1``. A member code names a
# person, so logs and screens show it masked (``mask_member_code``).

MEMBER_PREFIX = "KM1"
MEMBER_NUMBER_DIGITS = 11
#: "KM1" + the member number + its check digit
MEMBER_CODE_LEN = len(MEMBER_PREFIX) + MEMBER_NUMBER_DIGITS + 1


def member_code(number: str) -> str:
    """The member code of an 11-digit member number (HQ and tests make them; the kiosk only reads)."""
    if not (number.isascii() and number.isdigit() and len(number) == MEMBER_NUMBER_DIGITS):
        raise ValueError(f"a member number has {MEMBER_NUMBER_DIGITS} digits, not {number!r}")
    if not number.strip("0"):
        raise ValueError("member number 00000000000 is never issued")
    return f"{MEMBER_PREFIX}{number}{gtin_check_digit(number)}"


def member_code_problem(text: str) -> str:
    """Why ``text`` is not a member code ("" when it is one): what a log line or a test can name."""
    if not text.startswith(MEMBER_PREFIX):
        return f"does not start with {MEMBER_PREFIX}"
    digits = text[len(MEMBER_PREFIX) :]
    if not (digits.isascii() and digits.isdigit()) or len(digits) != MEMBER_NUMBER_DIGITS + 1:
        return f"{MEMBER_PREFIX} is followed by {MEMBER_NUMBER_DIGITS + 1} digits in a member code"
    if not digits[:-1].strip("0"):
        return "member number 00000000000 is never issued"
    if gtin_check_digit(digits[:-1]) != int(digits[-1]):
        return "member code check digit is wrong"
    return ""


def is_member_code(text: str) -> bool:
    """``text`` is a whole, well-formed member code (prefix, 12 digits, the check digit right)."""
    return len(text) == MEMBER_CODE_LEN and not member_code_problem(text)


def mask_member_code(code: str) -> str:
    """KM1********1234: the format and the last four digits, enough for staff to match a complaint."""
    if not code.startswith(MEMBER_PREFIX) or len(code) <= len(MEMBER_PREFIX) + 4:
        return mask(code)
    return f"{MEMBER_PREFIX}{'*' * (len(code) - len(MEMBER_PREFIX) - 4)}{code[-4:]}"
