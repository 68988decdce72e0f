"""The HQ server over real HTTP: what every request meets before any endpoint (health, unknown paths,
body limits, the limiter on failed sign-ins). The sync endpoints themselves are tested in
test_hq_sync_events.py and test_hq_sync_catalog.py."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from sync_helpers import CATALOG, EVENTS, TIMEOUT

from hq.settings import AuthSection


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


def test_healthz(hq: LiveHq) -> None:
    reply = requests.get(f"{hq.url}/healthz", timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.json() == {"ok": True}
    assert float(reply.headers["X-HQ-Time"]) > 0


def test_the_old_endpoints_are_gone(hq: LiveHq) -> None:
    session = hq.session(hq.enrol("kiosk-001"))
    for method, path in (("POST", "/api/v1/sales"), ("POST", "/api/v1/refunds"), ("GET", "/api/v1/catalog")):
        reply = session.request(method, f"{hq.url}{path}", json=[], timeout=TIMEOUT)
        assert reply.status_code == 404, (path, reply.status_code)


def test_an_oversized_body_is_refused_before_it_is_read(hq: LiveHq) -> None:
    request = (
        f"POST {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 999999999\r\nConnection: close\r\n\r\n{"
    )
    with socket.create_connection(("127.0.0.1", hq.port), timeout=TIMEOUT) as conn:
        conn.sendall(request.encode())
        answer = b""
        while b"\r\n\r\n" not in answer and len(answer) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_unknown_paths_and_methods_answer_json(hq: LiveHq) -> None:
    missing = requests.get(f"{hq.url}/api/v1/nothing", timeout=TIMEOUT)
    assert missing.status_code == 404 and "/api/v1/nothing" in missing.json()["error"]
    wrong = requests.delete(f"{hq.url}{EVENTS}", timeout=TIMEOUT)
    assert wrong.status_code == 405 and "DELETE" in wrong.json()["error"]


# --- failed sign-ins: held back per client address, one WARNING per window ---------------------------


class FakeClock:
    """The limiter's clock, moved by the test: no test waits for a window to pass."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


LIMITS = AuthSection(max_failures=5, window_s=60)


def limiter_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "hq.keylimit" and r.levelno >= logging.WARNING
    ]


def test_a_client_failing_to_sign_in_is_held_back_with_429_and_others_are_not(
    hq_db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN 300 badly signed requests from one address WHEN the limit (5 per 60 s) is passed THEN
    that address gets 429 with Retry-After until its window ends, even with a right signature, a
    kiosk elsewhere is served, and the log has one WARNING for the window instead of 300."""
    caplog.set_level(logging.INFO)
    clock = FakeClock()
    with running_hq(hq_db_url, auth=LIMITS, clock=clock) as hq:
        good = hq.session(hq.enrol("kiosk-001"))

        def catalog(
            session: requests.Session, address: str, authorization: str | None = None
        ) -> requests.Response:
            # uvicorn believes X-Forwarded-For from 127.0.0.1 only, so only a loopback test can pose as others
            headers = {"X-Forwarded-For": address}
            if authorization is not None:
                headers["Authorization"] = authorization
            return session.get(f"{hq.url}{CATALOG}?since=0", headers=headers, timeout=TIMEOUT)

        plain = requests.Session()
        guesses = [
            catalog(plain, "192.0.2.10", f"Kiosk-HMAC-SHA256 guess-{n:04d}").status_code for n in range(300)
        ]
        assert guesses == [401] * 5 + [429] * 295
        held = catalog(good, "192.0.2.10")
        assert held.status_code == 429 and held.headers["Retry-After"] == "60"
        assert "Retry-After" in held.json()["error"] and "秒" in held.json()["error_zh"]
        assert catalog(good, "198.51.100.20").status_code == 200
        assert catalog(plain, "198.51.100.20", "Kiosk-HMAC-SHA256 another").status_code == 401
        assert limiter_warnings(caplog) == []  # one line per window, written when the window closes

        clock.now += 45
        assert catalog(good, "192.0.2.10").headers["Retry-After"] == "15"
        clock.now += 15
        assert catalog(good, "192.0.2.10").status_code == 200
        window = [m for m in limiter_warnings(caplog) if "192.0.2.10" in m]
        assert len(window) == 1 and window[0].startswith(
            "refused 302 request(s) from 192.0.2.10 in a 60 s window"
        )
        assert "297 held back with 429" in window[0]
