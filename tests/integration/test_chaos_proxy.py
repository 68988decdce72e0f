"""The fault-injecting proxy does what it claims, against a real HTTP server on 127.0.0.1.

The server counts the requests it handled before it answers, so after the client has seen a
failure the test knows whether the server acted: for ``reset_after_forward`` and the half replies it
must have, although the client heard nothing useful. No sleeps: the tests wait on the proxy's
counters, on events the server and an injected ``wait`` set, and on bounded joins.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from tests.fakes.chaos_proxy import (
    ANSWERED,
    FORWARDED,
    PASS_THROUGH,
    ChaosProxy,
    Fault,
    FaultPlan,
    fault_sequence,
)

TIMEOUT_S = 10.0
BIG_BODY = b"0123456789" * 400  # 4000 bytes: half of the reply falls inside the body
SMALL_BODY = b"ok"  # half of the reply falls inside the head


@dataclass
class Upstream:
    """What the test server saw, and a gate that holds ``/hold`` requests until the test opens it."""

    handled: int = 0
    bodies: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def count(self) -> int:
        with self.lock:
            return self.handled


def make_handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, Content-Length framed replies

        # a fixed head, so the middle of a small reply falls at a known place (inside Date)
        def version_string(self) -> str:
            return "test"

        def date_time_string(self, timestamp: float | None = None) -> str:
            return "Thu, 01 Jan 2026 00:00:00 GMT"

        def _answer(self, body: bytes) -> None:
            with upstream.lock:
                upstream.handled += 1  # acted on before answering, as HQ stores a sale before its 200
                upstream.bodies.append(body)
            if self.path == "/hold":
                upstream.holding.set()
                upstream.release.wait(TIMEOUT_S)
            reply = BIG_BODY if self.path == "/big" else SMALL_BODY if self.path != "/echo" else body
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            self._answer(b"")

        def do_POST(self) -> None:
            self._answer(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="test-upstream", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT_S)


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


class GateWait:
    """An injected ``wait``: records each delay, says it is holding, and holds until released."""

    def __init__(self, *, hold: bool) -> None:
        self.calls: list[float] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.holding.set()
        assert self.release.wait(TIMEOUT_S), "the test never released the held message"


def proxy_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("chaos-proxy")]


def post(session: requests.Session, proxy: ChaosProxy, path: str = "/echo", body: bytes = b"sale") -> bytes:
    reply = session.post(proxy.url + path, data=body, timeout=TIMEOUT_S)
    reply.raise_for_status()
    return reply.content


def post_once(proxy: ChaosProxy, path: str = "/echo") -> bytes:
    """One request on a connection of its own (for a client thread)."""
    with requests.Session() as session:
        return post(session, proxy, path)


def test_pass_through_keeps_one_connection_alive_for_many_requests(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port) as proxy:
        for i in range(150):
            assert post(session, proxy, body=f"sale-{i}".encode()) == f"sale-{i}".encode()
            assert session.get(proxy.url + "/big", timeout=TIMEOUT_S).content == BIG_BODY
        assert proxy.stats.connections == 1, "requests.Session should have kept its one connection"
        assert proxy.stats.count(Fault.PASS) == 300
        assert upstream.count() == 300
        assert upstream.bodies[:3] == [b"sale-0", b"", b"sale-1"]


def test_chunked_request_bodies_pass_through(upstream: Upstream, session: requests.Session) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"sa"
        yield b"le"

    with ChaosProxy("127.0.0.1", upstream.port) as proxy:
        # the test server does not decode chunked bodies; that the proxy framed it is what counts:
        # the next request on the same connection still works
        session.post(proxy.url + "/small", data=chunks(), timeout=TIMEOUT_S).raise_for_status()
        assert post(session, proxy) == b"sale"
        assert proxy.stats.connections == 1


def test_drop_closes_without_forwarding(upstream: Upstream, session: requests.Session) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.DROP)) as proxy:
        with pytest.raises(requests.ConnectionError):
            post(session, proxy)
        assert proxy.stats.count(Fault.DROP) == 1
        proxy.set_plan(PASS_THROUGH)
        assert post(session, proxy, body=b"second") == b"second"
        assert upstream.bodies == [b"second"], "the dropped request must never have reached the server"


def test_reset_before_forward_is_a_connection_reset_the_server_never_saw(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.RESET_BEFORE_FORWARD)) as proxy:
        with pytest.raises(requests.ConnectionError) as caught:
            post(session, proxy)
        assert "reset" in repr(caught.value).lower()
        assert proxy.stats.count(Fault.RESET_BEFORE_FORWARD) == 1
        proxy.set_plan(PASS_THROUGH)
        post(session, proxy, body=b"second")
        assert upstream.bodies == [b"second"]


def test_reset_after_forward_the_server_acted_but_the_client_saw_a_reset(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.RESET_AFTER_FORWARD)) as proxy:
        with pytest.raises(requests.ConnectionError) as caught:
            post(session, proxy, body=b"sale-1")
        assert "reset" in repr(caught.value).lower()
        assert upstream.bodies == [b"sale-1"], "the server must have handled the request"
        assert proxy.stats.count(Fault.RESET_AFTER_FORWARD) == 1


def test_half_reply_cut_in_the_body_is_a_broken_body_after_the_server_acted(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.HALF_REPLY_CLOSE)) as proxy:
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            session.get(proxy.url + "/big", timeout=TIMEOUT_S)
        assert upstream.count() == 1
        assert proxy.stats.count(Fault.HALF_REPLY_CLOSE) == 1


def test_half_reply_cut_among_the_headers_looks_whole_to_requests(
    upstream: Upstream, session: requests.Session
) -> None:
    """GIVEN a reply whose first half ends inside the Date header
    THEN requests raises nothing: http.client stops reading headers at the end of the connection,
    so the client gets the 200 without its Content-Length and an empty body read to the close.
    The sync code must check that it got a whole acknowledgement, not only the status."""
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.HALF_REPLY_CLOSE)) as proxy:
        reply = session.get(proxy.url + "/small", timeout=TIMEOUT_S)
        assert reply.status_code == 200
        assert "Content-Length" not in reply.headers
        assert reply.content == b"" != SMALL_BODY
        assert upstream.count() == 1
        assert proxy.stats.count(Fault.HALF_REPLY_CLOSE) == 1


def test_half_reply_is_an_incomplete_read_for_http_client(upstream: Upstream) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.HALF_REPLY_CLOSE)) as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=TIMEOUT_S)
        try:
            conn.request("GET", "/big")
            reply = conn.getresponse()
            assert reply.status == 200  # the head came whole: only the body is short
            with pytest.raises(http.client.IncompleteRead) as caught:
                reply.read()
            assert 0 < len(caught.value.partial) < len(BIG_BODY)
        finally:
            conn.close()
        assert upstream.count() == 1


def test_half_reply_reset_fails_the_client_after_the_server_acted(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port, FaultPlan.every(Fault.HALF_REPLY_RESET)) as proxy:
        for path in ("/big", "/small"):
            with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
                session.get(proxy.url + path, timeout=TIMEOUT_S)
        assert upstream.count() == 2
        assert proxy.stats.count(Fault.HALF_REPLY_RESET) == 2


def test_delay_request_holds_the_request_before_the_server_sees_it(upstream: Upstream) -> None:
    gate = GateWait(hold=True)
    plan = FaultPlan.every(Fault.DELAY_REQUEST, delay_s=0.25)
    with ChaosProxy("127.0.0.1", upstream.port, plan, wait=gate) as proxy:
        results: list[bytes] = []
        client = threading.Thread(target=lambda: results.append(post_once(proxy)))
        client.start()
        assert gate.holding.wait(TIMEOUT_S)
        assert upstream.count() == 0, "a held request must not have reached the server yet"
        gate.release.set()
        client.join(TIMEOUT_S)
        assert results == [b"sale"]
        assert upstream.count() == 1
        assert gate.calls == [0.25]
        assert proxy.stats.count(Fault.DELAY_REQUEST) == 1


def test_delay_reply_holds_the_answer_after_the_server_acted(upstream: Upstream) -> None:
    gate = GateWait(hold=True)
    plan = FaultPlan.every(Fault.DELAY_REPLY, delay_s=0.5)
    with ChaosProxy("127.0.0.1", upstream.port, plan, wait=gate) as proxy:
        results: list[bytes] = []
        client = threading.Thread(target=lambda: results.append(post_once(proxy)))
        client.start()
        assert gate.holding.wait(TIMEOUT_S)
        assert upstream.count() == 1, "the server answers before the proxy holds its reply"
        assert results == [], "the client must not have the reply while it is held"
        gate.release.set()
        client.join(TIMEOUT_S)
        assert results == [b"sale"]
        assert gate.calls == [0.5]


def test_default_wait_is_real_time(upstream: Upstream, session: requests.Session) -> None:
    plan = FaultPlan.every(Fault.DELAY_REPLY, delay_s=0.01)
    with ChaosProxy("127.0.0.1", upstream.port, plan) as proxy:
        assert post(session, proxy) == b"sale"
        assert proxy.stats.count(Fault.DELAY_REPLY) == 1


def test_a_per_connection_plan_decides_once_per_connection(
    upstream: Upstream, session: requests.Session
) -> None:
    gate = GateWait(hold=False)
    plan = FaultPlan.every(Fault.DELAY_REQUEST, delay_s=0.1, per_connection=True)
    with ChaosProxy("127.0.0.1", upstream.port, plan, wait=gate) as proxy:
        for _ in range(5):
            post(session, proxy)
        assert proxy.stats.decided() == [Fault.DELAY_REQUEST]
        assert gate.calls == [0.1] * 5, "the connection's fault applies to each of its requests"


MIXED = FaultPlan(
    {
        Fault.DROP: 0.1,
        Fault.DELAY_REQUEST: 0.1,
        Fault.DELAY_REPLY: 0.1,
        Fault.RESET_BEFORE_FORWARD: 0.1,
        Fault.RESET_AFTER_FORWARD: 0.1,
        Fault.HALF_REPLY_CLOSE: 0.1,
        Fault.HALF_REPLY_RESET: 0.1,
    },
    delay_s=0.2,
)


def run_sequentially(upstream: Upstream, seed: int, n: int) -> tuple[list[Fault], list[bool]]:
    """The proxy's decisions, and whether each of ``n`` requests got its answer."""
    outcomes: list[bool] = []
    with (
        ChaosProxy("127.0.0.1", upstream.port, MIXED, seed, wait=GateWait(hold=False)) as proxy,
        requests.Session() as session,
    ):
        for i in range(n):
            try:
                outcomes.append(post(session, proxy, body=f"sale-{i}".encode()) == f"sale-{i}".encode())
            except requests.RequestException:
                outcomes.append(False)
        return proxy.stats.decided(), outcomes


