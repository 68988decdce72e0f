"""Promotions applied to a cart: pure arithmetic in integer fen, so the total on the cart screen, the
order's stored total and the amount charged are one number computed one way.

Kinds (``PromoKind``); each promotion targets what its kind needs:

- ``percent_off``: ``percent`` (1..100) off every unit of one ``sku`` or of one ``category``.
- ``multi_buy``: every ``qty`` units of one ``sku`` cost ``price_fen`` together ("3 for ¥10");
  units beyond the last full group pay the normal price. A bundle price that is not below the
  normal price of the group gives nothing.
- ``spend_off``: ``off_fen`` off the cart once it reaches ``threshold_fen`` (measured after the item
  promotions, so the customer never gets the threshold from money already taken off).

Validity: a promotion applies at ``at`` when ``starts_at <= at < ends_at`` (``ends_at`` None: open
ended); times are UTC. ``members_only`` promotions apply only while a member is signed in.

No stacking, so a customer can predict the total and HQ can reconcile it:

- each cart line gets at most ONE item promotion (``percent_off`` or ``multi_buy``): the one with the
  highest ``priority``; among equal priorities the larger discount for that line; then the smaller
  ``promo_id`` (so the answer never depends on the order promotions arrive in);
- then at most ONE ``spend_off`` for the cart: the highest priority among those reached, then the
  larger ``off_fen``, then the smaller ``promo_id``. It takes off at most what is left to pay.

Rounding: a percentage is taken of the line's total (unit price × qty, not unit by unit) and
rounded to the nearest fen with a half fen going to the customer (``(total × percent + 50) // 100``).
So a discount never exceeds its line, a line never goes below 0, and the total never goes below 0.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kiosk.core.cart import Cart, CartLine
from kiosk.core.money import Fen
from kiosk_common.promotion_rules import kind_problems

MAX_NAME = 64


class PromoKind(enum.StrEnum):
    PERCENT_OFF = "percent_off"
    MULTI_BUY = "multi_buy"
    SPEND_OFF = "spend_off"


class PromotionError(ValueError):
    """A promotion that cannot be applied as written (HQ's data or an admin's typing)."""


@dataclass(frozen=True, slots=True)
class Promotion:
    """One promotion as HQ sends it; ``__post_init__`` refuses any that could not be applied."""

    promo_id: str
    kind: PromoKind
    name_zh: str
    name_en: str
    starts_at: datetime
    ends_at: datetime | None = None
    priority: int = 0
    sku: str = ""
    category: str = ""
    percent: int = 0
    qty: int = 0
    price_fen: Fen = 0
    threshold_fen: Fen = 0
    off_fen: Fen = 0
    members_only: bool = False

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise PromotionError(f"promotion {self.promo_id!r}: " + "; ".join(problems))

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en

    def active_at(self, at: datetime, member: bool = False) -> bool:
        if self.members_only and not member:
            return False
        return self.starts_at <= at and (self.ends_at is None or at < self.ends_at)

    def line_discount(self, line: CartLine) -> Fen:
        """What this (item) promotion takes off ``line``; 0 when it does not target it."""
        if self.kind is PromoKind.SPEND_OFF or not self._targets(line):
            return 0
        if self.kind is PromoKind.PERCENT_OFF:
            return (line.total_fen * self.percent + 50) // 100
        groups = line.qty // self.qty
        saving = self.qty * line.product.price_fen - self.price_fen
        return groups * saving if saving > 0 else 0

    def _targets(self, line: CartLine) -> bool:
        if self.sku:
            return line.product.sku == self.sku
        return bool(self.category) and line.product.category == self.category


def _problems(p: Promotion) -> list[str]:
    out: list[str] = []
    if not p.promo_id or len(p.promo_id) > MAX_NAME:
        out.append(f"promo_id must be 1..{MAX_NAME} characters")
    if not p.name_zh.strip() or not p.name_en.strip():
        out.append("needs a Chinese and an English name")
    if len(p.name_zh) > MAX_NAME or len(p.name_en) > MAX_NAME:
        out.append(f"names must be at most {MAX_NAME} characters")
    for label, when in (("starts_at", p.starts_at), ("ends_at", p.ends_at)):
        if when is not None and when.utcoffset() is None:
            out.append(f"{label} must carry a time zone (UTC)")
    zoned = (
        p.ends_at is not None and p.ends_at.utcoffset() is not None and p.starts_at.utcoffset() is not None
    )
    if zoned and p.ends_at is not None and p.ends_at <= p.starts_at:
        out.append("ends_at must be after starts_at")
    ints = (p.priority, p.percent, p.qty, p.price_fen, p.threshold_fen, p.off_fen)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in ints):
        return [*out, "numbers must be integers (money in fen)"]
    return out + kind_problems(
        p.kind.value,
        sku=p.sku,
        category=p.category,
        percent=p.percent,
        qty=p.qty,
        price_fen=p.price_fen,
        threshold_fen=p.threshold_fen,
        off_fen=p.off_fen,
    )


@dataclass(frozen=True, slots=True)
class AppliedDiscount:
    """One discount line: which promotion, on which sku ("" for the whole cart), how much (> 0)."""

    promo_id: str
    name_zh: str
    name_en: str
    amount_fen: Fen
    sku: str = ""

    def name(self, language: str) -> str:
        return self.name_zh if language.startswith("zh") else self.name_en


@dataclass(frozen=True, slots=True)
class PricedCart:
    """A cart with its discounts; ``total_fen`` is what the order stores and the customer pays."""

    cart: Cart = field(default_factory=Cart)
    discounts: tuple[AppliedDiscount, ...] = ()

    @property
    def subtotal_fen(self) -> Fen:
        return self.cart.total_fen

    @property
    def discount_fen(self) -> Fen:
        return sum(d.amount_fen for d in self.discounts)

    @property
    def total_fen(self) -> Fen:
        return self.subtotal_fen - self.discount_fen


def _discount(p: Promotion, amount: Fen, sku: str = "") -> AppliedDiscount:
    return AppliedDiscount(p.promo_id, p.name_zh, p.name_en, amount, sku)


def price_cart(
    cart: Cart, promotions: Iterable[Promotion], at: datetime, *, member: bool = False
) -> PricedCart:
    """Apply the promotions valid at ``at`` to ``cart`` by the rules in this module's docstring."""
    if at.utcoffset() is None:
        raise ValueError("pricing time must carry a time zone (UTC)")
    active = [p for p in promotions if p.active_at(at, member)]
    items = [p for p in active if p.kind is not PromoKind.SPEND_OFF]
    discounts: list[AppliedDiscount] = []
    for line in cart.lines:
        offers = [(p, p.line_discount(line)) for p in items]
        offers = [(p, amount) for p, amount in offers if amount > 0]
        if offers:
            best, amount = min(offers, key=lambda pa: (-pa[0].priority, -pa[1], pa[0].promo_id))
            discounts.append(_discount(best, min(amount, line.total_fen), line.product.sku))
    left = cart.total_fen - sum(d.amount_fen for d in discounts)
    reached = [p for p in active if p.kind is PromoKind.SPEND_OFF and left >= p.threshold_fen]
    if reached and left > 0:
        best = min(reached, key=lambda p: (-p.priority, -p.off_fen, p.promo_id))
        discounts.append(_discount(best, min(best.off_fen, left)))
    return PricedCart(cart, tuple(discounts))


