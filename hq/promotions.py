"""Promotions: what ``hq promo add|list|end`` keeps, and the list every catalog answer carries down.

The kiosk applies them (kiosk.core.pricing, whose docstring states the rules: one item promotion per
line by priority, then one spend-off for the cart; halves of a fen go to the customer). HQ checks a
promotion by the same rules before it stores it, so a kiosk never receives one it would have to skip.
Every change takes the next catalog version in its transaction, so the kiosks pull the list again;
each catalog answer carries the store's whole current list (docs/sync-protocol.md §5), which the
kiosk keeps instead of what it had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hq.models import Promotion, Store, database, utc_now, utc_text
from hq.versioning import next_version
from kiosk_common.promotion_rules import KINDS, kind_problems

#: what each kind's terms are (``hq promo list`` shows these)
TERMS: dict[str, tuple[str, ...]] = {
    "percent_off": ("sku", "category", "percent", "priority", "members_only"),
    "multi_buy": ("sku", "qty", "price_fen", "priority", "members_only"),
    "spend_off": ("threshold_fen", "off_fen", "priority", "members_only"),
}
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class PromotionRefused(ValueError):
    """An admin's promotion that cannot be stored; the message says what to change."""


@dataclass(frozen=True, slots=True)
class PromotionSpec:
    """A promotion as an admin gives it (times naive UTC, money in fen)."""

    promo_id: str
    kind: str
    name_zh: str
    name_en: str
    starts_at: datetime
    ends_at: datetime | None = None
    store_code: str = ""
    priority: int = 0
    sku: str = ""
    category: str = ""
    percent: int = 0
    qty: int = 0
    price_fen: int = 0
    threshold_fen: int = 0
    off_fen: int = 0
    members_only: bool = False


def problems(spec: PromotionSpec) -> list[str]:
    """Everything wrong with ``spec`` by the kiosk's rules (kiosk.core.pricing); [] when it is fine."""
    out: list[str] = []
    if not _ID.fullmatch(spec.promo_id):
        out.append("the id is 1-64 letters, digits, '.', '_' or '-'")
    if spec.kind not in KINDS:
        return [*out, f"the kind is one of {', '.join(KINDS)}, not {spec.kind!r}"]
    for label, name in (("Chinese", spec.name_zh), ("English", spec.name_en)):
        if not name.strip() or len(name) > 64:
            out.append(f"the {label} name is 1-64 characters")
    if spec.ends_at is not None and spec.ends_at <= spec.starts_at:
        out.append("the end must be after the start")
    if not -1000 <= spec.priority <= 1000:
        out.append("the priority is -1000..1000")
    return out + kind_problems(
        spec.kind,
        sku=spec.sku,
        category=spec.category,
        percent=spec.percent,
        qty=spec.qty,
        price_fen=spec.price_fen,
        threshold_fen=spec.threshold_fen,
        off_fen=spec.off_fen,
        field=_flag,
    )


def _flag(name: str) -> str:
    """A promotion field as the admin typed it: ``off_fen`` is ``--off-fen``."""
    return "--" + name.replace("_", "-")


def add_promotion(spec: PromotionSpec) -> Promotion:
    """Store a new promotion under a new catalog version; PromotionRefused says what is wrong."""
    found = problems(spec)
    if found:
        raise PromotionRefused("; ".join(found))
    with database.atomic():
        if spec.store_code and Store.get_or_none(Store.code == spec.store_code) is None:
            raise PromotionRefused(f"there is no store {spec.store_code!r} (see `hq store list`)")
        if Promotion.get_or_none(Promotion.promo_id == spec.promo_id) is not None:
            raise PromotionRefused(f"promotion {spec.promo_id!r} exists; end it and add one with a new id")
        fields = {k: getattr(spec, k) for k in PromotionSpec.__slots__}
        return Promotion.create(**fields, version=next_version())


def end_promotion(promo_id: str, at: datetime | None = None) -> Promotion:
    """End a promotion now (or at ``at``, if earlier than its end); the kiosks stop applying it once
    they pulled the catalog. Ending one already over changes nothing."""
    when = at or utc_now()
    with database.atomic():
        row = Promotion.get_or_none(Promotion.promo_id == promo_id)
        if row is None:
            raise PromotionRefused(f"there is no promotion {promo_id!r} (see `hq promo list`)")
        if row.ends_at is not None and row.ends_at <= when:
            return row
        row.ends_at = max(when, row.starts_at)
        row.ended_at = when
        row.version = next_version()
        row.save()
        return row


def list_promotions(include_over: bool = False) -> list[Promotion]:
    query = Promotion.select().order_by(Promotion.promo_id)
    if not include_over:
        now = utc_now()
        query = query.where(Promotion.ends_at.is_null() | (Promotion.ends_at > now))
    return list(query)


def as_wire(row: Promotion) -> dict[str, Any]:
    """A promotion as the catalog answer carries it (kiosk.core.pricing.promotion_from_dict reads it)."""
    return {
        "id": row.promo_id,
        "kind": row.kind,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "starts_at": utc_text(row.starts_at),
        "ends_at": None if row.ends_at is None else utc_text(row.ends_at),
        "priority": int(row.priority),
        "sku": row.sku,
        "category": row.category,
        "percent": int(row.percent),
        "qty": int(row.qty),
        "price_fen": int(row.price_fen),
        "threshold_fen": int(row.threshold_fen),
        "off_fen": int(row.off_fen),
        "members_only": bool(row.members_only),
    }


def promotions_for_store(store_code: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """The promotions a kiosk of ``store_code`` runs, now or later (over ones are left out)."""
    moment = now or utc_now()
    query = (
        Promotion.select()
        .where(
            ((Promotion.store_code == "") | (Promotion.store_code == store_code))
            & (Promotion.ends_at.is_null() | (Promotion.ends_at > moment))
        )
        .order_by(Promotion.promo_id)
    )
    return [as_wire(row) for row in query]


def parse_utc(text: str) -> datetime:
    """An admin's time: ISO 8601 with ``Z`` or an offset (stored as naive UTC); a bare time is refused."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise PromotionRefused(f"{text!r} is not a time like 2026-12-01T08:00:00Z") from exc
    if when.utcoffset() is None:
        raise PromotionRefused(
            f"{text!r} has no time zone: write it in UTC with a Z, like 2026-12-01T08:00:00Z"
        )
    return when.astimezone(UTC).replace(tzinfo=None)
