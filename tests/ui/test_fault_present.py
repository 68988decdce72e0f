"""The fault screens' pure half: which screen shows, and what the offline, out-of-service and
e-receipt lines say, in both languages (no Kivy)."""

from __future__ import annotations

import pytest

from kiosk.core.availability import OutOfService
from kiosk.core.checkout import Checkout, Notice, Phase
from kiosk.i18n import notice_text
from kiosk.ui import present


def test_the_attract_screen_becomes_out_of_service_while_the_kiosk_cannot_sell() -> None:
    assert present.customer_screen(Phase.ATTRACT, OutOfService.STORE_NOT_WRITABLE.value) == "out_of_service"
    assert present.customer_screen(Phase.ATTRACT, "") == "attract"


@pytest.mark.parametrize("phase", [Phase.CART, Phase.PAYING, Phase.PRINTING, Phase.DONE, Phase.NEEDS_HELP])
def test_a_sale_under_way_finishes_on_its_own_screens(phase: Phase) -> None:
    assert present.customer_screen(phase, OutOfService.UPDATE_HELD.value) == present.screen_for(phase)


@pytest.mark.parametrize("reason", list(OutOfService))
@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_staff_read_the_code_and_an_explanation_for_every_reason(reason: OutOfService, language: str) -> None:
    line = present.out_of_service_staff(reason.value, language)
    assert reason.value.upper() in line
    explanation = line.split("—", 1)[1].strip()
    assert len(explanation) > 10


def test_no_staff_line_while_in_service() -> None:
    assert present.out_of_service_staff("", "en") == ""


@pytest.mark.parametrize(
    ("offline", "phase", "shown"),
    [
        (True, Phase.ATTRACT, True),
        (True, Phase.CART, True),
        (True, Phase.PAYING, False),  # the customer is busy paying: nothing to read there
        (True, Phase.DONE, False),
        (False, Phase.ATTRACT, False),
    ],
)
def test_the_offline_line_shows_on_the_attract_and_cart_screens_only(
    offline: bool, phase: Phase, shown: bool
) -> None:
    assert bool(present.offline_text(offline, phase, "zh_CN")) is shown


def test_the_offline_line_in_both_languages() -> None:
    assert present.offline_text(True, Phase.CART, "zh_CN") == "离线模式：付款正常，数据稍后上传"
    assert (
        present.offline_text(True, Phase.CART, "en") == "Offline: payments work as usual; data uploads later"
    )


def test_the_done_screen_sends_the_customer_to_the_e_receipt_when_the_printer_failed() -> None:
    failed = Checkout(phase=Phase.DONE, notice=Notice.RECEIPT_ON_PHONE)
    assert present.done_receipt_line(failed, "zh_CN") == "打印机缺纸/故障：请扫码查看电子小票"
    assert "e-receipt" in present.done_receipt_line(failed, "en")
    printed = Checkout(phase=Phase.DONE)
    assert present.done_receipt_line(printed, "en") == "Please take your receipt"


def test_the_camera_fault_says_to_ask_staff() -> None:
    assert notice_text(Notice.CAMERA_FAULT, "zh_CN") == "摄像头故障，请联系工作人员"
    assert "staff" in notice_text(Notice.CAMERA_FAULT, "en")


def test_the_carts_phase_shows_the_member_screen_while_it_is_open() -> None:
    assert present.customer_screen(Phase.CART, "", member_screen=True) == "member"
    assert present.customer_screen(Phase.CART, "", member_screen=False) == "cart"
    for phase in Phase:
        if phase is not Phase.CART:  # a stale flag never takes another phase's screen
            assert present.customer_screen(phase, "", member_screen=True) == present.screen_for(phase)