def test_the_same_seed_gives_the_same_faults_in_the_same_order(upstream: Upstream) -> None:
    n = 60
    first, outcomes = run_sequentially(upstream, seed=7, n=n)
    second, _ = run_sequentially(upstream, seed=7, n=n)
    assert first == second == fault_sequence(MIXED, 7, n)
    assert len(set(first)) == len(Fault), f"60 draws should have shown every kind: {Counter(first)}"
    assert outcomes == [f in ANSWERED for f in first], "a request is answered exactly when it was not broken"
    assert fault_sequence(MIXED, 8, n) != first


def test_counts_over_a_concurrent_run_match_the_seeded_plan(upstream: Upstream) -> None:
    """GIVEN four clients sending 100 requests each through one proxy
    THEN the faults that happened are exactly those of the first 400 draws of the seed, the server
    handled every request the proxy forwarded, and the clients saw a failure for every broken one."""
    plan = FaultPlan(
        {Fault.RESET_AFTER_FORWARD: 0.15, Fault.HALF_REPLY_CLOSE: 0.1, Fault.HALF_REPLY_RESET: 0.1}
    )
    seen_by_clients = Counter[str]()  # how each broken exchange looked to its client
    lock = threading.Lock()

    with ChaosProxy("127.0.0.1", upstream.port, plan, seed=2024) as proxy:

        def client(k: int) -> None:
            with requests.Session() as session:
                for i in range(100):
                    path, sent = ("/big", BIG_BODY) if i % 2 else ("/echo", f"{k}-{i}".encode())
                    try:
                        seen = "answered" if post(session, proxy, path, sent) == sent else "wrong body"
                    except requests.RequestException as exc:
                        seen = type(exc).__name__
                    with lock:
                        seen_by_clients[seen] += 1

        clients = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in clients:
            t.start()
        for t in clients:
            t.join(60)
        assert not any(t.is_alive() for t in clients)

        expected = Counter(fault_sequence(plan, 2024, 400))
        happened = {f: proxy.stats.count(f) for f in Fault}
        assert happened == {f: expected[f] for f in Fault}, proxy.stats.snapshot()
        assert expected[Fault.RESET_AFTER_FORWARD] >= 40 and expected[Fault.HALF_REPLY_CLOSE] >= 25
        assert upstream.count() == proxy.stats.forwarded() == 400
        assert seen_by_clients["answered"] == expected[Fault.PASS], seen_by_clients
        allowed = {"answered", "wrong body", "ConnectionError", "ChunkedEncodingError"}
        assert set(seen_by_clients) <= allowed, seen_by_clients


