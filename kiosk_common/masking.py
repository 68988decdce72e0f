"""The last line of defence in every log: a payment code that a code path forgot to mask is masked here.

Member codes (``KM1`` and 12 digits, ``kiosk_common.codes.member_code``) are masked the same way:
a member code names a person, so only its format and last four digits reach a log.

Code paths mask codes themselves (``kiosk_common.codes.mask``). This filter catches the one that forgot,
and only payment codes: a run of digits that stands alone (no letter or digit glued to either side) and
has the shape of a WeChat Pay or Alipay code. Order numbers such as ``K20261124215203ABC...`` carry long
digit runs too, but glued to letters; staff need them whole to find a sale, so they pass untouched.
"""

from __future__ import annotations

import logging
import re

from kiosk_common.codes import MEMBER_PREFIX, mask, mask_member_code, payment_channel

_STANDALONE_DIGITS = re.compile(r"(?<![0-9A-Za-z])[0-9]{16,24}(?![0-9A-Za-z])")
#: a member code, standing alone or not: its prefix and at least 8 digits (a wrong check digit too)
_MEMBER_CODE = re.compile(re.escape(MEMBER_PREFIX) + r"[0-9]{8,}(?![0-9])")


def mask_payment_codes(text: str) -> str:
    """``text`` with every standalone payment-code-shaped digit run masked."""

    def one(m: re.Match[str]) -> str:
        run = m.group(0)
        return mask(run) if payment_channel(run) is not None else run

    return _STANDALONE_DIGITS.sub(one, text)


def mask_codes(text: str) -> str:
    """``text`` with every payment code and every member code masked."""
    return _MEMBER_CODE.sub(lambda m: mask_member_code(m.group(0)), mask_payment_codes(text))


class MaskingFilter(logging.Filter):
    """Masks payment codes in a record's final message (its arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_codes(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


# --- support bundles: everything that may be a secret, removed --------------------------------------
# A support bundle leaves the kiosk (a USB stick, HQ's support folder), so its text is scrubbed harder
# than a log line: besides payment codes, anything that looks like a key, a PIN, a token, a signature,
# a phone number or a private key block. Order numbers (digits glued to letters) still pass whole.

REMOVED = "[removed]"

_PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]*-----.*?-----END [A-Z ]*-----", re.S)
_AUTHORIZATION = re.compile(r"(?i)(authorization\"?\s*[:=]\s*\"?)[^\"\r\n]+")
_HMAC_SIG = re.compile(r"(?i)\b(sig|signature|sign)=([^\s,\"&]+)")
#: ``name=value``, ``name: value`` and ``"name": "value"`` where the name says "secret"
_SECRET_NAMED = re.compile(
    r"(?i)(\"?\b[\w.-]*(?:secret|password|passwd|token|api_?key|private_?key|pin|sign_?key|signature)\b\"?"
    r"\s*[:=]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;}&]+)"
)
#: a PIN said in words: "PIN 4829", "pin: 482913", "密码 1234"
_PIN_WORDS = re.compile(r"(?i)(\bpin\b|密码|口令)(\W{0,3})(\d{4,12})")
#: mainland mobile numbers standing alone
_PHONE = re.compile(r"(?<![0-9A-Za-z])(1[3-9][0-9])([0-9]{4})([0-9]{4})(?![0-9A-Za-z])")
#: long hex or base64-ish runs standing alone (HMAC secrets, API keys): 32 characters or more, with a
#: digit; UUIDs (order ids, event keys) are in parts of at most 12 and pass
_LONG_TOKEN = re.compile(
    r"(?<![0-9A-Za-z_/.-])(?=[0-9A-Za-z+/_]*[0-9])[0-9A-Za-z+/_]{32,}={0,2}(?![0-9A-Za-z_-])"
)


def scrub_secrets(text: str, known: tuple[str, ...] = ()) -> str:
    """``text`` with every secret removed: the ``known`` secret values wherever they appear (the HQ
    secret, API keys, in any case), then anything shaped like one, then payment codes masked.

    Pure and conservative: it may remove a harmless long token, never leave a secret; what stays
    (times, order numbers, messages) is what support needs.
    """
    for secret in sorted({k for k in known if len(k) >= 4}, key=len, reverse=True):
        text = re.sub(re.escape(secret), REMOVED, text, flags=re.I)
    text = _PEM_BLOCK.sub("[private key removed]", text)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + REMOVED, text)
    text = _HMAC_SIG.sub(lambda m: f"{m.group(1)}={REMOVED}", text)
    text = _SECRET_NAMED.sub(_named_value, text)
    text = _PIN_WORDS.sub(lambda m: m.group(1) + m.group(2) + REMOVED, text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = mask_codes(text)
    return _LONG_TOKEN.sub(REMOVED, text)


def _named_value(m: re.Match[str]) -> str:
    """The name kept, the value removed; a quoted value stays quoted, so JSON stays JSON."""
    value = m.group(2)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{m.group(1)}{quote}{REMOVED}{quote}"
