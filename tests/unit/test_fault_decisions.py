"""The fault and out-of-service decisions, pure: printer out (e-receipt), camera fault, offline, out of service."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk.core import checkout as co
from kiosk.core.availability import (
    UPDATE_HOLD_LONG_S,
    OutOfService,
    SellingFacts,
    hq_offline_after,
    out_of_service,
)
from kiosk.core.cart import Cart, Product
from kiosk.core.idle import E_RECEIPT_DONE_S, IdleRules, timer_event
from kiosk.sync.pusher import PullReport, PushReport, link_answer

WATER = Product("w", "矿泉水", "Water", 200, "6901234567892")
CART = Cart().add(WATER)
IN_CART = co.Checkout(phase=co.Phase.CART, cart=CART)
PAYING = co.Checkout(phase=co.Phase.PAYING, cart=CART, order_id="o1")
PRINTING = co.Checkout(phase=co.Phase.PRINTING, cart=CART, order_id="o1", paid_channel="wechat")


# --- printer out, e-receipt -------------------------------------------------------------------------


def test_a_paid_customer_whose_receipt_failed_goes_to_the_done_screen_when_an_e_receipt_exists() -> None:
    after, effects = co.transition(PRINTING, co.ReceiptFailed("o1", "paper out", e_receipt=True))
    assert after.phase is co.Phase.DONE
    assert after.notice is co.Notice.RECEIPT_ON_PHONE and after.detail == "paper out"
    assert effects == (
        co.AlertStaff("receipt not printed, the customer was shown the e-receipt: paper out", "o1"),
    )


def test_without_an_e_receipt_a_failed_receipt_still_calls_staff() -> None:
    after, effects = co.transition(PRINTING, co.ReceiptFailed("o1", "paper out"))
    assert after.phase is co.Phase.NEEDS_HELP and after.notice is co.Notice.RECEIPT_FAILED
    assert [type(e) for e in effects] == [co.AlertStaff]


def test_the_e_receipt_done_screen_stays_long_enough_to_scan_the_code() -> None:
    rules = IdleRules(done_after_s=6)
    done = replace(PRINTING, phase=co.Phase.DONE, notice=co.Notice.RECEIPT_ON_PHONE)
    assert timer_event(done, quiet_s=10, in_phase_s=10, rules=rules) is None
    assert timer_event(done, quiet_s=0, in_phase_s=E_RECEIPT_DONE_S, rules=rules) == co.TimedOut()
    printed = replace(done, notice=co.Notice.NONE)
    assert timer_event(printed, quiet_s=6, in_phase_s=6, rules=rules) == co.TimedOut()


def test_pay_with_the_printer_down_offers_the_e_receipt_instead_of_calling_staff() -> None:
    after, effects = co.transition(IN_CART, co.PayTapped(printer_ready=False, e_receipt=True))
    assert after.phase is co.Phase.CART and after.printer_offer and effects == ()


def test_continuing_without_a_printer_opens_the_order_and_tells_staff() -> None:
    offered = replace(IN_CART, printer_offer=True)
    after, effects = co.transition(offered, co.PrinterOfferAnswered(go=True))
    assert after.phase is co.Phase.PAYING and not after.printer_offer
    assert [type(e) for e in effects] == [co.AlertStaff, co.OpenOrder]


def test_declining_the_offer_keeps_the_cart() -> None:
    offered = replace(IN_CART, printer_offer=True)
    after, effects = co.transition(offered, co.PrinterOfferAnswered(go=False))
    assert after == IN_CART and effects == ()


def test_an_answer_without_an_offer_changes_nothing() -> None:
    assert co.transition(IN_CART, co.PrinterOfferAnswered(go=True)) == (IN_CART, ())


def test_adding_an_item_withdraws_the_offer() -> None:
    offered = replace(IN_CART, printer_offer=True)
    after, _ = co.transition(offered, co.ProductTapped(WATER))
    assert not after.printer_offer


def test_pay_with_the_printer_down_and_no_e_receipt_is_refused_as_before() -> None:
    after, effects = co.transition(IN_CART, co.PayTapped(printer_ready=False, e_receipt=False))
    assert after.phase is co.Phase.NEEDS_HELP and after.notice is co.Notice.PRINTER_NOT_READY
    assert [type(e) for e in effects] == [co.AlertStaff]


# --- camera fault -----------------------------------------------------------------------------------


def test_a_camera_fault_on_the_pay_screen_cancels_the_unpaid_order_and_keeps_the_cart() -> None:
    after, effects = co.transition(PAYING, co.CameraFailed("camera: no frames"))
    assert after.phase is co.Phase.NEEDS_HELP and after.notice is co.Notice.CAMERA_FAULT
    assert after.detail == "camera: no frames" and after.cart == CART and after.order_id is None
    assert effects == (
        co.StopCamera(),
        co.CancelOrder("o1"),
        co.AlertStaff("camera fault on the pay screen: camera: no frames", "o1"),
    )


def test_a_camera_fault_never_ends_a_charge_in_flight() -> None:
    charging = replace(PAYING, charging=True)
    assert co.transition(charging, co.CameraFailed("camera: frozen")) == (charging, ())


@pytest.mark.parametrize("phase", [co.Phase.ATTRACT, co.Phase.CART, co.Phase.PRINTING, co.Phase.DONE])
def test_a_camera_fault_off_the_pay_screen_changes_nothing(phase: co.Phase) -> None:
    state = replace(PRINTING, phase=phase)
    assert co.transition(state, co.CameraFailed("camera: black")) == (state, ())


def test_pay_with_a_known_camera_fault_goes_to_the_fault_screen_without_an_order() -> None:
    after, effects = co.transition(IN_CART, co.PayTapped(camera_ready=False))
    assert after.phase is co.Phase.NEEDS_HELP and after.notice is co.Notice.CAMERA_FAULT
    assert not any(isinstance(e, (co.OpenOrder, co.CancelOrder)) for e in effects)


def test_staff_resolving_a_camera_fault_give_the_customer_the_cart_back() -> None:
    helped, _ = co.transition(PAYING, co.CameraFailed("camera: no frames"))
    after, _ = co.transition(helped, co.StaffResolved())
    assert after.phase is co.Phase.CART and after.cart == CART and after.notice is co.Notice.NONE


# --- out of service ---------------------------------------------------------------------------------


def test_a_kiosk_with_every_part_working_sells() -> None:
    assert out_of_service(SellingFacts()) is None


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (SellingFacts(payments_enabled=False), OutOfService.PAYMENT_NOT_CONFIGURED),
        (SellingFacts(store_fault="store: disk full"), OutOfService.STORE_NOT_WRITABLE),
        (SellingFacts(update_held_s=UPDATE_HOLD_LONG_S), OutOfService.UPDATE_HELD),
        (
            SellingFacts(payments_enabled=False, store_fault="store: disk full"),
            OutOfService.PAYMENT_NOT_CONFIGURED,
        ),
    ],
)
def test_each_reason_stops_selling(facts: SellingFacts, reason: OutOfService) -> None:
    assert out_of_service(facts) is reason


def test_a_short_update_hold_is_not_out_of_service() -> None:
    assert out_of_service(SellingFacts(update_held_s=UPDATE_HOLD_LONG_S - 1)) is None


# --- offline ----------------------------------------------------------------------------------------


def test_hq_turns_offline_when_unreachable_and_back_when_it_answers() -> None:
    assert hq_offline_after(False, unreachable=True, answered=False) is True
    assert hq_offline_after(True, unreachable=False, answered=False) is True  # a pass that told nothing
    assert hq_offline_after(True, unreachable=True, answered=True) is False
    assert hq_offline_after(True, unreachable=False, answered=True) is False


@pytest.mark.parametrize(
    ("push", "pull", "expected"),
    [
        (PushReport(0, 0, 3, "connection refused", unreachable=True), None, (True, False)),
        (PushReport(2, 0, 0), None, (False, True)),
        (PushReport(0, 0, 0, "HTTP 503"), None, (False, True)),
        (PushReport(0, 0, 3, waited=True), None, (False, False)),
        (PushReport(0, 0, 0), None, (False, False)),
        (PushReport(0, 0, 0), PullReport(0, 4), (False, True)),
        (PushReport(0, 0, 0), PullReport(0, 4, "timeout", unreachable=True), (True, False)),
    ],
)
def test_a_sync_pass_says_whether_hq_answered(
    push: PushReport, pull: PullReport | None, expected: tuple[bool, bool]
) -> None:
    assert link_answer(push, pull) == expected
