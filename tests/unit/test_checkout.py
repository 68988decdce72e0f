"""Every transition of the checkout, as a table: (phase and flags before, event, phase after, effects)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core import checkout as co
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import CodeKind

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
COLA = Product("c", "可乐", "Cola", 350)
CART = Cart().add(WATER)
WX = "134567890123456789"

ATTRACT = co.Checkout()
IN_CART = co.Checkout(phase=co.Phase.CART, cart=CART)
EMPTY_CART = co.Checkout(phase=co.Phase.CART)
PAYING_NO_ORDER = co.Checkout(phase=co.Phase.PAYING, cart=CART)
PAYING = co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1")
CHARGING = replace(PAYING, charging=True)
PRINTING = co.Checkout(phase=co.Phase.PRINTING, cart=CART, order_id="o1", paid_channel="wechat")
DONE = replace(PRINTING, phase=co.Phase.DONE)
HELP_PRINTER = co.Checkout(phase=co.Phase.NEEDS_HELP, cart=CART, notice=co.Notice.PRINTER_NOT_READY)
HELP_RECEIPT = replace(PRINTING, phase=co.Phase.NEEDS_HELP, notice=co.Notice.RECEIPT_FAILED)
RECOVERING = co.Checkout(phase=co.Phase.RECOVERING, notice=co.Notice.CHECKING_LAST_PAYMENT)

P = co.Phase
CASES = [
    # (name, before, event, phase after, effect types)
    ("tap start", ATTRACT, co.StartTapped(), P.CART, []),
    ("scan item on attract", ATTRACT, co.ProductScanned(WATER.barcode or "", WATER), P.CART, [co.Beep]),
    ("unknown item", ATTRACT, co.ProductScanned("123", None), P.CART, [co.Beep]),
    ("tap product", IN_CART, co.ProductTapped(COLA), P.CART, [co.Beep]),
    ("set qty 0 removes", IN_CART, co.QuantitySet(WATER, 0), P.CART, [co.Beep]),
    ("payment code in cart", IN_CART, co.PaymentCodeScanned(CodeKind.WECHAT, WX), P.CART, [co.Beep]),
    ("pay with empty cart", EMPTY_CART, co.PayTapped(), P.CART, [co.Beep]),
    ("pay", IN_CART, co.PayTapped(), P.PAYING, [co.OpenOrder]),
    ("pay, printer not ready", IN_CART, co.PayTapped(printer_ready=False), P.NEEDS_HELP, [co.AlertStaff]),
    ("pay, no gateway", IN_CART, co.PayTapped(payment_ready=False), P.NEEDS_HELP, [co.AlertStaff]),
    ("cancel cart", IN_CART, co.CancelTapped(), P.ATTRACT, []),
    ("idle cart", IN_CART, co.TimedOut(), P.ATTRACT, []),
    ("order opened", PAYING_NO_ORDER, co.OrderOpened("o1"), P.PAYING, [co.StartCamera]),
    ("order not saved", PAYING_NO_ORDER, co.OrderFailed("disk full"), P.CART, [co.AlertStaff]),
    ("code before order saved", PAYING_NO_ORDER, co.PaymentCodeScanned(CodeKind.WECHAT, WX), P.PAYING, []),
    (
        "code scanned",
        PAYING,
        co.PaymentCodeScanned(CodeKind.WECHAT, WX),
        P.PAYING,
        [co.Beep, co.ChargePayment],
    ),
    ("code shown again within its lifetime", PAYING, co.PaymentCodeRefused(), P.PAYING, [co.Beep]),
    ("refused code while charging", CHARGING, co.PaymentCodeRefused(), P.PAYING, []),
    ("refused code in cart", IN_CART, co.PaymentCodeRefused(), P.CART, []),
    ("second code while charging", CHARGING, co.PaymentCodeScanned(CodeKind.ALIPAY, "28" * 9), P.PAYING, []),
    (
        "product code as payment",
        PAYING,
        co.PaymentCodeScanned(CodeKind.PRODUCT, "6901234567892"),
        P.PAYING,
        [co.Beep],
    ),
    ("scan item during payment", PAYING, co.ProductScanned(WATER.barcode or "", WATER), P.PAYING, [co.Beep]),
    ("tap item during payment", CHARGING, co.ProductTapped(COLA), P.PAYING, [co.Beep]),
    ("cancel while paying", PAYING, co.CancelTapped(), P.CART, [co.StopCamera, co.CancelOrder]),
    ("cancel before order saved", PAYING_NO_ORDER, co.CancelTapped(), P.CART, [co.StopCamera]),
    ("cancel while charging", CHARGING, co.CancelTapped(), P.PAYING, []),
    ("idle while charging", CHARGING, co.TimedOut(), P.PAYING, []),
    (
        "paid",
        CHARGING,
        co.PaymentSucceeded("o1", "wechat", "T1"),
        P.PRINTING,
        [co.StopCamera, co.PrintReceipt],
    ),
    ("paid for another order", CHARGING, co.PaymentSucceeded("o2", "wechat", "T1"), P.PAYING, []),
    ("declined", CHARGING, co.PaymentDeclined("o1", "INSUFFICIENT_FUNDS"), P.PAYING, [co.Beep]),
    (
        "unresolved",
        CHARGING,
        co.PaymentUnresolved("o1", "timeout"),
        P.NEEDS_HELP,
        [co.StopCamera, co.AlertStaff],
    ),
    ("printed", PRINTING, co.ReceiptPrinted("o1"), P.DONE, []),
    (
        "printer error after payment",
        PRINTING,
        co.ReceiptFailed("o1", "paper out"),
        P.NEEDS_HELP,
        [co.AlertStaff],
    ),
    ("cancel while printing", PRINTING, co.CancelTapped(), P.PRINTING, []),
    ("done timer", DONE, co.TimedOut(), P.ATTRACT, []),
    ("done, next customer scans", DONE, co.ProductScanned(WATER.barcode or "", WATER), P.CART, [co.Beep]),
    ("reprinted after receipt failure", HELP_RECEIPT, co.ReceiptPrinted("o1"), P.DONE, []),
    ("reprint of another order", HELP_RECEIPT, co.ReceiptPrinted("o2"), P.NEEDS_HELP, []),
    ("printed while help for printer", HELP_PRINTER, co.ReceiptPrinted("o1"), P.NEEDS_HELP, []),
    ("staff fix printer before pay", HELP_PRINTER, co.StaffResolved(), P.CART, []),
    ("staff after receipt failure", HELP_RECEIPT, co.StaffResolved(), P.ATTRACT, []),
    ("customer taps in help", HELP_RECEIPT, co.StartTapped(), P.NEEDS_HELP, []),
    (
        "late success after unresolved",
        HELP_RECEIPT,
        co.PaymentSucceeded("o1", "wechat", "T"),
        P.NEEDS_HELP,
        [],
    ),
    ("start-up recovery begins", ATTRACT, co.RecoveryStarted(), P.RECOVERING, []),
    ("tap start while recovering", RECOVERING, co.StartTapped(), P.RECOVERING, []),
    (
        "payment code while recovering",
        RECOVERING,
        co.PaymentCodeScanned(CodeKind.WECHAT, WX),
        P.RECOVERING,
        [],
    ),
    ("item while recovering", RECOVERING, co.ProductScanned(WATER.barcode or "", WATER), P.RECOVERING, []),
    ("staff cannot skip recovery", RECOVERING, co.StaffResolved(), P.RECOVERING, []),
    ("recovery found nothing", RECOVERING, co.RecoveryFinished(), P.ATTRACT, []),
    (
        "recovery found a paid sale",
        RECOVERING,
        co.RecoveryFinished(paid_orders=("o7",)),
        P.ATTRACT,
        [co.AlertStaff, co.PrintReceipt],
    ),
    (
        "recovery left one open",
        RECOVERING,
        co.RecoveryFinished(unresolved=("K1",)),
        P.ATTRACT,
        [co.AlertStaff],
    ),
    ("late recovery result", IN_CART, co.RecoveryFinished(paid_orders=("o7",)), P.CART, []),
    ("receipt of a recovered sale printed", ATTRACT, co.ReceiptPrinted("o7"), P.ATTRACT, []),
]


@pytest.mark.parametrize(("name", "before", "event", "phase", "effects"), CASES, ids=[c[0] for c in CASES])
def test_transition(
    name: str, before: co.Checkout, event: co.Event, phase: co.Phase, effects: list[type]
) -> None:
    after, produced = co.transition(before, event)
    assert after.phase is phase
    assert [type(e) for e in produced] == effects


def test_charge_carries_order_total_and_code() -> None:
    cart = Cart().add(WATER, 3).add(COLA)
    state = co.Checkout(phase=P.PAYING, cart=cart, order_id="o9")
    after, effects = co.transition(state, co.PaymentCodeScanned(CodeKind.ALIPAY, "281234567890123456"))
    charge = next(e for e in effects if isinstance(e, co.ChargePayment))
    assert charge == co.ChargePayment("o9", CodeKind.ALIPAY, "281234567890123456", 3 * 200 + 350)
    assert after.charging


def test_declined_allows_another_code() -> None:
    after, _ = co.transition(CHARGING, co.PaymentDeclined("o1", "INSUFFICIENT_FUNDS"))
    assert not after.charging and after.notice is co.Notice.PAYMENT_DECLINED
    again, effects = co.transition(after, co.PaymentCodeScanned(CodeKind.WECHAT, "104567890123456789"))
    assert any(isinstance(e, co.ChargePayment) for e in effects) and again.charging


def test_cancel_while_paying_keeps_the_cart() -> None:
    after, _ = co.transition(PAYING, co.CancelTapped())
    assert after.cart == CART and after.order_id is None


def test_notices_for_ignored_events() -> None:
    assert co.transition(CHARGING, co.CancelTapped())[0].notice is co.Notice.PAYMENT_IN_PROGRESS
    assert co.transition(PAYING, co.ProductTapped(COLA))[0].notice is co.Notice.FINISH_PAYMENT_FIRST
    assert co.transition(ATTRACT, co.ProductScanned("1", None))[0].notice is co.Notice.UNKNOWN_PRODUCT


SOLD_OUT_WATER = replace(WATER, sold_out=True)


@pytest.mark.parametrize(
    ("label", "before", "event"),
    [
        ("scanned on attract", ATTRACT, co.ProductScanned(WATER.barcode or "", SOLD_OUT_WATER)),
        ("scanned in the cart", IN_CART, co.ProductScanned(WATER.barcode or "", SOLD_OUT_WATER)),
        ("tapped in the cart", IN_CART, co.ProductTapped(SOLD_OUT_WATER)),
        ("scanned by the next customer", DONE, co.ProductScanned(WATER.barcode or "", SOLD_OUT_WATER)),
    ],
)
def test_a_sold_out_product_is_never_added_and_the_customer_is_told_it_is_sold_out(
    label: str, before: co.Checkout, event: co.Event
) -> None:
    after, effects = co.transition(before, event)
    assert after.notice is co.Notice.SOLD_OUT, label
    # the cart is left as it was (the next customer starts an empty one)
    kept = Cart() if before.phase is co.Phase.DONE else before.cart
    assert after.phase is co.Phase.CART and after.cart == kept
    assert [type(e) for e in effects] == [co.Beep] and effects[0] == co.Beep(error=True)


def test_every_event_in_every_phase_is_handled() -> None:
    """No (phase, event) pair raises: a stray event from a driver can never crash the kiosk."""
    events: list[co.Event] = [
        co.StartTapped(),
        co.ProductScanned("x", None),
        co.ProductTapped(COLA),
        co.QuantitySet(COLA, 2),
        co.PayTapped(),
        co.OrderOpened("o1"),
        co.OrderFailed("x"),
        co.PaymentCodeScanned(CodeKind.WECHAT, WX),
        co.PaymentCodeRefused(),
        co.PaymentSucceeded("o1", "wechat", "t"),
        co.PaymentDeclined("o1", "r"),
        co.PaymentUnresolved("o1", "r"),
        co.PaymentProgressed("o1", co.PayStage.USER_PAYING),
        co.ReceiptPrinted("o1"),
        co.ReceiptFailed("o1", "r"),
        co.CancelTapped(),
        co.TimedOut(),
        co.IdleAsked(5),
        co.StillHereTapped(),
        co.StaffResolved(),
        co.RecoveryStarted(),
        co.RecoveryFinished(("o1",), ("K1",)),
        co.MemberLookedUp(None),
        co.MemberTapped(),
        co.MemberBackTapped(),
        co.PrinterOfferAnswered(go=True),
        co.CameraFailed("camera: no frames"),
    ]
    assert {type(e) for e in events} == set(co.EVENT_TYPES)
    for state in (
        ATTRACT,
        IN_CART,
        PAYING_NO_ORDER,
        PAYING,
        CHARGING,
        PRINTING,
        DONE,
        HELP_PRINTER,
        HELP_RECEIPT,
        RECOVERING,
    ):
        for ev in events:
            after, effects = co.transition(state, ev)
            assert isinstance(after, co.Checkout) and isinstance(effects, tuple)


def test_unknown_event_type_is_a_programming_error() -> None:
    with pytest.raises(co.InvalidEvent):
        co.transition(ATTRACT, object())  # type: ignore[arg-type]


def test_the_table_lists_every_phase_and_event_pair_explicitly() -> None:
    """No catch-all: each phase names a handler for each event type, and nothing else."""
    assert set(co.TABLE) == set(co.Phase)
    for phase, handlers in co.TABLE.items():
        assert set(handlers) == set(co.EVENT_TYPES), phase


def test_the_recovered_sale_is_printed_and_staff_are_told_which() -> None:
    _, effects = co.transition(RECOVERING, co.RecoveryFinished(paid_orders=("o7",), unresolved=("K9",)))
    assert co.PrintReceipt("o7") in effects
    alerts = [e for e in effects if isinstance(e, co.AlertStaff)]
    assert [a.order_id for a in alerts] == ["o7", None]
    assert "K9" in alerts[1].reason


def test_a_kiosk_without_a_gateway_says_so_instead_of_taking_the_code() -> None:
    after, effects = co.transition(IN_CART, co.PayTapped(payment_ready=False))
    assert after.notice is co.Notice.PAYMENT_NOT_CONFIGURED
    assert not any(isinstance(e, co.OpenOrder) for e in effects)


def test_a_tap_with_a_quantity_adds_that_many_on_top_of_the_cart() -> None:
    """The item detail's "add to cart" with 3 chosen: ProductTapped(qty=3), not a second line."""
    state, effects = co.transition(IN_CART, co.ProductTapped(WATER, qty=3))
    assert state.cart.qty_of(WATER.sku) == 4 and len(state.cart.lines) == 1
    assert effects == (co.Beep(),)
    state, effects = co.transition(ATTRACT, co.ProductTapped(COLA, qty=2))
    assert state.phase is co.Phase.CART and state.cart.qty_of(COLA.sku) == 2


def test_a_tap_past_the_line_limit_changes_nothing_and_says_so() -> None:
    state, effects = co.transition(IN_CART, co.ProductTapped(WATER, qty=99))
    assert state.cart == IN_CART.cart and state.notice is co.Notice.CART_LIMIT
    assert effects == (co.Beep(error=True),)


def test_an_unknown_barcode_scanned_by_the_next_customer_on_the_thank_you_screen_says_so() -> None:
    """As a known or a sold-out one does: the next customer's sale starts and hears why nothing was
    added, instead of a scan that seems to do nothing."""
    after, effects = co.transition(DONE, co.ProductScanned("6900000000005", None))
    assert after.phase is co.Phase.CART and after.cart == Cart() and after.order_id is None
    assert after.notice is co.Notice.UNKNOWN_PRODUCT
    assert effects == (co.Beep(error=True),)