def test_a_plan_changed_at_run_time_keeps_the_seeded_numbers(upstream: Upstream) -> None:
    drop_all = FaultPlan.every(Fault.DROP)
    with (
        ChaosProxy("127.0.0.1", upstream.port, PASS_THROUGH, seed=3) as proxy,
        requests.Session() as session,
    ):
        post(session, proxy)
        proxy.set_plan(drop_all)
        assert proxy.plan is drop_all
        with pytest.raises(requests.ConnectionError):
            post(session, proxy)
        proxy.set_plan(MIXED)
        for _ in range(10):
            with contextlib.suppress(requests.RequestException):
                post(session, proxy)
        assert proxy.stats.decided() == [Fault.PASS, Fault.DROP, *fault_sequence(MIXED, 3, 12)[2:]]


def test_down_refuses_new_connections_and_up_brings_them_back(
    upstream: Upstream, session: requests.Session
) -> None:
    with ChaosProxy("127.0.0.1", upstream.port) as proxy:
        post(session, proxy, body=b"before")
        proxy.down()
        assert proxy.is_down
        assert proxy.stats.cut_by_down == 1, "the session's idle keep-alive connection is cut"
        for _ in range(3):
            with pytest.raises(requests.ConnectionError):
                post(session, proxy, body=b"while-down")
        assert proxy.stats.refused_while_down >= 3
        proxy.up()
        assert post(session, proxy, body=b"after") == b"after"
        assert upstream.bodies == [b"before", b"after"]


