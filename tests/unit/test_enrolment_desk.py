"""The enrolment screen's desk (kiosk.enrolment_desk) with a redeem that answers at once: which codes it
takes, when it asks HQ again, and that a failing redeem or switch leaves the screen usable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.enrolment_desk import EnrolmentDesk, EnrolRefused, EnrolStatus
from kiosk_common.enrolment import EnrolPayload, format_enrol_payload

HQ = "https://hq.example.com"
PAYLOAD = format_enrol_payload(HQ, "K7QF-2M9X-PA3L-H8RD")


def desk(
    redeem: Callable[[EnrolPayload, str], Any], on_enrolled: Callable[[Any], None] = lambda _r: None
) -> tuple[EnrolmentDesk, list[EnrolPayload], list[str]]:
    asked: list[EnrolPayload] = []
    changes: list[str] = []

    def counted(payload: EnrolPayload, language: str) -> Any:
        asked.append(payload)
        return redeem(payload, language)

    d = EnrolmentDesk(
        kiosk_id="kiosk-1a2b3c4d",
        fingerprint="3f9a-0c4e-77b1-d2e8",
        hq_url=HQ,
        redeem=counted,
        language=lambda: "en",
        post=lambda fn: fn(),
        on_enrolled=on_enrolled,
        start=lambda work: work(),
    )
    d.on_change = lambda: changes.append(str(d.status))
    return d, asked, changes


def refuse(retry: bool) -> Callable[[EnrolPayload, str], Any]:
    def redeem(_p: EnrolPayload, _l: str) -> Any:
        raise EnrolRefused("HQ said no", retry=retry)

    return redeem


def test_a_refused_code_is_not_sent_again_but_an_unreachable_one_is() -> None:
    d, asked, changes = desk(refuse(retry=False))
    assert d.take(PAYLOAD) and d.take(PAYLOAD)
    assert len(asked) == 1 and d.status is EnrolStatus.FAILED and d.view().message == "HQ said no"
    assert changes == ["redeeming", "failed"]
    d, asked, _ = desk(refuse(retry=True))
    assert d.take(PAYLOAD) and d.take(PAYLOAD)
    assert len(asked) == 2


def test_anything_else_is_taken_and_refused_without_asking_hq() -> None:
    d, asked, _ = desk(lambda _p, _l: object())
    assert d.take("6921168509256")
    assert asked == [] and d.status is EnrolStatus.FAILED
    assert "not an HQ enrolment code" in d.view().message and "KIOSKENROL1" in d.view().message


def test_enrolled_the_desk_takes_no_more_codes() -> None:
    switched: list[Any] = []
    d, _, changes = desk(lambda _p, _l: "creds", switched.append)
    assert d.take(PAYLOAD)
    assert switched == ["creds"] and d.status is EnrolStatus.DONE and not d.needed
    assert changes == ["redeeming", "done"]
    assert not d.take("6921168509256")  # the checkout has it now


@pytest.mark.parametrize("where", ["redeem", "switch"])
def test_an_unexpected_failure_leaves_a_message_never_a_stuck_screen(where: str) -> None:
    def broken(*_a: Any) -> Any:
        raise RuntimeError("bug")

    d, _, _ = desk(broken, lambda _r: None) if where == "redeem" else desk(lambda _p, _l: "c", broken)
    assert d.take(PAYLOAD)
    assert d.status is EnrolStatus.FAILED and d.needed
    assert "RuntimeError" in d.view().message


def test_the_view_says_which_kiosk_and_device() -> None:
    d, _, _ = desk(lambda _p, _l: None)
    view = d.view()
    assert (view.kiosk_id, view.fingerprint, view.hq_url, view.message) == (
        "kiosk-1a2b3c4d",
        "3f9a-0c4e-77b1-d2e8",
        HQ,
        "",
    )
    assert view.installer_qr == "KIOSKID1:kiosk-1a2b3c4d:3f9a-0c4e-77b1-d2e8"
