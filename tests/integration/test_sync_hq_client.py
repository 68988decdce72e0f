"""HttpHqClient against the real HQ on 127.0.0.1, and against a misbehaving HTTP server at the network edge."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hq_fixtures import LiveHq, closed_port, make_sale, running_hq, sqlite_url

from hq.catalog import demo_products, seed_demo
from hq.db import connected
from kiosk.ports import CatalogItem, HqError
from kiosk.sync.hq_client import HttpHqClient

KIOSK = "kiosk-001"


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as live:
        yield live


@pytest.fixture
def client(hq: LiveHq) -> Iterator[HttpHqClient]:
    c = HttpHqClient(hq.url, hq.add_device(KIOSK), KIOSK, timeout_s=10)
    yield c
    c.close()


def test_push_sales_returns_what_hq_holds_and_a_retry_returns_it_again(client: HttpHqClient) -> None:
    sales = [make_sale(KIOSK) for _ in range(4)]
    assert client.push_sales(sales) == [s["order_id"] for s in sales]
    assert client.push_sales(sales) == [s["order_id"] for s in sales]
    assert client.push_sales([]) == []


def test_more_than_one_request_worth_is_split(client: HttpHqClient) -> None:
    sales = [make_sale(KIOSK) for _ in range(1205)]
    assert sorted(client.push_sales(sales)) == sorted(s["order_id"] for s in sales)


def test_bad_and_conflicting_records_do_not_hold_the_others_back(
    client: HttpHqClient, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN a batch with one invalid sale and one that conflicts with a stored sale
    WHEN it is pushed THEN the good ones are confirmed, the two are not, and the log says why."""
    stored = make_sale(KIOSK)
    assert client.push_sales([stored]) == [stored["order_id"]]
    invalid = make_sale(KIOSK, total_fen=1)
    conflicting = dict(stored, transaction_id="4200000000-other")
    good = [make_sale(KIOSK) for _ in range(3)]
    confirmed = client.push_sales([good[0], invalid, good[1], conflicting, good[2]])
    assert confirmed == [s["order_id"] for s in good]
    log = caplog.text
    assert invalid["order_id"] in log and "total_fen 1 is not the sum" in log
    assert stored["order_id"] in log and "different sale" in log


def test_a_sale_of_another_kiosk_is_not_sent(client: HttpHqClient, caplog: pytest.LogCaptureFixture) -> None:
    mine, theirs = make_sale(KIOSK), make_sale("kiosk-999")
    assert client.push_sales([mine, theirs]) == [mine["order_id"]]
    assert "kiosk-999" in caplog.text


def test_fetch_catalog_returns_validated_items(hq: LiveHq, client: HttpHqClient) -> None:
    assert client.fetch_catalog() == []
    with connected():
        seed_demo()
    items = client.fetch_catalog()
    expected = sorted(
        (
            CatalogItem(p.sku, p.name_zh, p.name_en, p.price_fen, p.barcode, p.category, True)
            for p in demo_products()
        ),
        key=lambda item: item.sku,
    )
    assert items == expected


def test_a_refused_key_is_an_hq_error_that_never_shows_the_key(hq: LiveHq) -> None:
    secret = "Zq3-very-secret-key-that-hq-does-not-know-0123456789"
    client = HttpHqClient(hq.url + "/", secret, KIOSK, timeout_s=10)
    for call in (client.fetch_catalog, lambda: client.push_sales([make_sale(KIOSK)])):
        with pytest.raises(HqError) as caught:
            call()
        message = str(caught.value)
        assert secret not in message
        assert "Zq3-" in message and "6789" in message  # masked: enough for staff to tell keys apart
        assert f"hq device add {KIOSK}" in message
    client.close()


def test_hq_down_is_an_hq_error_naming_the_address() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    client = HttpHqClient(url, "k" * 43, KIOSK, timeout_s=2)
    with pytest.raises(HqError) as caught:
        client.push_sales([make_sale(KIOSK)])
    assert str(caught.value) == f"cannot reach HQ at {url}: Connection refused"
    client.close()


