"""Money is integer fen (分) everywhere; yuan appear only when text is shown to a person or a gateway."""

from __future__ import annotations

Fen = int


def format_yuan(fen: Fen, symbol: str = "¥") -> str:
    """Render fen as yuan with two decimals, exactly (no float ever touches the amount)."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"amount must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{symbol}{whole}.{part:02d}"


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
