"""Money is integer fen (分) everywhere; yuan appear only when text is shown to a person or a gateway."""

from __future__ import annotations

Fen = int


def format_yuan(fen: Fen, symbol: str = "¥") -> str:
    """Render fen as yuan with two decimals and thousands grouped: "¥1,234.50", exactly (no float
    ever touches the amount).

    For staff screens, the Z-report and logs; they group thousands as the customer's screen and
    receipt do (``format_money``), so a shift's takings read the same on paper and on the screen.
    Nothing parses this text back: ``parse_yuan`` takes the digits staff type, without commas.
    """
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"amount must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def parse_yuan(text: str) -> Fen:
    """Parse "12.5" / "12.50" / "12" yuan into fen; reject anything with more than two decimals."""
    s = text.strip()
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, _, part = s.partition(".")
    if not whole.isdigit() or (part and not part.isdigit()) or len(part) > 2:
        raise ValueError(f"not an amount in yuan with at most two decimals: {text!r}")
    fen = int(whole) * 100 + int((part + "00")[:2])
    return -fen if neg else fen


#: the currency sign shown to customers in every language: the kiosk sells in yuan only, and a visitor
#: reading English in China knows "¥" from every price tag around them ("CNY 12.50" would be the one
#: odd price in the shop, and wider on a small screen)
CUSTOMER_SYMBOL = "¥"


def format_money(fen: Fen, language: str, symbol: str = CUSTOMER_SYMBOL) -> str:
    """An amount as a customer reads it, in ``language``: "¥1,234.50" (zh_CN and en alike).

    The one function every amount on the customer's screen and receipt goes through, so a locale
    that writes amounts differently is a change here only. Thousands are grouped with "," in both
    languages (Chinese shops write ¥1,234.00 too); exact integer arithmetic, as ``format_yuan``.
    ``symbol`` is for the printed receipt, which writes the full-width "￥" its printers' Chinese
    fonts have on the total and no sign on the item lines.
    """
    if language not in ("zh_CN", "en"):
        raise ValueError(f"language must be zh_CN or en, not {language!r}")
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"amount must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def format_count(count: int, language: str) -> str:
    """How many items, as a customer reads it: "3 件" in Chinese; "1 item" / "3 items" in English."""
    if not isinstance(count, int) or isinstance(count, bool):
        raise TypeError(f"count must be an integer, got {type(count).__name__}")
    if language == "zh_CN":
        return f"{count:,} 件"
    if language == "en":
        return f"{count:,} item" if count == 1 else f"{count:,} items"
    raise ValueError(f"language must be zh_CN or en, not {language!r}")