def test_down_cuts_a_request_in_flight(upstream: Upstream) -> None:
    with ChaosProxy("127.0.0.1", upstream.port) as proxy:
        errors: list[Exception] = []

        def client() -> None:
            try:
                post_once(proxy, "/hold")
            except requests.RequestException as exc:
                errors.append(exc)

        thread = threading.Thread(target=client)
        thread.start()
        assert upstream.holding.wait(TIMEOUT_S)
        proxy.down()  # returns once the connection has ended
        thread.join(TIMEOUT_S)
        assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)
        assert proxy.stats.upstream_failures == 0, "a cut connection is not an upstream failure"


def test_stop_closes_everything_and_leaves_no_thread(upstream: Upstream) -> None:
    proxy = ChaosProxy("127.0.0.1", upstream.port).start()
    port = proxy.port
    idle = requests.Session()
    post(idle, proxy)  # an idle keep-alive connection stays open in the proxy
    errors: list[Exception] = []

    def client() -> None:
        try:
            post_once(proxy, "/hold")
        except requests.RequestException as exc:
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    assert upstream.holding.wait(TIMEOUT_S)  # a request is in flight, its upstream read blocked
    assert len(proxy_threads()) == 3
    proxy.stop(timeout=5.0)
    assert proxy_threads() == []
    thread.join(TIMEOUT_S)
    assert len(errors) == 1
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    proxy.stop()  # a second stop is harmless
    idle.close()


def test_upstream_gone_resets_the_client(session: requests.Session) -> None:
    with socket.socket() as placeholder:
        placeholder.bind(("127.0.0.1", 0))
        dead_port = placeholder.getsockname()[1]  # bound, never listening: connections are refused
        with ChaosProxy("127.0.0.1", dead_port) as proxy:
            with pytest.raises(requests.ConnectionError):
                post(session, proxy)
            assert proxy.stats.upstream_failures == 1
            assert proxy.stats.forwarded() == 0


@pytest.mark.parametrize(
    ("odds", "message"),
    [
        ({Fault.DROP: 1.5}, "from 0 to 1"),
        ({Fault.DROP: -0.1}, "from 0 to 1"),
        ({Fault.DROP: 0.6, Fault.RESET_AFTER_FORWARD: 0.6}, "more than 1"),
        ({Fault.PASS: 0.5}, "other than PASS"),
    ],
)
def test_a_bad_plan_is_refused_with_what_was_wrong(odds: dict[Fault, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FaultPlan(odds)


def test_forwarded_and_answered_name_the_right_faults() -> None:
    assert ANSWERED < FORWARDED
    assert Fault.DROP not in FORWARDED and Fault.RESET_BEFORE_FORWARD not in FORWARDED
    assert FaultPlan.every(Fault.PASS) == PASS_THROUGH
