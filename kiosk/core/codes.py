"""What a decoded text is: a payment code, a product barcode, or something to refuse.

Payment codes (付款码) are routed by prefix and length, as the channels publish them:
WeChat Pay is 18 digits starting 10-15; Alipay is 16-24 digits starting 25-30. A product barcode is
an EAN-13, EAN-8, UPC-A or UPC-E whose check digit is right. Anything else is "other" and is never
passed to a gateway. Codes are secrets while they live, so every human-facing form is masked.

Member and staff codes are claimed by ``rules`` (``CodeRule`` callables) that may claim a text as
``MEMBER`` or ``STAFF``: the member QR's rule is ``kiosk.core.members.member_code_rule`` (``KM1``
and 12 digits, ``kiosk_common.codes.member_code``). Rules run after the payment check (a rule can
never turn a payment code into a member code, nor the other way round) and before the product
check; a rule that raises is ignored.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kiosk_common.codes import MAX_TEXT_LEN, gtin_check_ok, payment_channel, upce_to_upca


class CodeKind(enum.StrEnum):
    WECHAT = "wechat"
    ALIPAY = "alipay"
    PRODUCT = "product"
    MEMBER = "member"
    STAFF = "staff"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Classified:
    kind: CodeKind
    text: str
    reason: str = ""

    @property
    def is_payment(self) -> bool:
        return self.kind in (CodeKind.WECHAT, CodeKind.ALIPAY)


#: a member- or staff-code format: ``(text, symbology) -> Classified`` to claim the text, None to pass
CodeRule = Callable[[str, "str | None"], "Classified | None"]

#: the kinds a ``CodeRule`` may return; anything else it returns is ignored
RULE_KINDS = frozenset({CodeKind.MEMBER, CodeKind.STAFF})


def _payment_kind(text: str) -> CodeKind | None:
    channel = payment_channel(text)
    return None if channel is None else CodeKind(channel)


PRODUCT_FORMATS = frozenset({"EAN13", "EAN8", "UPCA", "UPCE"})
_PRODUCT_LENGTHS = {"EAN13": 13, "EAN8": 8, "UPCA": 12}
#: control, format, line and paragraph separators, surrogates: never part of a code a person can show
_CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _by_rules(text: str, symbology: str | None, rules: Sequence[CodeRule]) -> Classified | None:
    for rule in rules:
        try:
            claimed = rule(text, symbology)
        except Exception:  # noqa: S112 - a later release's parser must not turn a scan into a crash
            continue
        if isinstance(claimed, Classified) and claimed.kind in RULE_KINDS:
            return claimed
    return None


def classify(text: str, symbology: str | None = None, rules: Sequence[CodeRule] = ()) -> Classified:
    """Classify a decoded text. ``symbology`` (e.g. "QRCode", "EAN13") narrows product codes.

    ``rules`` recognise member and staff codes (see the module docstring). Never raises: garbage,
    binary and huge payloads come back as OTHER with a reason.
    """
    if not isinstance(text, str):
        return Classified(CodeKind.OTHER, "", "not text")
    if len(text) > MAX_TEXT_LEN:
        return Classified(CodeKind.OTHER, text[:16], f"longer than {MAX_TEXT_LEN} characters")
    if any(unicodedata.category(c) in _CONTROL_CATEGORIES for c in text):
        return Classified(CodeKind.OTHER, text, "contains control characters")
    stripped = text.strip(" ")
    kind = _payment_kind(stripped)
    if kind is not None and (symbology is None or symbology in ("QRCode", "Code128")):
        return Classified(kind, stripped)
    if rules and kind is None:
        claimed = _by_rules(stripped, symbology, rules)
        if claimed is not None:
            return claimed
    if stripped.isascii() and stripped.isdigit():
        fmt = symbology or ""
        if len(stripped) == 8 and fmt == "UPCE":
            expanded = upce_to_upca(stripped)
            if expanded and gtin_check_ok(expanded):
                return Classified(CodeKind.PRODUCT, stripped)
            return Classified(CodeKind.OTHER, stripped, "UPC-E check digit is wrong")
        if len(stripped) in (8, 12, 13) and (not fmt or _PRODUCT_LENGTHS.get(fmt) == len(stripped)):
            if gtin_check_ok(stripped):
                return Classified(CodeKind.PRODUCT, stripped)
            return Classified(CodeKind.OTHER, stripped, "product barcode check digit is wrong")
    if stripped.isascii() and stripped.isdigit() and len(stripped) >= 16:
        return Classified(CodeKind.OTHER, stripped, "digits do not match a WeChat or Alipay payment code")
    return Classified(CodeKind.OTHER, stripped, "not a payment code or product barcode")
