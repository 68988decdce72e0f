"""Promotions end to end: added at HQ, pulled down with the catalog, applied to the cart, committed with
the order, charged by the gateway simulator as exactly the order's total, printed on the receipt and
uploaded to HQ with the discounts, where the sale reconciles (lines less discounts = total)."""

from __future__ import annotations

from datetime import timedelta

from hq.db import connected
from hq.models import Sale, SaleDiscount, SaleLine, utc_now
from hq.promotions import PromotionSpec, add_promotion
from kiosk.core import checkout as co
from kiosk.store.models import Order, OrderDiscount
from tests.integration.test_checkout_flow import KIOSK_ID, Appliance, _charges, _until, appliance

__all__ = ["appliance"]  # the fixture, shared with the checkout flow's tests


def test_a_discounted_sale_is_charged_its_order_total_and_reconciles_at_hq(appliance: Appliance) -> None:
    start = utc_now() - timedelta(hours=1)
    with connected():
        # 3 bottles of water (200 each) for 500, and 100 off a cart of 800 or more
        add_promotion(
            PromotionSpec(
                "water3", "multi_buy", "水三瓶5元", "3 waters for 5", start, sku="D001", qty=3, price_fen=500
            )
        )
        add_promotion(
            PromotionSpec("off100", "spend_off", "满8减1", "1 off 8", start, threshold_fen=800, off_fen=100)
        )
    k = appliance.kiosk()
    c = k.controller
    water = next(p for p in c.catalog() if p.sku == "D001")
    cola = next(p for p in c.catalog() if p.sku == "D002")
    c.dispatch(co.StartTapped())
    for product in (water, water, water, cola):
        c.dispatch(co.ProductTapped(product))
    priced = c.priced_cart()
    assert priced.subtotal_fen == 3 * 200 + 350
    assert [(d.promo_id, d.amount_fen) for d in priced.discounts] == [("water3", 100), ("off100", 100)]
    c.dispatch(co.PayTapped())
    _until(k, lambda: c.state.order_id is not None)
    assert c.state.sale_total_fen == 750
    c.hold_up_sample("wechat_ok")
    _until(k, lambda: c.state.phase in (co.Phase.DONE, co.Phase.NEEDS_HELP))
    assert c.state.phase is co.Phase.DONE
    order_id = c.state.order_id
    order = Order.get_by_id(order_id)
    assert (order.status, order.total_fen) == ("paid", 750)
    assert [
        (d.promo_id, d.amount_fen) for d in OrderDiscount.select().where(OrderDiscount.order == order_id)
    ] == [
        ("water3", 100),
        ("off100", 100),
    ]
    charged = [e.amount_fen for e in appliance.sim.bank.ledger() if e.kind == "charge"]
    assert charged == [750], "the gateway charged exactly the order's total"
    assert len(_charges(appliance.sim)) == 1
    [receipt] = appliance.printer.wait_for_receipts(1, timeout_s=5)
    assert "水三瓶5元" in receipt and "-1.00" in receipt and "7.50" in receipt
    _until(k, lambda: k.store.pending_count() == 0)
    with connected():
        sale = Sale.get_by_id(order_id)
        lines = sum(li.line_total_fen for li in SaleLine.select().where(SaleLine.sale == order_id))
        off = [(d.promo_id, d.amount_fen) for d in SaleDiscount.select().where(SaleDiscount.sale == order_id)]
    assert (sale.kiosk_id, sale.total_fen, lines) == (KIOSK_ID, 750, 950)
    assert off == [("water3", 100), ("off100", 100)]
