"""HttpHqClient (protocol v1) against the real HQ on 127.0.0.1, and against a misbehaving HTTP server
at the network edge (answers the test scripts, in order)."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hq_fixtures import LiveHq, closed_port, make_sale, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from hq.catalog import seed_demo
from hq.db import connected
from kiosk.ports import HqError, OutEvent
from kiosk.sync.credentials import load_credentials
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.signed import HqSigner
from kiosk_common.signing import parse_authorization

KIOSK = "kiosk-001"
SECRET = bytes(range(32))


def _event(kind: str, body: dict[str, Any]) -> OutEvent:
    return OutEvent(str(uuid.uuid4()), kind, "2026-12-02T08:00:00Z", body)


# --- the real HQ ------------------------------------------------------------------------------------


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as live:
        with connected():
            seed_demo()
        yield live


@pytest.fixture
def client(hq: LiveHq) -> Iterator[HttpHqClient]:
    c = HttpHqClient(hq.url, hq.enrol(KIOSK), timeout_s=10)
    yield c
    c.close()


def test_events_are_stored_once_and_a_resend_is_a_duplicate(client: HttpHqClient) -> None:
    events = [_event("sale", make_sale(KIOSK)) for _ in range(3)]
    first = client.push_events(events)
    assert [(r.key, r.status) for r in first] == [(e.key, "stored") for e in events]
    again = client.push_events(events)
    assert [(r.key, r.status) for r in again] == [(e.key, "duplicate") for e in events]


def test_a_bad_event_is_rejected_with_problems_and_the_others_stored(client: HttpHqClient) -> None:
    good = _event("sale", make_sale(KIOSK))
    bad = _event("sale", make_sale(KIOSK, total_fen=-5))
    other = _event("sale", make_sale("kiosk-999"))  # names another kiosk
    results = {r.key: r for r in client.push_events([good, bad, other])}
    assert results[good.key].status == "stored"
    assert results[bad.key].status == "rejected" and results[bad.key].problems
    assert results[other.key].status == "rejected"


def test_the_catalog_comes_as_a_snapshot_then_nothing_until_it_changes(client: HttpHqClient) -> None:
    update = client.fetch_catalog(0)
    assert update is not None and update.kind == "snapshot" and update.version > 0
    assert len(update.products) >= 2 and all(p.price_fen >= 0 for p in update.products)
    assert client.fetch_catalog(update.version) is None  # 304


def test_a_kiosk_clock_hours_off_still_syncs(hq: LiveHq, tmp_path: Path) -> None:
    """GIVEN a kiosk whose clock is two hours slow (HQ refuses a ts more than 300 s off), WHEN it
    sends, THEN HQ's first refusal ("clock") carries HQ's time, the client re-measures and the one
    retry is accepted; the offset it learnt is about two hours."""
    secret = load_credentials(enrol_kiosk(hq, tmp_path, KIOSK)).secret
    signer = HqSigner(KIOSK, secret, wall_clock=lambda: time.time() - 7200)
    c = HttpHqClient(hq.url, signer, timeout_s=10, wall_clock=lambda: time.time() - 7200)
    try:
        results = c.push_events([_event("sale", make_sale(KIOSK))])
        assert [r.status for r in results] == ["stored"]
        assert 7190 < c.clock_offset_s < 7210
    finally:
        c.close()


def test_a_kiosk_hq_does_not_know_is_told_to_enrol(hq: LiveHq) -> None:
    c = HttpHqClient(hq.url, HqSigner("kiosk-unknown", SECRET), timeout_s=10)
    with pytest.raises(HqError) as caught:
        c.push_events([_event("sale", make_sale("kiosk-unknown"))])
    text = str(caught.value)
    assert "kiosk enroll" in text and SECRET.hex() not in text and not caught.value.unreachable
    c.close()


def test_hq_down_is_an_unreachable_hq_error_naming_the_address() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = HttpHqClient(url, HqSigner(KIOSK, SECRET), timeout_s=2)
    with pytest.raises(HqError) as caught:
        client.push_events([_event("sale", make_sale(KIOSK))])
    assert str(caught.value) == f"cannot reach HQ at {url}: Connection refused"
    assert caught.value.unreachable
    client.close()


def test_hq_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = HttpHqClient(url, HqSigner(KIOSK, SECRET), timeout_s=0.3)
        with pytest.raises(HqError, match=r"did not answer within 0\.3 s") as caught:
            client.fetch_catalog(0)
        assert caught.value.unreachable
        client.close()


def test_a_url_that_is_no_url_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="http://"):
        HttpHqClient("hq.local:8080", HqSigner(KIOSK, SECRET), timeout_s=1)


# --- an HTTP server that answers what we tell it (the network edge, misbehaving) ----------------------

Reply = tuple[int, dict[str, str], bytes]


class _Canned(BaseHTTPRequestHandler):
    replies: ClassVar[dict[str, list[Reply]]] = {}
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.seen.append((self.command, self.path, dict(self.headers.items()), body))
        queue = self.replies.get(self.path.split("?")[0], [])
        status, headers, reply = queue.pop(0) if len(queue) > 1 else (queue[0] if queue else (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Edge:
    url: str
    replies: dict[str, list[Reply]]
    seen: list[tuple[str, str, dict[str, str], bytes]]


@pytest.fixture
def edge() -> Iterator[Edge]:
    replies: dict[str, list[Reply]] = {}
    seen: list[tuple[str, str, dict[str, str], bytes]] = []
    handler = type("Handler", (_Canned,), {"replies": replies, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Edge(f"http://127.0.0.1:{server.server_address[1]}", replies, seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


JSON = {"Content-Type": "application/json"}


def _json(status: int, body: Any, **headers: str) -> Reply:
    return status, {**JSON, **headers}, json.dumps(body).encode()


def test_every_request_is_signed_and_names_the_protocol(edge: Edge) -> None:
    edge.replies["/api/v1/sync/events"] = [_json(200, {"results": [], "hq_time": "x"})]
    edge.replies["/api/v1/sync/catalog"] = [(304, {"ETag": '"4"'}, b"")]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    client.push_events([_event("audit", {"at": "x", "actor": "a", "action": "b", "detail": ""})])
    assert client.fetch_catalog(4) is None
    for method, path, headers, _body in edge.seen:
        header = parse_authorization(headers.get("Authorization"))
        assert header is not None and header.kiosk_id == KIOSK, (method, path)
        assert headers.get("X-Sync-Protocol") == "1"
    assert [(m, p) for m, p, _, _ in edge.seen] == [
        ("POST", "/api/v1/sync/events"),
        ("GET", "/api/v1/sync/catalog?since=4"),
    ]
    sent = json.loads(edge.seen[0][3])
    assert sent["events"][0]["kind"] == "audit" and set(sent["events"][0]) == {"key", "kind", "at", "body"}
    client.close()


def test_a_clock_refusal_is_retried_once_with_hq_time(edge: Edge) -> None:
    hq_time = time.time() + 3600
    refusal = _json(401, {"error": "clock", "detail": {"reason": "clock"}}, **{"X-HQ-Time": f"{hq_time:.3f}"})
    edge.replies["/api/v1/sync/catalog"] = [refusal, refusal, refusal]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    with pytest.raises(HqError, match="reason: clock"):
        client.fetch_catalog(0)
    assert len(edge.seen) == 2  # the first try and ONE retry
    first = parse_authorization(edge.seen[0][2]["Authorization"])
    second = parse_authorization(edge.seen[1][2]["Authorization"])
    assert first is not None and second is not None
    assert 3590 < second.timestamp - first.timestamp < 3610  # the retry signed with HQ's time
    client.close()


def product(**changes: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "sku": "D001",
        "name_zh": "矿泉水",
        "name_en": "Water",
        "price_fen": 200,
        "barcode": "6901234560015",
        "category": "drinks",
        "image_url": None,
        "active": True,
    }
    p.update(changes)
    return p


def catalog(*products: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "snapshot",
        "since": 0,
        "version": 3,
        "categories": [],
        "products": list(products),
        "settings": {},
    }
    body.update(changes)
    return body


BAD_CATALOGS: list[tuple[str, Reply, str]] = [
    ("html", (200, {"Content-Type": "text/html"}, b"<html>login</html>"), "text/html, not JSON"),
    ("no kind", _json(200, {"products": []}), "kind"),
    ("price as text", _json(200, catalog(product(price_fen="2.00"))), "products.0.price_fen"),
    ("negative price", _json(200, catalog(product(price_fen=-1))), "products.0.price_fen"),
    ("empty name", _json(200, catalog(product(name_en=""))), "products.0.name_en"),
    ("bad barcode", _json(200, catalog(product(barcode="6901234560016"))), "not a valid EAN"),
    ("same sku twice", _json(200, catalog(product(), product(barcode=None))), "appears twice"),
    ("shared barcode", _json(200, catalog(product(), product(sku="D002"))), "shares barcode"),
    ("delta from elsewhere", _json(200, catalog(kind="delta", since=7, version=9)), "delta from version 7"),
    ("bad setting name", _json(200, catalog(settings={"a b": 1})), "setting named"),
    ("server error", _json(503, {"error": "database busy"}), "503 (database busy); will retry"),
    ("redirect", (302, {"Location": "http://elsewhere/"}, b""), "redirect (302) to http://elsewhere/"),
    (
        "old protocol",
        _json(400, {"error": "v", "detail": {"supported": [2]}}),
        "does not speak sync protocol 1",
    ),
]


@pytest.mark.parametrize(
    ("reply", "expected"), [(r, e) for _, r, e in BAD_CATALOGS], ids=[n for n, _, _ in BAD_CATALOGS]
)
def test_a_catalog_reply_we_cannot_use_is_an_hq_error(edge: Edge, reply: Reply, expected: str) -> None:
    edge.replies["/api/v1/sync/catalog"] = [reply]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    with pytest.raises(HqError) as caught:
        client.fetch_catalog(0)
    assert expected in str(caught.value)
    client.close()


def test_unknown_fields_of_a_later_protocol_are_ignored(edge: Edge) -> None:
    edge.replies["/api/v1/sync/catalog"] = [_json(200, catalog(product(colour="red"), extra={"x": 1}))]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    update = client.fetch_catalog(0)
    assert update is not None and [p.sku for p in update.products] == ["D001"]
    client.close()


@pytest.mark.parametrize(
    ("reply", "expected", "retry_after"),
    [
        (_json(200, {"results": "all"}), "cannot use", None),
        (_json(200, [1, 2]), "cannot use", None),
        ((500, {"Content-Type": "text/plain"}, b"oops"), "500", None),
        (_json(429, {"error": "slow down"}, **{"Retry-After": "30"}), "wait 30 s", 30.0),
        (_json(503, {"error": "busy"}, **{"Retry-After": "NaN"}), "503", None),
    ],
    ids=["results not a list", "not an object", "500 text", "429", "503 bad retry-after"],
)
def test_an_events_reply_we_cannot_use_is_an_hq_error(
    edge: Edge, reply: Reply, expected: str, retry_after: float | None
) -> None:
    edge.replies["/api/v1/sync/events"] = [reply]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    with pytest.raises(HqError, match=expected) as caught:
        client.push_events([_event("sale", make_sale(KIOSK))])
    assert caught.value.retry_after_s == retry_after and not caught.value.unreachable
    client.close()


def test_results_for_keys_not_sent_are_ignored(edge: Edge) -> None:
    sent = _event("sale", make_sale(KIOSK))
    edge.replies["/api/v1/sync/events"] = [
        _json(
            200,
            {
                "results": [
                    {"key": "someone-else", "status": "stored", "problems": []},
                    {
                        "key": sent.key,
                        "status": "rejected",
                        "problems": [{"field": "total_fen", "problem": "< 0"}],
                    },
                ]
            },
        )
    ]
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET), timeout_s=5)
    results = client.push_events([sent])
    assert [(r.key, r.status, r.problems) for r in results] == [(sent.key, "rejected", ("total_fen: < 0",))]
    client.close()
