"""charge_until_final end to end: SimulatorGateway and the real simulator on loopback, real clock, short bounds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from kiosk.payments.charge import charge_until_final
from kiosk.payments.simulator_gateway import SimulatorGateway
from kiosk.ports import ChargeRequest, ChargeResult, ChargeStatus
from paysim.server import GatewaySimulator

PASSWORD_DELAY_S = 0.3
POLL_S = 0.05


@pytest.fixture
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(password_delay_s=PASSWORD_DELAY_S) as running:
        yield running


@pytest.fixture
def gateway(sim: GatewaySimulator) -> Iterator[SimulatorGateway]:
    gw = SimulatorGateway(sim.url, timeout_s=2.0)
    yield gw
    gw.close()


def charge(gateway: SimulatorGateway, code: str, max_wait_s: float, out_trade_no: str = "K1") -> ChargeResult:
    channel = "wechat" if code.startswith("1") else "alipay"
    request = ChargeRequest(out_trade_no, channel, code, 1990, "便当 lunch box")
    return charge_until_final(gateway, request, time.monotonic, time.sleep, max_wait_s, POLL_S)


def entries(sim: GatewaySimulator) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = requests.get(f"{sim.url}/v1/ledger", timeout=5).json()["entries"]
    return data


def test_password_payment_is_paid_and_charged_exactly_once(
    sim: GatewaySimulator, gateway: SimulatorGateway
) -> None:
    result = charge(gateway, "134567890123459001", max_wait_s=5.0)
    assert result.status is ChargeStatus.PAID
    assert result.transaction_id.startswith("SIM")
    assert [(e["kind"], e["out_trade_no"], e["amount_fen"]) for e in entries(sim)] == [("charge", "K1", 1990)]


def test_password_free_payment_is_paid_at_once(sim: GatewaySimulator, gateway: SimulatorGateway) -> None:
    assert charge(gateway, "2834567890121234", max_wait_s=5.0).status is ChargeStatus.PAID
    assert len(entries(sim)) == 1


def test_decline_comes_back_with_its_reason(sim: GatewaySimulator, gateway: SimulatorGateway) -> None:
    result = charge(gateway, "2834567890129002", max_wait_s=5.0)
    assert (result.status, result.reason) == (ChargeStatus.FAILED, "INSUFFICIENT_FUNDS")
    assert entries(sim) == []


def test_customer_too_slow_is_cancelled_and_never_charged() -> None:
    """GIVEN max_wait well short of the password delay WHEN charging THEN cancelled, and no charge ever lands."""
    with GatewaySimulator(password_delay_s=1.0) as slow_customer:
        gw = SimulatorGateway(slow_customer.url, timeout_s=2.0)
        try:
            result = charge(gw, "134567890123459001", max_wait_s=0.15)
            assert result.status is ChargeStatus.CANCELLED
            assert "cancelled" in result.reason
            time.sleep(1.1)  # past the password delay: the cancelled charge must stay uncharged
            assert gw.query("K1").status is ChargeStatus.CANCELLED
            assert entries(slow_customer) == []
        finally:
            gw.close()


def test_gateway_down_ends_unknown_within_bounds() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = SimulatorGateway(f"http://127.0.0.1:{port}", timeout_s=0.5)
    try:
        result = charge(gw, "134567890123451234", max_wait_s=0.3)
    finally:
        gw.close()
    assert result.status is ChargeStatus.UNKNOWN
    assert "could not be confirmed" in result.reason