# --- the wire form (docs/sync-protocol.md: the catalog's ``promotions``) --------------------------

_INT_FIELDS = ("priority", "percent", "qty", "price_fen", "threshold_fen", "off_fen")
_STR_FIELDS = ("name_zh", "name_en", "sku", "category")


def _when(value: object, label: str) -> datetime:
    if not isinstance(value, str):
        raise PromotionError(f"{label} must be an ISO 8601 UTC time string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PromotionError(f"{label} is not an ISO 8601 time: {value!r}") from exc
    if when.utcoffset() is None:
        raise PromotionError(f"{label} must carry a time zone (UTC): {value!r}")
    return when


def promotion_from_dict(data: object) -> Promotion:
    """A promotion from HQ's JSON; PromotionError says what is wrong (unknown kind, bad number...)."""
    if not isinstance(data, dict):
        raise PromotionError("a promotion must be a JSON object")
    promo_id = data.get("id")
    if not isinstance(promo_id, str):
        raise PromotionError("a promotion needs a string id")
    try:
        kind = PromoKind(str(data.get("kind")))
    except ValueError as exc:
        raise PromotionError(f"promotion {promo_id!r}: unknown kind {data.get('kind')!r}") from exc
    ints = {k: data.get(k, 0) for k in _INT_FIELDS}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in ints.values()):
        raise PromotionError(f"promotion {promo_id!r}: {', '.join(_INT_FIELDS)} must be integers")
    strs = {k: data.get(k, "") for k in _STR_FIELDS}
    if any(not isinstance(v, str) for v in strs.values()):
        raise PromotionError(f"promotion {promo_id!r}: {', '.join(_STR_FIELDS)} must be strings")
    members_only = data.get("members_only", False)
    if not isinstance(members_only, bool):
        raise PromotionError(f"promotion {promo_id!r}: members_only must be true or false")
    ends = data.get("ends_at")
    return Promotion(
        promo_id,
        kind,
        starts_at=_when(data.get("starts_at"), "starts_at"),
        ends_at=None if ends is None else _when(ends, "ends_at"),
        members_only=members_only,
        **strs,
        **ints,
    )


def promotion_to_dict(p: Promotion) -> dict[str, object]:
    """The JSON form ``promotion_from_dict`` reads (times as ISO 8601 UTC with ``Z``)."""

    def iso(when: datetime) -> str:
        return when.astimezone(UTC).isoformat().replace("+00:00", "Z")

    out: dict[str, object] = {"id": p.promo_id, "kind": p.kind.value}
    out.update({k: getattr(p, k) for k in (*_STR_FIELDS, *_INT_FIELDS)})
    out.update(
        starts_at=iso(p.starts_at),
        ends_at=None if p.ends_at is None else iso(p.ends_at),
        members_only=p.members_only,
    )
    return out
