"""What makes a promotion applicable, in one place for the kiosk that applies it and HQ that stores it.

The kiosk (``kiosk.core.pricing``) refuses a promotion it could not apply; HQ (``hq.promotions``)
refuses to store one, so an admin hears at ``hq promo add`` what a kiosk would otherwise only log.
Both ask ``kind_problems``, each naming the fields its own way (the kiosk by field, HQ by the
command-line flag the admin typed), so the two can never disagree on what a valid promotion is.
"""

from __future__ import annotations

from collections.abc import Callable

#: the kinds of promotion there are (``kiosk.core.pricing.PromoKind``'s values)
KINDS: tuple[str, ...] = ("percent_off", "multi_buy", "spend_off")


def kind_problems(
    kind: str,
    *,
    sku: str,
    category: str,
    percent: int,
    qty: int,
    price_fen: int,
    threshold_fen: int,
    off_fen: int,
    field: Callable[[str], str] = str,
) -> list[str]:
    """What is wrong with a promotion's target and amounts for its ``kind``; [] when it can apply.

    ``field`` names a field in the messages (``"off_fen"`` → ``"--off-fen"`` for the command line).
    An unknown ``kind`` is the caller's to report, with its own list of kinds.
    """
    out: list[str] = []
    if kind == "percent_off":
        if bool(sku) == bool(category):
            out.append(f"percent_off targets exactly one of {field('sku')} or {field('category')}")
        if not 1 <= percent <= 100:
            out.append(f"{field('percent')} must be 1..100, not {percent}")
    elif kind == "multi_buy":
        if not sku or category:
            out.append(f"multi_buy targets one {field('sku')} (and no {field('category')})")
        if not 2 <= qty <= 99:
            out.append(f"{field('qty')} must be 2..99, not {qty}")
        if price_fen < 0:
            out.append(f"{field('price_fen')} must not be negative")
    elif kind == "spend_off":
        if sku or category:
            out.append(f"spend_off applies to the whole cart (no {field('sku')} or {field('category')})")
        if off_fen <= 0:
            out.append(f"{field('off_fen')} must be more than 0")
        if threshold_fen < off_fen:
            out.append(f"{field('threshold_fen')} must be at least {field('off_fen')}")
    return out
