"""The gateway simulator over real HTTP on 127.0.0.1: outcomes, idempotence, validation, ledger, lifecycle."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from paysim.server import GatewaySimulator, is_loopback_host

#: long enough that no test on a busy machine sees a 9001 code paid unless it means to
PASSWORD_DELAY_S = 30.0
SHORT_PASSWORD_DELAY_S = 0.3
TIMEOUT = 5.0


def wechat(last4: str, middle: str = "345678901234") -> str:
    return f"13{middle}{last4}"


def alipay(last4: str) -> str:
    return f"2888776655443322{last4}"  # 20 digits


@pytest.fixture
def sim() -> Iterator[GatewaySimulator]:
    with GatewaySimulator(password_delay_s=PASSWORD_DELAY_S) as running:
        yield running


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def pay_body(out_trade_no: str, code: str, amount_fen: int = 880, channel: str = "wechat") -> dict[str, Any]:
    return {
        "out_trade_no": out_trade_no,
        "channel": channel,
        "auth_code": code,
        "amount_fen": amount_fen,
        "subject": "测试 test",
    }


def post(http: requests.Session, sim: GatewaySimulator, path: str, body: object) -> requests.Response:
    return http.post(f"{sim.url}{path}", json=body, timeout=TIMEOUT)


def ledger(http: requests.Session, sim: GatewaySimulator) -> dict[str, Any]:
    response = http.get(f"{sim.url}/v1/ledger", timeout=TIMEOUT)
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def charges_of(data: dict[str, Any], out_trade_no: str) -> list[dict[str, Any]]:
    return [e for e in data["entries"] if e["kind"] == "charge" and e["out_trade_no"] == out_trade_no]


def test_healthz_and_url(sim: GatewaySimulator, http: requests.Session) -> None:
    assert sim.url.startswith("http://127.0.0.1:")
    response = http.get(f"{sim.url}/healthz", timeout=TIMEOUT)
    assert (response.status_code, response.json()) == (200, {"ok": True})


@pytest.mark.parametrize(
    ("code", "channel", "status", "reason"),
    [
        (wechat("1234"), "wechat", "paid", ""),
        (alipay("5555"), "alipay", "paid", ""),
        (wechat("9001"), "wechat", "user_paying", "USER_PAYING"),
        (alipay("9002"), "alipay", "failed", "INSUFFICIENT_FUNDS"),
        (wechat("9003"), "wechat", "failed", "AUTH_CODE_EXPIRED"),
    ],
)
def test_each_outcome(
    sim: GatewaySimulator, http: requests.Session, code: str, channel: str, status: str, reason: str
) -> None:
    response = post(http, sim, "/v1/pay", pay_body("T1", code, channel=channel))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    data = response.json()
    assert (data["status"], data["reason"], data["out_trade_no"]) == (status, reason, "T1")
    assert bool(data["transaction_id"]) == (status == "paid")
    assert len(charges_of(ledger(http, sim), "T1")) == (1 if status == "paid" else 0)
    query = post(http, sim, "/v1/query", {"out_trade_no": "T1"}).json()
    assert query["status"] == status


def test_user_paying_is_paid_after_the_password_delay(http: requests.Session) -> None:
    with GatewaySimulator(password_delay_s=SHORT_PASSWORD_DELAY_S) as sim:
        _play_password_payment(sim, http)


def _play_password_payment(sim: GatewaySimulator, http: requests.Session) -> None:
    assert post(http, sim, "/v1/pay", pay_body("T1", wechat("9001"))).json()["status"] == "user_paying"
    deadline = time.monotonic() + 5.0
    seen = []
    for _ in range(200):
        status = post(http, sim, "/v1/query", {"out_trade_no": "T1"}).json()["status"]
        seen.append(status)
        if status != "user_paying" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert seen[-1] == "paid"
    assert set(seen[:-1]) <= {"user_paying"}
    assert len(charges_of(ledger(http, sim), "T1")) == 1


def test_repeated_pay_returns_the_recorded_result_and_charges_once(
    sim: GatewaySimulator, http: requests.Session
) -> None:
    first = post(http, sim, "/v1/pay", pay_body("T1", wechat("1234"))).json()
    for _ in range(3):
        assert post(http, sim, "/v1/pay", pay_body("T1", wechat("1234"))).json() == first
    data = ledger(http, sim)
    assert len(charges_of(data, "T1")) == 1
    assert data["charged_fen"] == 880 and data["net_fen"] == 880


def test_concurrent_repeats_charge_once(sim: GatewaySimulator) -> None:
    barrier = threading.Barrier(6)
    answers: list[dict[str, Any]] = []

    def client() -> None:
        with requests.Session() as session:
            barrier.wait(timeout=5)
            answers.append(post(session, sim, "/v1/pay", pay_body("T1", wechat("1234"))).json())

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(answers) == 6
    assert {a["transaction_id"] for a in answers} == {answers[0]["transaction_id"]}
    with requests.Session() as session:
        assert len(charges_of(ledger(session, sim), "T1")) == 1


def test_code_already_paid_with_is_refused(sim: GatewaySimulator, http: requests.Session) -> None:
    post(http, sim, "/v1/pay", pay_body("T1", wechat("1234")))
    second = post(http, sim, "/v1/pay", pay_body("T2", wechat("1234"))).json()
    assert (second["status"], second["reason"]) == ("failed", "AUTH_CODE_USED")
    assert charges_of(ledger(http, sim), "T2") == []


def test_reusing_out_trade_no_for_another_charge_is_409(
    sim: GatewaySimulator, http: requests.Session
) -> None:
    post(http, sim, "/v1/pay", pay_body("T1", wechat("1234")))
    response = post(http, sim, "/v1/pay", pay_body("T1", wechat("1234"), amount_fen=1))
    assert response.status_code == 409
    assert response.json()["field"] == "out_trade_no"
    assert ledger(http, sim)["charged_fen"] == 880


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (pay_body("T1", wechat("1234"), amount_fen=0), "amount_fen"),
        (pay_body("T1", wechat("1234"), amount_fen=10_000_001), "amount_fen"),
        ({**pay_body("T1", wechat("1234")), "amount_fen": 8.8}, "amount_fen"),
        (pay_body("T1", wechat("1234"), channel="alipay"), "channel"),
        (pay_body("T1", "12345"), "auth_code"),
        (pay_body("bad/no", wechat("1234")), "out_trade_no"),
        ({"out_trade_no": "T1"}, "channel"),
        ([1, 2, 3], "body"),
    ],
)
def test_bad_pay_is_400_naming_the_field(
    sim: GatewaySimulator, http: requests.Session, body: object, field: str
) -> None:
    response = post(http, sim, "/v1/pay", body)
    assert response.status_code == 400
    data = response.json()
    assert data["field"] == field and data["error"]
    assert ledger(http, sim)["entries"] == []


def test_body_that_is_not_json_is_400(sim: GatewaySimulator, http: requests.Session) -> None:
    response = http.post(
        f"{sim.url}/v1/pay",
        data=b"out_trade_no=T1",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert (response.status_code, response.json()["field"]) == (400, "body")


def test_oversized_body_is_refused(sim: GatewaySimulator, http: requests.Session) -> None:
    response = http.post(
        f"{sim.url}/v1/pay",
        data=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 413


def test_query_of_an_order_never_seen(sim: GatewaySimulator, http: requests.Session) -> None:
    data = post(http, sim, "/v1/query", {"out_trade_no": "NEVER"}).json()
    assert data == {
        "status": "unknown",
        "out_trade_no": "NEVER",
        "transaction_id": "",
        "reason": "ORDER_NOT_EXIST",
    }


def test_cancel_reverses_a_paid_charge_and_the_ledger_shows_it(
    sim: GatewaySimulator, http: requests.Session
) -> None:
    paid = post(http, sim, "/v1/pay", pay_body("T1", wechat("1234"), amount_fen=1500)).json()
    post(http, sim, "/v1/pay", pay_body("T2", alipay("7777"), amount_fen=300, channel="alipay"))
    cancelled = post(http, sim, "/v1/cancel", {"out_trade_no": "T1"}).json()
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "REVERSED")
    assert post(http, sim, "/v1/cancel", {"out_trade_no": "T1"}).json() == cancelled
    data = ledger(http, sim)
    assert [(e["seq"], e["kind"], e["out_trade_no"], e["amount_fen"]) for e in data["entries"]] == [
        (1, "charge", "T1", 1500),
        (2, "charge", "T2", 300),
        (3, "reversal", "T1", 1500),
    ]
    assert data["entries"][2]["transaction_id"] == paid["transaction_id"]
    assert (data["charged_fen"], data["reversed_fen"], data["net_fen"]) == (1800, 1500, 300)
    assert wechat("1234") not in str(data)


def test_cancel_while_user_paying_means_no_charge_ever(sim: GatewaySimulator, http: requests.Session) -> None:
    post(http, sim, "/v1/pay", pay_body("T1", wechat("9001")))
    assert post(http, sim, "/v1/cancel", {"out_trade_no": "T1"}).json()["status"] == "cancelled"
    assert post(http, sim, "/v1/query", {"out_trade_no": "T1"}).json()["status"] == "cancelled"
    assert ledger(http, sim)["entries"] == []


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/pay", 405),
        ("POST", "/v1/ledger", 405),
        ("GET", "/nope", 404),
        ("POST", "/gateway.do", 404),
    ],
)
def test_wrong_method_or_path(
    sim: GatewaySimulator, http: requests.Session, method: str, path: str, status: int
) -> None:
    response = http.request(method, f"{sim.url}{path}", json={}, timeout=TIMEOUT)
    assert response.status_code == status
    assert "error" in response.json()


def test_logs_never_hold_the_full_code(
    sim: GatewaySimulator, http: requests.Session, caplog: pytest.LogCaptureFixture
) -> None:
    code = wechat("4321")
    with caplog.at_level(logging.DEBUG):
        post(http, sim, "/v1/pay", pay_body("T1", code))
        post(http, sim, "/v1/pay", pay_body("T2", code, channel="alipay"))
    assert "1334**********4321" in caplog.text
    assert code not in caplog.text


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "kiosk.local", "", "::"])  # noqa: S104 (refused)
def test_refuses_to_bind_beyond_loopback(host: str) -> None:
    assert not is_loopback_host(host)
    with pytest.raises(ValueError, match="loopback"):
        GatewaySimulator(host=host)


def test_allow_remote_lifts_the_refusal_without_binding() -> None:
    # Constructed only, never started: tests never listen beyond loopback.
    sim = GatewaySimulator(host="0.0.0.0", allow_remote=True)  # noqa: S104
    assert sim.host == "0.0.0.0"  # noqa: S104
    with pytest.raises(RuntimeError):
        _ = sim.url


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    assert is_loopback_host(host)


def test_ipv6_loopback_url_has_brackets() -> None:
    try:
        sim = GatewaySimulator(host="::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert sim.url.startswith("http://[::1]:")
        assert requests.get(f"{sim.url}/healthz", timeout=TIMEOUT).json() == {"ok": True}
    finally:
        sim.stop()


@pytest.mark.parametrize(
    "kwargs",
    [{"port": -1}, {"port": 70000}, {"latency_s": -0.5}, {"latency_s": 61.0}, {"password_delay_s": -1.0}],
)
def test_bad_options_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GatewaySimulator(**kwargs)


def test_lifecycle() -> None:
    sim = GatewaySimulator()
    with pytest.raises(RuntimeError, match="start"):
        _ = sim.url
    sim.stop()  # stopping what never started is harmless
    sim.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            sim.start()
        port = int(sim.url.rsplit(":", 1)[1])
    finally:
        sim.stop()
    sim.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_stop_is_not_held_up_by_a_request_waiting_in_latency() -> None:
    """GIVEN a request sleeping in a long simulated latency WHEN stop() THEN the server stops anyway."""
    sim = GatewaySimulator(latency_s=30.0).start()

    def slow_client() -> None:
        # Whether it gets an answer or a closed connection does not matter; that it ends does.
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{sim.url}/v1/query", json={"out_trade_no": "T1"}, timeout=20)

    client = threading.Thread(target=slow_client, daemon=True)
    client.start()
    time.sleep(0.2)
    sim.stop(timeout_s=5.0)
    client.join(timeout=10)
    assert not client.is_alive()


def test_body_shorter_than_its_length_is_400(sim: GatewaySimulator) -> None:
    port = int(sim.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            b"POST /v1/pay HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            b'{"out_trade_no"'
        )
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        for _ in range(100):
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 400")
    assert b"shorter than its Content-Length" in answer
