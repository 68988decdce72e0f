"""Receipt content and its text layout, measured in display columns.

A Chinese character takes two columns on a thermal printer (and a monospace screen), so widths are
counted with ``display_width`` rather than ``len``; otherwise prices drift out of their column.
The header and footer come from a template file the merchant edits; ``ReceiptTemplate.parse``
validates it so a broken template stops start-up with a clear message instead of a broken receipt.
A receipt is in the customer's language: the item names, the fixed labels and, when the template
has ``header_en`` / ``footer_en``, its lines too (without them an English receipt uses ``header`` /
``footer``, which the merchant may write in both languages).
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kiosk.core.money import Fen, format_money
from kiosk_common.toml_text import TomlTextError, parse_document, shorten

COLUMNS_BY_WIDTH_MM = {58: 32, 80: 48}
#: The full-width yuan sign: two bytes in GBK/GB18030 (A3 A4) and in every Chinese printer font,
#: where the half-width U+00A5 is a four-byte GB18030 code many printers lack. It is two columns
#: wide, which ``display_width`` counts, so amounts stay right-aligned.
YUAN = "\uffe5"
TEMPLATE_FIELDS = frozenset({"store_name", "kiosk_id", "order_id", "time", "total", "channel"})


def display_width(text: str) -> int:
    """Columns the text takes on a fixed-pitch device: wide and full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Break text into lines of at most ``columns`` display columns, never splitting a character.

    Latin words stay whole where they fit on a line (break at the last space); Chinese text, which
    has no spaces, breaks between any two characters, as Chinese typesetting does.
    """
    lines: list[str] = []
    current, width = "", 0
    for ch in text:
        w = display_width(ch)
        if width + w > columns:
            cut = current.rfind(" ")
            if ch != " " and cut > 0:
                lines.append(current[:cut].rstrip())
                current = current[cut + 1 :]
            else:
                lines.append(current.rstrip())
                current = ""
            if ch == " " and not current:
                width = 0
                continue
            width = display_width(current)
        current += ch
        width += w
    if current or not lines:
        lines.append(current)
    return lines


def pad_between(left: str, right: str, columns: int) -> str:
    """``left`` and ``right`` on one line, right-aligned; wraps left when both do not fit."""
    gap = columns - display_width(left) - display_width(right)
    if gap >= 1:
        return left + " " * gap + right
    head = wrap(left, columns)
    last = head[-1]
    gap = columns - display_width(last) - display_width(right)
    if gap >= 1:
        return "\n".join([*head[:-1], last + " " * gap + right])
    return "\n".join([*head, " " * max(0, columns - display_width(right)) + right])


#: the template file's keys: the receipt's lines, and those of an English receipt when they differ
_TEMPLATE_KEYS = ("header", "footer", "header_en", "footer_en")


class TemplateError(ValueError):
    """The receipt template file is unreadable or names fields that do not exist."""


@dataclass(frozen=True, slots=True)
class ReceiptTemplate:
    header: tuple[str, ...]
    footer: tuple[str, ...]
    #: the lines of an English receipt; empty: ``header`` / ``footer`` serve both languages
    header_en: tuple[str, ...] = ()
    footer_en: tuple[str, ...] = ()

    @classmethod
    def default(cls) -> ReceiptTemplate:
        return cls(header=("${store_name}",), footer=("谢谢惠顾 Thank you",), footer_en=("Thank you",))

    def lines_for(self, language: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The header and footer of a receipt in ``language`` ("zh_CN" or "en")."""
        if language == "en":
            return self.header_en or self.header, self.footer_en or self.footer
        return self.header, self.footer

    @classmethod
    def load(cls, path: Path) -> ReceiptTemplate:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise TemplateError(
                f"receipt template {path}: cannot read it ({exc.strerror}); fix the path in [receipt] template"
            ) from exc
        return cls.parse(raw, str(path))

    @classmethod
    def parse(cls, raw: bytes, source: str) -> ReceiptTemplate:
        try:
            data = parse_document(raw)
        except TomlTextError as exc:
            raise TemplateError(f"receipt template {source}: {exc}") from None
        unknown = set(data) - set(_TEMPLATE_KEYS)
        if unknown:
            raise TemplateError(
                f"receipt template {source}: unknown key(s) {shorten(sorted(unknown))}; "
                f"allowed: {', '.join(_TEMPLATE_KEYS)}"
            )
        parts: dict[str, tuple[str, ...]] = {}
        for key in _TEMPLATE_KEYS:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TemplateError(
                    f"receipt template {source}: {key} must be a list of strings, got {shorten(value)}"
                )
            for line in value:
                cls._check_fields(line, key, source)
            parts[key] = tuple(value)
        return cls(**parts)

    @staticmethod
    def _check_fields(line: str, key: str, source: str) -> None:
        try:
            names = {
                m.group("named") or m.group("braced")
                for m in string.Template.pattern.finditer(line)
                if m.group("invalid") is None and (m.group("named") or m.group("braced"))
            }
            bad = [m for m in string.Template.pattern.finditer(line) if m.group("invalid") is not None]
        except (TypeError, ValueError) as exc:  # pragma: no cover - regex on str does not raise
            raise TemplateError(f"receipt template {source}: {key} line {shorten(line)}: {exc}") from exc
        if bad:
            raise TemplateError(
                f"receipt template {source}: {key} line {shorten(line)} has a stray '$'; write '$$' for a dollar sign"
            )
        unknown = names - TEMPLATE_FIELDS
        if unknown:
            raise TemplateError(
                f"receipt template {source}: {key} line {shorten(line)} uses unknown field(s) {shorten(sorted(unknown))}; "
                f"allowed: {', '.join(sorted(TEMPLATE_FIELDS))}"
            )

    def render(self, lines: tuple[str, ...], fields: Mapping[str, str]) -> list[str]:
        return [string.Template(line).safe_substitute(fields) for line in lines]


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    name: str
    qty: int
    unit_fen: Fen

    @property
    def total_fen(self) -> Fen:
        return self.qty * self.unit_fen


