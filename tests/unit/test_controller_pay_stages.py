"""The controller tells the pay screen what the gateway says while a charge is in flight, and runs
"still there?" on its injected clock (real SQLite store, gateway faked at the network edge)."""

from __future__ import annotations

from pathlib import Path

from kiosk.core import checkout as co
from kiosk.core.payment import ChannelRules
from kiosk.ports import ChargeStatus, Decoded
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway
from tests.unit.test_controller import WX, _controller, _to_paying


def _stages(c: object) -> list[co.PayStage]:
    seen: list[co.PayStage] = []
    c.subscribe(lambda st: seen.append(st.pay_stage))  # type: ignore[attr-defined]
    return seen


def test_a_password_payment_says_enter_the_password_until_the_gateway_answers(tmp_path: Path) -> None:
    gw = FakePaymentGateway(
        pay=[ChargeStatus.USER_PAYING],
        query=[ChargeStatus.USER_PAYING, ChargeStatus.PAID],
        rules=ChannelRules("fake", query_interval_s=0.5, give_up_after_s=5.0),
    )
    c = _controller(tmp_path, gw, FakeClock())
    _to_paying(c)
    seen = _stages(c)
    c.handle_codes([Decoded("QRCode", WX)])
    assert co.PayStage.USER_PAYING in seen
    assert c.state.phase is co.Phase.DONE and c.state.pay_stage is co.PayStage.NONE


def test_an_unknown_outcome_says_checking_do_not_pay_again(tmp_path: Path) -> None:
    gw = FakePaymentGateway(
        pay=[ChargeStatus.UNKNOWN],
        query=[ChargeStatus.PAID],
        rules=ChannelRules("fake", query_interval_s=0.5, give_up_after_s=5.0),
    )
    c = _controller(tmp_path, gw, FakeClock())
    _to_paying(c)
    seen = _stages(c)
    c.handle_codes([Decoded("QRCode", WX)])
    assert co.PayStage.CHECKING in seen
    assert c.state.phase is co.Phase.DONE


def test_an_unpaid_pay_screen_asks_still_there_then_cancels_the_order(tmp_path: Path) -> None:
    clock = FakeClock()
    c = _controller(tmp_path, FakePaymentGateway(), clock)
    _to_paying(c)
    order_id = c.state.order_id
    assert order_id is not None
    clock.now += 60
    c.tick()
    assert c.state.phase is co.Phase.PAYING and c.state.still_there_s == 20
    clock.now += 20
    c.tick()
    assert c.state.phase is co.Phase.ATTRACT and c.state.cart.is_empty
    assert not c.payment_camera_on
    assert c.store.order(order_id).status == "cancelled"