def test_hq_that_never_answers_is_a_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        client = HttpHqClient(url, "k" * 43, KIOSK, timeout_s=0.3)
        with pytest.raises(HqError, match=r"did not answer within 0\.3 s"):
            client.fetch_catalog()
        client.close()


def test_a_url_that_is_no_url_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="http://"):
        HttpHqClient("hq.local:8080", "k", KIOSK, timeout_s=1)


# --- an HTTP server that answers what we tell it (the network edge, misbehaving) ----------------------


class _Canned(BaseHTTPRequestHandler):
    replies: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, headers, body = self.replies.get(self.path, (404, {}, b""))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[tuple[str, dict[str, tuple[int, dict[str, str], bytes]]]]:
    replies: dict[str, tuple[int, dict[str, str], bytes]] = {}
    handler = type("Handler", (_Canned,), {"replies": replies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", replies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def product(**changes: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "sku": "D001",
        "name_zh": "矿泉水",
        "name_en": "Water",
        "price_fen": 200,
        "barcode": "6901234560015",
        "category": "drinks",
        "active": True,
    }
    p.update(changes)
    return p


JSON = {"Content-Type": "application/json"}

BAD_CATALOGS: list[tuple[str, tuple[int, dict[str, str], bytes], str]] = [
    ("html", (200, {"Content-Type": "text/html"}, b"<html>login</html>"), "text/html, not JSON"),
    ("no products key", (200, JSON, b"{}"), "products: Field required"),
    (
        "price as text",
        (200, JSON, json.dumps({"products": [product(price_fen="2.00")]}).encode()),
        "products.0.price_fen",
    ),
    (
        "negative price",
        (200, JSON, json.dumps({"products": [product(price_fen=-1)]}).encode()),
        "products.0.price_fen",
    ),
    (
        "empty name",
        (200, JSON, json.dumps({"products": [product(name_en="")]}).encode()),
        "products.0.name_en",
    ),
    (
        "bad barcode",
        (200, JSON, json.dumps({"products": [product(barcode="6901234560016")]}).encode()),
        "not a valid EAN",
    ),
    (
        "same sku twice",
        (200, JSON, json.dumps({"products": [product(), product(barcode=None)]}).encode()),
        "appears twice",
    ),
    (
        "shared barcode",
        (200, JSON, json.dumps({"products": [product(), product(sku="D002")]}).encode()),
        "shares barcode",
    ),
    ("server error", (503, JSON, b'{"error": "database busy"}'), "503 (database busy); will retry"),
    ("redirect", (302, {"Location": "http://elsewhere/"}, b""), "redirect (302) to http://elsewhere/"),
]


@pytest.mark.parametrize(
    ("reply", "expected"), [(r, e) for _, r, e in BAD_CATALOGS], ids=[n for n, _, _ in BAD_CATALOGS]
)
def test_a_catalog_reply_we_cannot_use_is_an_hq_error(
    canned: tuple[str, dict[str, tuple[int, dict[str, str], bytes]]],
    reply: tuple[int, dict[str, str], bytes],
    expected: str,
) -> None:
    url, replies = canned
    replies["/api/v1/catalog"] = reply
    client = HttpHqClient(url, "k" * 43, KIOSK, timeout_s=5)
    with pytest.raises(HqError) as caught:
        client.fetch_catalog()
    assert expected in str(caught.value)
    client.close()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ((200, JSON, b'{"stored": "all"}'), "cannot use"),
        ((200, JSON, b"[1, 2]"), "cannot use"),
        ((500, {"Content-Type": "text/plain"}, b"oops"), "500"),
        ((422, JSON, b'{"error": "bad", "detail": [{"field": "body"}]}'), "422 (bad)"),
    ],
    ids=["stored not a list", "not an object", "500 text", "422 without records"],
)
def test_a_sales_reply_we_cannot_use_is_an_hq_error(
    canned: tuple[str, dict[str, tuple[int, dict[str, str], bytes]]],
    reply: tuple[int, dict[str, str], bytes],
    expected: str,
) -> None:
    url, replies = canned
    replies["/api/v1/sales"] = reply
    client = HttpHqClient(url, "k" * 43, KIOSK, timeout_s=5)
    with pytest.raises(HqError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        client.push_sales([make_sale(KIOSK)])
    client.close()