@dataclass(frozen=True, slots=True)
class ReceiptDiscount:
    """A promotion or member discount: ``amount_fen`` is what it takes off (positive)."""

    name: str
    amount_fen: Fen


@dataclass(frozen=True, slots=True)
class Receipt:
    store_name: str
    kiosk_id: str
    order_id: str
    time_local: datetime
    lines: tuple[ReceiptLine, ...]
    total_fen: Fen
    channel: str
    transaction_masked: str
    language: str = "zh_CN"
    discounts: tuple[ReceiptDiscount, ...] = ()

    @property
    def order_no(self) -> str:
        """Short order number staff read aloud (the UUID's first block, upper case)."""
        return self.order_id.split("-")[0].upper()


_LABELS = {
    "zh_CN": {
        "order": "订单",
        "time": "时间",
        "kiosk": "终端",
        "subtotal": "小计",
        "total": "合计",
        "paid": "支付",
        "txn": "交易号",
    },
    "en": {
        "order": "Order",
        "time": "Time",
        "kiosk": "Kiosk",
        "subtotal": "Subtotal",
        "total": "TOTAL",
        "paid": "Paid",
        "txn": "Txn",
    },
}
_CHANNELS = {
    "zh_CN": {"wechat": "微信支付", "alipay": "支付宝"},
    "en": {"wechat": "WeChat Pay", "alipay": "Alipay"},
}


@dataclass(frozen=True, slots=True)
class ReceiptLayout:
    """The receipt as text lines, with the header/footer marked so a printer can centre or embolden them."""

    header: tuple[str, ...]
    body: tuple[str, ...]
    footer: tuple[str, ...]
    qr_payload: str

    def text(self) -> str:
        return "\n".join((*self.header, *self.body, *self.footer)) + "\n"


def _amount(fen: Fen, language: str) -> str:
    """A line amount: digits only (the yuan sign is on the total, as on Chinese till receipts),
    grouped in thousands as the screens show it ("1,234.50")."""
    return format_money(fen, language, symbol="")


def _total(fen: Fen, language: str) -> str:
    """The total with the full-width yuan sign: "￥1,234.50"."""
    return format_money(fen, language, symbol=YUAN)


def layout(
    receipt: Receipt, template: ReceiptTemplate, columns: int, qr_payload: str | None = None
) -> ReceiptLayout:
    """Lay the receipt out for ``columns`` (32 on 58 mm paper, 48 on 80 mm).

    ``qr_payload`` is what the QR holds: the sale's e-receipt URL at HQ on an enrolled kiosk (made
    by the caller, which knows the secret); without one, ``order:<uuid>`` names the sale for staff.
    """
    lang = "zh_CN" if receipt.language.startswith("zh") else "en"
    lab = _LABELS[lang]
    channel = _CHANNELS[lang].get(receipt.channel, receipt.channel)
    fields = {
        "store_name": receipt.store_name,
        "kiosk_id": receipt.kiosk_id,
        "order_id": receipt.order_no,
        "time": receipt.time_local.strftime("%Y-%m-%d %H:%M:%S"),
        "total": _total(receipt.total_fen, lang),
        "channel": channel,
    }
    rule = "-" * columns
    body: list[str] = [
        rule,
        pad_between(f"{lab['order']}: {receipt.order_no}", receipt.kiosk_id, columns),
        f"{lab['time']}: {fields['time']}",
        rule,
    ]
    for line in receipt.lines:
        body.extend(wrap(line.name, columns))
        body.append(
            pad_between(
                f"  {line.qty} x {_amount(line.unit_fen, lang)}",
                _amount(line.total_fen, lang),
                columns,
            )
        )
    body.append(rule)
    if receipt.discounts:
        subtotal = sum(line.total_fen for line in receipt.lines)
        body.append(pad_between(lab["subtotal"], _amount(subtotal, lang), columns))
        body.extend(pad_between(d.name, _amount(-d.amount_fen, lang), columns) for d in receipt.discounts)
    body += [
        pad_between(lab["total"], _total(receipt.total_fen, lang), columns),
        pad_between(lab["paid"], channel, columns),
        pad_between(lab["txn"], receipt.transaction_masked, columns),
        rule,
    ]
    head_lines, foot_lines = template.lines_for(lang)
    header = [w for line in template.render(head_lines, fields) for w in wrap(line, columns)]
    footer = [w for line in template.render(foot_lines, fields) for w in wrap(line, columns)]
    return ReceiptLayout(
        tuple(header), tuple(body), tuple(footer), qr_payload=qr_payload or f"order:{receipt.order_id}"
    )
