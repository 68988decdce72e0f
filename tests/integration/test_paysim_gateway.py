"""SimulatorGateway against the real simulator, a closed port, a slow simulator, and a server talking nonsense."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from kiosk.payments.simulator_gateway import SimulatorGateway
from kiosk.ports import ChargeRequest, ChargeStatus, GatewayError, PaymentGateway
from paysim.server import GatewaySimulator

WECHAT_PAID = "134567890123451234"
ALIPAY_PAYING = "2834567890129001"
ALIPAY_BROKE = "2834567890129002"


def request(out_trade_no: str, code: str = WECHAT_PAID, amount_fen: int = 990) -> ChargeRequest:
    channel = "wechat" if code.startswith("1") else "alipay"
    return ChargeRequest(out_trade_no, channel, code, amount_fen, "矿泉水 water")


@pytest.fixture
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(password_delay_s=30.0) as running:
        yield running


@pytest.fixture
def gateway(sim: GatewaySimulator) -> Iterator[SimulatorGateway]:
    gw = SimulatorGateway(sim.url, timeout_s=5.0)
    yield gw
    gw.close()


def ledger(sim: GatewaySimulator) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = requests.get(f"{sim.url}/v1/ledger", timeout=5).json()["entries"]
    return entries


def test_it_is_a_payment_gateway(gateway: SimulatorGateway) -> None:
    port: PaymentGateway = gateway
    assert port.name == "simulator"


def test_pay_query_cancel(sim: GatewaySimulator, gateway: SimulatorGateway) -> None:
    paid = gateway.pay(request("K1"))
    assert (paid.status, paid.out_trade_no, paid.reason) == (ChargeStatus.PAID, "K1", "")
    assert paid.transaction_id.startswith("SIM")
    assert gateway.pay(request("K1")) == paid
    assert gateway.query("K1") == paid
    reversed_ = gateway.cancel("K1")
    assert (reversed_.status, reversed_.reason) == (ChargeStatus.CANCELLED, "REVERSED")
    assert [(e["kind"], e["out_trade_no"]) for e in ledger(sim)] == [("charge", "K1"), ("reversal", "K1")]


def test_declines_and_user_paying(gateway: SimulatorGateway) -> None:
    broke = gateway.pay(request("K1", ALIPAY_BROKE))
    assert (broke.status, broke.reason) == (ChargeStatus.FAILED, "INSUFFICIENT_FUNDS")
    used = gateway.pay(request("K2", WECHAT_PAID))
    assert used.status is ChargeStatus.PAID
    assert gateway.pay(request("K3", WECHAT_PAID)).reason == "AUTH_CODE_USED"
    paying = gateway.pay(request("K4", ALIPAY_PAYING))
    assert paying.status is ChargeStatus.USER_PAYING
    unknown = gateway.query("NEVER")
    assert (unknown.status, unknown.reason) == (ChargeStatus.UNKNOWN, "ORDER_NOT_EXIST")


def test_request_the_simulator_refuses_is_a_decline_with_nothing_charged(
    sim: GatewaySimulator, gateway: SimulatorGateway
) -> None:
    result = gateway.pay(ChargeRequest("K1", "alipay", WECHAT_PAID, 990, "x"))
    assert result.status is ChargeStatus.FAILED
    assert result.reason.startswith("INVALID_REQUEST: channel:")
    assert WECHAT_PAID not in result.reason
    assert ledger(sim) == []


def test_reused_out_trade_no_is_unknown_not_failed(gateway: SimulatorGateway) -> None:
    """GIVEN K1 was paid WHEN K1 is sent again with another amount THEN the answer is 'unknown', not 'failed'."""
    gateway.pay(request("K1"))
    with pytest.raises(GatewayError, match="409"):
        gateway.pay(request("K1", amount_fen=1))
    assert gateway.query("K1").status is ChargeStatus.PAID


def free_closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_closed_port_is_a_gateway_error() -> None:
    gw = SimulatorGateway(f"http://127.0.0.1:{free_closed_port()}", timeout_s=2.0)
    try:
        calls: list[Callable[[], object]] = [
            lambda: gw.pay(request("K1")),
            lambda: gw.query("K1"),
            lambda: gw.cancel("K1"),
        ]
        for call in calls:
            with pytest.raises(GatewayError, match="cannot reach") as caught:
                call()
            assert WECHAT_PAID not in str(caught.value)
    finally:
        gw.close()


def test_timeout_is_a_gateway_error_and_the_charge_may_still_happen() -> None:
    """GIVEN a simulator slower than the kiosk's timeout WHEN paying THEN GatewayError, yet the money moves.

    This is why a timeout is "unknown" and never "failed": the gateway got the request and charged.
    """
    with GatewaySimulator(latency_s=0.6) as slow:
        impatient = SimulatorGateway(slow.url, timeout_s=0.1)
        with pytest.raises(GatewayError, match="no answer within"):
            impatient.pay(request("K1"))
        impatient.close()
        patient = SimulatorGateway(slow.url, timeout_s=5.0)
        deadline = time.monotonic() + 5.0
        status = ChargeStatus.UNKNOWN
        for _ in range(20):
            status = patient.query("K1").status
            if status is not ChargeStatus.UNKNOWN or time.monotonic() > deadline:
                break
        patient.close()
        assert status is ChargeStatus.PAID
        assert len(ledger(slow)) == 1


# --- a server that answers whatever a test says -----------------------------------------------------


class CannedServer:
    """Answers every POST with the next canned (status, content type, body, extra headers)."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str, bytes, dict[str, str]]] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status, content_type, body, headers = canned.replies.pop(0)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def canned() -> Iterator[CannedServer]:
    server = CannedServer()
    yield server
    server.close()


