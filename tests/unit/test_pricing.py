"""Promotions on a cart (kiosk.core.pricing): each kind, the no-stacking rules, rounding, and the
properties every priced cart must keep whatever HQ sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.core.cart import Cart, Product
from kiosk.core.pricing import PricedCart, PromoKind, Promotion, PromotionError, price_cart

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
COLA = Product("cola", "可乐", "Cola", 350, category="drinks")
TEA = Product("tea", "茶", "Tea", 299, category="drinks")
CHIPS = Product("chips", "薯片", "Chips", 1000, category="snacks")


def promo(promo_id: str, kind: PromoKind, **kw: object) -> Promotion:
    args: dict[str, object] = {"name_zh": "优惠" + promo_id, "name_en": "Offer " + promo_id, "starts_at": T0}
    args.update(kw)
    return Promotion(promo_id, kind, **args)  # type: ignore[arg-type]


def test_percent_off_a_category_rounds_half_a_fen_to_the_customer() -> None:
    cart = Cart().add(TEA)  # 299 x 15% = 44.85 fen: 45 off
    priced = price_cart(cart, [promo("p", PromoKind.PERCENT_OFF, category="drinks", percent=15)], T0)
    assert [(d.sku, d.amount_fen) for d in priced.discounts] == [("tea", 45)]
    assert priced.total_fen == 254
    half = Cart().add(Product("x", "x", "x", 10))  # 10 x 5% = 0.5 fen: the customer gets it
    assert price_cart(half, [promo("p", PromoKind.PERCENT_OFF, sku="x", percent=5)], T0).discount_fen == 1


def test_multi_buy_counts_full_groups_only() -> None:
    cart = Cart().add(COLA, 7)  # 3 for 900: two groups save 2 x 150, the 7th pays full price
    priced = price_cart(cart, [promo("m", PromoKind.MULTI_BUY, sku="cola", qty=3, price_fen=900)], T0)
    assert priced.discount_fen == 300
    assert priced.total_fen == 7 * 350 - 300
    dearer = promo("m", PromoKind.MULTI_BUY, sku="cola", qty=2, price_fen=800)  # not a saving
    assert price_cart(cart, [dearer], T0).discounts == ()


def test_spend_off_is_measured_after_item_discounts() -> None:
    cart = Cart().add(CHIPS, 2)  # 2000, 10% off -> 1800, below a 2000 threshold
    offers = [
        promo("pct", PromoKind.PERCENT_OFF, sku="chips", percent=10),
        promo("spend", PromoKind.SPEND_OFF, threshold_fen=2000, off_fen=500),
    ]
    assert [d.promo_id for d in price_cart(cart, offers, T0).discounts] == ["pct"]
    assert price_cart(cart.add(CHIPS), offers, T0).total_fen == 2700 - 500


def test_one_item_promotion_per_line_by_priority_then_size() -> None:
    cart = Cart().add(COLA, 3)
    small_high = promo("a", PromoKind.PERCENT_OFF, sku="cola", percent=5, priority=2)
    big_low = promo("b", PromoKind.PERCENT_OFF, category="drinks", percent=50, priority=1)
    bigger_same = promo("c", PromoKind.MULTI_BUY, sku="cola", qty=3, price_fen=100, priority=1)
    assert [d.promo_id for d in price_cart(cart, [big_low, small_high], T0).discounts] == ["a"]
    assert [d.promo_id for d in price_cart(cart, [big_low, bigger_same], T0).discounts] == ["c"]


def test_validity_window_and_members_only() -> None:
    p = promo("w", PromoKind.PERCENT_OFF, sku="cola", percent=10, ends_at=T0 + timedelta(hours=1))
    cart = Cart().add(COLA)
    assert price_cart(cart, [p], T0 - timedelta(seconds=1)).discounts == ()
    assert price_cart(cart, [p], T0).discount_fen == 35
    assert price_cart(cart, [p], T0 + timedelta(hours=1)).discounts == ()  # the end is exclusive
    member = promo("m", PromoKind.PERCENT_OFF, sku="cola", percent=10, members_only=True)
    assert price_cart(cart, [member], T0).discounts == ()
    assert price_cart(cart, [member], T0, member=True).discount_fen == 35


@pytest.mark.parametrize(
    ("kind", "kw", "words"),
    [
        (PromoKind.PERCENT_OFF, {"sku": "a", "category": "b", "percent": 10}, "exactly one"),
        (PromoKind.PERCENT_OFF, {"sku": "a", "percent": 0}, "percent must be"),
        (PromoKind.MULTI_BUY, {"sku": "a", "qty": 1, "price_fen": 5}, "qty must be"),
        (PromoKind.SPEND_OFF, {"threshold_fen": 100, "off_fen": 200}, "at least off_fen"),
        (PromoKind.SPEND_OFF, {"threshold_fen": 100, "off_fen": 10, "ends_at": T0}, "after starts_at"),
        (
            PromoKind.SPEND_OFF,
            {"threshold_fen": 100, "off_fen": 10, "starts_at": datetime(2026, 1, 1)},
            "zone",
        ),
    ],
)
def test_a_promotion_that_cannot_apply_is_refused_with_the_reason(
    kind: PromoKind, kw: dict[str, object], words: str
) -> None:
    with pytest.raises(PromotionError, match=words):
        promo("bad", kind, **kw)


# --- properties -----------------------------------------------------------------------------------

SKUS = ("a", "b", "c", "d")
CATS = ("x", "y")

products = st.builds(
    Product,
    sku=st.sampled_from(SKUS),
    name_zh=st.just("品"),
    name_en=st.just("item"),
    price_fen=st.integers(0, 50_000),
    category=st.sampled_from(CATS),
)


@st.composite
def carts(draw: st.DrawFn) -> Cart:
    cart = Cart()
    for product in draw(st.lists(products, max_size=6, unique_by=lambda p: p.sku)):
        cart = cart.add(product, draw(st.integers(1, 99)))
    return cart


@st.composite
def promotions(draw: st.DrawFn) -> list[Promotion]:
    out = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(list(PromoKind)))
        common = {"priority": draw(st.integers(0, 3)), "members_only": draw(st.booleans())}
        if kind is PromoKind.PERCENT_OFF:
            target = draw(st.sampled_from([{"sku": s} for s in SKUS] + [{"category": c} for c in CATS]))
            kw = {**target, "percent": draw(st.integers(1, 100))}
        elif kind is PromoKind.MULTI_BUY:
            kw = {
                "sku": draw(st.sampled_from(SKUS)),
                "qty": draw(st.integers(2, 5)),
                "price_fen": draw(st.integers(0, 200_000)),
            }
        else:
            off = draw(st.integers(1, 100_000))
            kw = {"off_fen": off, "threshold_fen": off + draw(st.integers(0, 100_000))}
        out.append(promo(f"p{i}", kind, **common, **kw))
    return out


def _check(priced: PricedCart) -> None:
    assert priced.total_fen >= 0
    assert 0 <= priced.discount_fen <= priced.subtotal_fen
    for d in priced.discounts:
        assert d.amount_fen > 0
        if d.sku:
            line = next(li for li in priced.cart.lines if li.product.sku == d.sku)
            assert d.amount_fen <= line.total_fen
    item_skus = [d.sku for d in priced.discounts if d.sku]
    assert len(item_skus) == len(set(item_skus)), "one item promotion per line"
    assert sum(1 for d in priced.discounts if not d.sku) <= 1, "one cart promotion"


@settings(max_examples=300, deadline=None)
@given(carts(), promotions(), st.booleans(), st.data())
def test_priced_carts_keep_their_promises(
    cart: Cart, offers: list[Promotion], member: bool, data: st.DataObject
) -> None:
    priced = price_cart(cart, offers, T0, member=member)
    _check(priced)
    shuffled = data.draw(st.permutations(offers))
    again = price_cart(cart, shuffled, T0, member=member)
    assert again == priced, "the order promotions arrive in changes nothing"
    reordered = Cart(tuple(reversed(cart.lines)))
    other = price_cart(reordered, offers, T0, member=member)
    assert other.total_fen == priced.total_fen
    assert sorted(other.discounts, key=repr) == sorted(priced.discounts, key=repr)
    assert price_cart(cart, offers, T0, member=member) == priced, "pricing twice gives the same answer"
    if not member:
        assert price_cart(cart, offers, T0, member=True).total_fen >= 0


def test_the_kiosk_knows_every_kind_hq_stores() -> None:
    from kiosk_common.promotion_rules import KINDS

    assert tuple(k.value for k in PromoKind) == KINDS