def reply(**fields: Any) -> bytes:
    body = {"status": "paid", "out_trade_no": "K1", "transaction_id": "TX1", "reason": ""}
    body.update(fields)
    return json.dumps(body).encode()


JSON = "application/json"


@pytest.mark.parametrize(
    ("status", "content_type", "body", "headers", "match"),
    [
        (500, JSON, b'{"error": "boom"}', {}, "HTTP 500: boom"),
        (502, "text/html", b"<html>Bad Gateway</html>", {}, "HTTP 502"),
        (503, JSON, b"", {}, "HTTP 503"),
        (404, "text/html", b"<html>not found</html>", {}, "HTTP 404"),
        (302, "text/html", b"", {"Location": "http://127.0.0.1:1/elsewhere"}, "HTTP 302"),
        (200, "text/html", b"<html>captive portal</html>", {}, "not JSON"),
        (200, JSON, b"[1, 2]", {}, "not a JSON object"),
        (200, JSON, reply(status="ok"), {}, "status 'ok'"),
        (200, JSON, reply(status=None), {}, "status None"),
        (200, JSON, reply(out_trade_no="K2"), {}, "about out_trade_no 'K2'"),
        (200, JSON, reply(out_trade_no=None), {}, "about out_trade_no None"),
        (200, JSON, reply(transaction_id=""), {}, "no transaction_id"),
        (200, JSON, reply(transaction_id=12345), {}, "bad transaction_id"),
        (200, JSON, reply(transaction_id="T" * 65), {}, "bad transaction_id"),
        (200, JSON, reply(reason=["x"]), {}, "bad reason"),
        (400, "text/plain", b"bad request", {}, "HTTP 400"),
        (400, JSON, b'{"detail": "no error key"}', {}, "HTTP 400"),
    ],
)
def test_nonsense_from_the_gateway_is_a_gateway_error(
    canned: CannedServer, status: int, content_type: str, body: bytes, headers: dict[str, str], match: str
) -> None:
    canned.replies.append((status, content_type, body, headers))
    gw = SimulatorGateway(canned.url, timeout_s=2.0)
    with pytest.raises(GatewayError, match=match):
        gw.pay(request("K1"))
    gw.close()


def test_a_400_to_query_or_cancel_is_a_gateway_error(canned: CannedServer) -> None:
    canned.replies += [(400, JSON, b'{"error": "out_trade_no: bad"}', {})] * 2
    gw = SimulatorGateway(canned.url, timeout_s=2.0)
    with pytest.raises(GatewayError, match="HTTP 400"):
        gw.query("K1")
    with pytest.raises(GatewayError, match="HTTP 400"):
        gw.cancel("K1")
    gw.close()


def test_extra_fields_in_a_good_reply_are_ignored(canned: CannedServer) -> None:
    canned.replies.append((200, JSON, reply(fee_fen=3), {}))
    result = SimulatorGateway(canned.url, timeout_s=2.0).query("K1")
    assert (result.status, result.transaction_id) == (ChargeStatus.PAID, "TX1")


def test_a_shared_session_is_used_and_left_open(sim: GatewaySimulator) -> None:
    with requests.Session() as session:
        gw = SimulatorGateway(sim.url + "/", timeout_s=5.0, session=session)
        assert gw.pay(request("K1")).status is ChargeStatus.PAID
        gw.close()
        assert gw.query("K1").status is ChargeStatus.PAID  # the caller's session still works


@pytest.mark.parametrize(
    ("url", "timeout_s"),
    [
        ("127.0.0.1:8090", 5.0),
        ("ftp://127.0.0.1:8090", 5.0),
        ("http://", 5.0),
        ("http://127.0.0.1:8090", 0.0),
        ("http://127.0.0.1:8090", -1.0),
        ("http://127.0.0.1:8090", 121.0),
    ],
)
def test_bad_configuration_is_refused(url: str, timeout_s: float) -> None:
    with pytest.raises(ValueError):
        SimulatorGateway(url, timeout_s)
