"""The HQ API over real HTTP: uvicorn on 127.0.0.1, a SQLite file, the requests library as the kiosk."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, make_sale, running_hq, sqlite_url

from hq.catalog import seed_demo
from hq.db import connected
from hq.settings import AuthSection
from kiosk.ports import HqError
from kiosk.sync.hq_client import HttpHqClient
from kiosk_common.codes import gtin_check_ok

TIMEOUT = 10.0


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "hq.sqlite3"


@pytest.fixture
def hq(db_file: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(db_file)) as live:
        yield live


@pytest.fixture
def key(hq: LiveHq) -> str:
    return hq.add_device("kiosk-001")


def auth(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def post_sales(hq: LiveHq, api_key: str, sales: Any) -> requests.Response:
    return requests.post(f"{hq.url}/api/v1/sales", json=sales, headers=auth(api_key), timeout=TIMEOUT)


def rows(db_file: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read the HQ database the way an auditor would: plain sqlite3, no HQ code."""
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql, params).fetchall()


def test_healthz(hq: LiveHq) -> None:
    reply = requests.get(f"{hq.url}/healthz", timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.json() == {"ok": True}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, "no API key"),
        ({"Authorization": "Bearer not-a-key"}, "unknown API key"),
        ({"Authorization": "Basic a2lvc2s6cHc="}, "no API key"),
    ],
    ids=["missing", "unknown", "wrong scheme"],
)
def test_requests_without_a_valid_key_get_401_saying_what_to_do(
    hq: LiveHq, key: str, headers: dict[str, str], expected: str
) -> None:
    for method, path in (("GET", "/api/v1/catalog"), ("POST", "/api/v1/sales")):
        reply = requests.request(
            method, f"{hq.url}{path}", json=[make_sale()], headers=headers, timeout=TIMEOUT
        )
        assert reply.status_code == 401
        body = reply.json()
        assert expected in body["error"]
        assert "hq device add KIOSK_ID" in body["error"]
        assert "hq device add KIOSK_ID" in body["error_zh"]
        assert reply.headers["WWW-Authenticate"] == "Bearer"
    assert rows(hq_db(hq), "SELECT count(*) FROM sale") == [(0,)]


def hq_db(hq: LiveHq) -> Path:
    return Path("/" + hq.db_url.removeprefix("sqlite:///"))


def hq_files(hq: LiveHq) -> list[Path]:
    """The database and its write-ahead log: a fresh write may still be only in the log."""
    main = hq_db(hq)
    return [p for p in (main, main.with_name(main.name + "-wal")) if p.exists()]


def test_the_key_is_stored_only_as_its_sha256_and_last_seen_is_recorded(hq: LiveHq, key: str) -> None:
    assert rows(hq_db(hq), "SELECT kiosk_id, api_key_hash, last_seen_at FROM device") == [
        ("kiosk-001", hashlib.sha256(key.encode()).hexdigest(), None)
    ]
    stored_bytes = b"".join(p.read_bytes() for p in hq_files(hq))
    assert key.encode() not in stored_bytes
    assert hashlib.sha256(key.encode()).hexdigest().encode() in stored_bytes
    reply = requests.get(f"{hq.url}/api/v1/catalog", headers=auth(key), timeout=TIMEOUT)
    assert reply.status_code == 200
    ((last_seen,),) = rows(hq_db(hq), "SELECT last_seen_at FROM device")
    assert last_seen is not None and last_seen.startswith("20")


def test_catalog_lists_every_product_with_every_field(hq: LiveHq, key: str) -> None:
    with connected():
        seed_demo()
    reply = requests.get(f"{hq.url}/api/v1/catalog", headers=auth(key), timeout=TIMEOUT)
    assert reply.status_code == 200
    products = reply.json()["products"]
    assert len(products) >= 12
    water = next(p for p in products if p["sku"] == "D001")
    assert set(water) == {"sku", "name_zh", "name_en", "price_fen", "barcode", "category", "active"}
    assert water["name_zh"].startswith("矿泉水") and water["price_fen"] == 200 and water["active"] is True
    assert all(gtin_check_ok(p["barcode"]) for p in products)
    assert [p["sku"] for p in products] == sorted(p["sku"] for p in products)


def test_sales_are_stored_with_their_lines(hq: LiveHq, key: str, db_file: Path) -> None:
    sales = [make_sale() for _ in range(3)]
    reply = post_sales(hq, key, sales)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"stored": [s["order_id"] for s in sales], "duplicates": []}
    stored = rows(
        db_file, "SELECT order_id, kiosk_id, total_fen, channel, paid_at FROM sale ORDER BY order_id"
    )
    assert stored == sorted((s["order_id"], "kiosk-001", 750, "wechat", "2026-11-24 12:00:31") for s in sales)
    lines = rows(
        db_file,
        "SELECT line_no, sku, name, qty, unit_price_fen, line_total_fen FROM sale_line "
        "WHERE order_id = ? ORDER BY line_no",
        (sales[0]["order_id"],),
    )
    assert lines == [(1, "D001", "矿泉水 Mineral water", 2, 200, 400), (2, "D002", "可乐 Cola", 1, 350, 350)]


def test_the_same_batch_twice_is_stored_once_and_reported_as_duplicates(
    hq: LiveHq, key: str, db_file: Path
) -> None:
    sales = [make_sale() for _ in range(5)]
    first = post_sales(hq, key, sales)
    again = post_sales(hq, key, [*sales, (fresh := make_sale())])
    assert first.json()["stored"] == [s["order_id"] for s in sales]
    assert again.status_code == 200
    assert again.json() == {"stored": [fresh["order_id"]], "duplicates": [s["order_id"] for s in sales]}
    assert rows(db_file, "SELECT count(*) FROM sale") == [(6,)]
    assert rows(db_file, "SELECT count(*) FROM sale_line") == [(12,)]


def test_an_upper_case_order_id_is_the_same_order(hq: LiveHq, key: str) -> None:
    sale = make_sale()
    shouted = dict(sale, order_id=sale["order_id"].upper())
    assert post_sales(hq, key, [shouted]).json()["stored"] == [sale["order_id"]]
    assert post_sales(hq, key, [sale]).json()["duplicates"] == [sale["order_id"]]


def test_a_different_sale_under_a_known_order_id_is_a_409_and_nothing_is_stored(
    hq: LiveHq, key: str, db_file: Path
) -> None:
    original = make_sale()
    assert post_sales(hq, key, [original]).status_code == 200
    forged = copy.deepcopy(original)
    forged["transaction_id"] = "4200999999"
    innocent = make_sale()
    reply = post_sales(hq, key, [innocent, forged])
    assert reply.status_code == 409
    body = reply.json()
    assert body["detail"] == {"conflicts": [original["order_id"]]}
    assert "never overwrites" in body["error"] and "不会覆盖" in body["error_zh"]
    assert rows(db_file, "SELECT order_id, transaction_id FROM sale") == [
        (original["order_id"], original["transaction_id"])
    ]


def test_one_order_id_twice_in_a_request_with_different_content_is_a_409(hq: LiveHq, key: str) -> None:
    sale = make_sale()
    other = dict(sale, paid_at="2026-11-24T12:05:00Z")
    reply = post_sales(hq, key, [sale, other])
    assert reply.status_code == 409
    assert reply.json()["detail"]["conflicts"] == [sale["order_id"]]
    same_twice = post_sales(hq, key, [sale, copy.deepcopy(sale)])
    assert same_twice.json() == {"stored": [sale["order_id"]], "duplicates": []}


def test_validation_errors_name_the_record_field_and_problem(hq: LiveHq, key: str, db_file: Path) -> None:
    good = make_sale()
    bad_total = make_sale(total_fen=1)
    bad_uuid = make_sale(order_id="ORDER-7")
    reply = post_sales(hq, key, [good, bad_total, bad_uuid])
    assert reply.status_code == 422
    body = reply.json()
    assert "docs/sale-payload.md" in body["error"] and body["error_zh"]
    by_index = {entry["index"]: entry for entry in body["detail"]}
    assert set(by_index) == {1, 2}
    assert by_index[1]["order_id"] == bad_total["order_id"]
    assert (
        "total_fen 1 is not the sum of lines[].line_total_fen (750)" in by_index[1]["problems"][0]["problem"]
    )
    assert by_index[2]["order_id"] == "ORDER-7"
    assert by_index[2]["problems"][0]["field"] == "order_id"
    assert by_index[2]["problems"][0]["value"] == "ORDER-7"
    assert rows(db_file, "SELECT count(*) FROM sale") == [(0,)]


def test_a_bad_line_is_named_by_its_path(hq: LiveHq, key: str) -> None:
    sale = make_sale()
    sale["lines"][1]["qty"] = 0
    sale["lines"][1]["line_total_fen"] = 0
    sale["total_fen"] = 400
    reply = post_sales(hq, key, [sale])
    assert reply.status_code == 422
    (entry,) = reply.json()["detail"]
    assert entry["problems"][0]["field"] == "lines[1].qty"
    assert "greater than or equal to 1" in entry["problems"][0]["problem"]


def test_sales_of_another_kiosk_are_refused_with_403(hq: LiveHq, key: str, db_file: Path) -> None:
    reply = post_sales(hq, key, [make_sale(), stranger := make_sale(kiosk_id="kiosk-002")])
    assert reply.status_code == 403
    body = reply.json()
    assert "kiosk-001" in body["error"] and "[kiosk] id" in body["error"]
    assert body["detail"] == [{"index": 1, "order_id": stranger["order_id"], "kiosk_id": "kiosk-002"}]
    assert rows(db_file, "SELECT count(*) FROM sale") == [(0,)]


def test_more_than_1000_sales_in_one_request_are_refused(hq: LiveHq, key: str) -> None:
    reply = post_sales(hq, key, [make_sale() for _ in range(1001)])
    assert reply.status_code == 422
    assert any("at most 1000" in entry.get("problem", "") for entry in reply.json()["detail"])


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"[{not json", "application/json", "not valid JSON"),
        (b'{"order_id": "x"}', "application/json", "valid list"),
        (b"[]", "text/plain", "Content-Type: application/json"),
    ],
)
def test_a_body_that_is_not_a_list_of_sales_is_a_clear_422(
    hq: LiveHq, key: str, content: bytes, content_type: str, expected: str
) -> None:
    reply = requests.post(
        f"{hq.url}/api/v1/sales",
        data=content,
        headers=auth(key) | {"Content-Type": content_type},
        timeout=TIMEOUT,
    )
    assert reply.status_code == 422
    assert expected in reply.json()["detail"][0]["problem"]


def test_an_oversized_body_is_refused_before_it_is_read(hq: LiveHq) -> None:
    request = (
        "POST /api/v1/sales HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Content-Length: 999999999\r\nConnection: close\r\n\r\n["
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
    wrong = requests.delete(f"{hq.url}/api/v1/sales", timeout=TIMEOUT)
    assert wrong.status_code == 405 and "DELETE" in wrong.json()["error"]


def test_concurrent_uploads_of_overlapping_batches_store_each_sale_once(
    hq: LiveHq, key: str, db_file: Path
) -> None:
    """GIVEN four kiosk threads retrying overlapping batches at once WHEN they all post
    THEN every sale is stored exactly once and nobody sees a 5xx."""
    sales = [make_sale() for _ in range(200)]
    batches = [sales[0:120], sales[80:200], sales[40:160], sales]
    statuses: list[int] = []
    confirmed: list[set[str]] = []
    lock = threading.Lock()

    def upload(batch: list[dict[str, Any]]) -> None:
        reply = post_sales(hq, key, batch)
        with lock:
            statuses.append(reply.status_code)
            if reply.status_code == 200:
                confirmed.append(set(reply.json()["stored"]) | set(reply.json()["duplicates"]))

    threads = [threading.Thread(target=upload, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 3)
    assert statuses == [200, 200, 200, 200]
    assert sorted(len(c) for c in confirmed) == [120, 120, 120, 200]
    assert rows(db_file, "SELECT count(*), count(DISTINCT order_id) FROM sale") == [(200, 200)]
    assert rows(db_file, "SELECT count(*) FROM sale_line") == [(400,)]


# --- bodies that are not JSON, and answers that never echo much --------------------------------------


def post_raw(hq: LiveHq, api_key: str, path: str, content: bytes) -> requests.Response:
    headers = auth(api_key) | {"Content-Type": "application/json"}
    return requests.post(f"{hq.url}{path}", data=content, headers=headers, timeout=TIMEOUT)


def sale_json_with(hq_value: str, field: str = "total_fen") -> bytes:
    """A sale whose ``field`` is replaced by the raw JSON text ``hq_value`` (not valid JSON, maybe)."""
    sale = make_sale()
    sale[field] = "@@HERE@@"
    return json.dumps([sale]).replace('"@@HERE@@"', hq_value).encode()


@pytest.mark.parametrize(
    ("field", "raw", "words"),
    [
        ("total_fen", "NaN", "NaN is not a JSON number"),
        ("total_fen", "Infinity", "Infinity is not a JSON number"),
        ("total_fen", "-Infinity", "-Infinity is not a JSON number"),
        ("total_fen", "1e999", "the number 1e999 is too large"),
        ("total_fen", "9" * 5000, "a whole number of 5000 digits is too long"),
        ("order_id", '"\\ud800"', "\\ud800 is half of a UTF-16 surrogate pair"),
        ("kiosk_id", '"kiosk-\\udfff"', "\\udfff is half of a UTF-16 surrogate pair"),
    ],
    ids=["NaN", "Infinity", "-Infinity", "1e999", "5000 digits", "lone high surrogate", "lone low surrogate"],
)
@pytest.mark.parametrize("path", ["/api/v1/sales", "/api/v1/refunds"])
def test_json_that_python_reads_but_json_forbids_is_a_clear_422(
    hq: LiveHq, key: str, db_file: Path, path: str, field: str, raw: str, words: str
) -> None:
    """NaN, Infinity and lone surrogates used to reach the error handler, which echoed them and failed
    to write its own answer (500). Now they are refused as JSON, saying what and where."""
    body = sale_json_with(raw, field)
    reply = post_raw(hq, key, path, body)
    assert reply.status_code == 422, reply.text
    [entry] = reply.json()["detail"]
    assert entry["field"] == "body"
    assert entry["problem"].startswith(f"not valid JSON ({words}")
    where = body.decode().index(raw.strip('"').removeprefix("kiosk-"))
    assert entry["problem"].endswith(f"at character {where}")
    assert reply.json()["error"] and reply.json()["error_zh"]
    assert rows(db_file, "SELECT count(*) FROM sale") == [(0,)]


def test_an_answer_echoes_at_most_a_short_clipped_form_of_what_was_sent(hq: LiveHq, key: str) -> None:
    sale = make_sale(order_id="x" * 1_000_000, kiosk_id="k" * 1_000_000, total_fen=10**90)
    sale["f" * 100_000] = 1
    sale["lines"][0]["name"] = "名" * 200_000
    reply = post_sales(hq, key, [sale])
    assert reply.status_code == 422
    assert len(reply.content) < 8_000, len(reply.content)
    [entry] = reply.json()["detail"]
    assert entry["order_id"] == "x" * 77 + "..."
    values = {p["field"]: p.get("value") for p in entry["problems"]}
    assert values["order_id"] == "x" * 77 + "..."
    assert values["kiosk_id"] == "k" * 77 + "..."
    assert values["lines[0].name"] == "名" * 77 + "..."
    assert any(field.startswith("ffff") and field.endswith("...") for field in values)
    assert all(len(p["problem"]) <= 300 for p in entry["problems"])


# --- unknown keys: held back per client address, one WARNING per window ------------------------------


class FakeClock:
    """The limiter's clock, moved by the test: no test waits for a window to pass."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


LIMITS = AuthSection(max_failures=5, window_s=60)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limited_hq(db_file: Path, clock: FakeClock) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(db_file), auth=LIMITS, clock=clock) as live:
        yield live


def from_client(address: str, api_key: str) -> dict[str, str]:
    """Headers of a request from ``address``, as a reverse proxy on HQ's machine reports it.

    uvicorn takes X-Forwarded-For from 127.0.0.1 only (its default), so only this test, on loopback,
    can pretend to be other clients; across the network the header is ignored.
    """
    return auth(api_key) | {"X-Forwarded-For": address}


def catalog_from(hq: LiveHq, address: str, api_key: str) -> requests.Response:
    return requests.get(f"{hq.url}/api/v1/catalog", headers=from_client(address, api_key), timeout=TIMEOUT)


def limiter_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == "hq.keylimit" and r.levelno >= logging.WARNING
    ]


def test_a_client_sending_unknown_keys_is_held_back_with_429_and_others_are_not(
    limited_hq: LiveHq, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN 300 unknown keys from one address WHEN the limit (5 per 60 s) is passed THEN that address
    gets 429 with Retry-After until its window ends, a kiosk elsewhere is served, and the log has one
    WARNING for the window, with the counts, instead of 300."""
    caplog.set_level(logging.INFO)
    good = limited_hq.add_device("kiosk-001")
    statuses = [catalog_from(limited_hq, "192.0.2.10", f"guess-{n:04d}").status_code for n in range(300)]
    assert statuses == [401] * 5 + [429] * 295
    held = catalog_from(limited_hq, "192.0.2.10", good)  # even a right key waits: guessing must stop
    assert held.status_code == 429 and held.headers["Retry-After"] == "60"
    assert "Retry-After" in held.json()["error"] and "hq device add" in held.json()["error"]
    assert "秒" in held.json()["error_zh"]
    assert catalog_from(limited_hq, "198.51.100.20", good).status_code == 200
    assert catalog_from(limited_hq, "198.51.100.20", "another-guess").status_code == 401
    assert limiter_warnings(caplog) == []  # one line per window, written when the window closes
    assert not [r for r in caplog.records if "unknown API key" in r.getMessage()]

    clock.now += 45
    assert catalog_from(limited_hq, "192.0.2.10", good).headers["Retry-After"] == "15"
    clock.now += 15
    assert catalog_from(limited_hq, "192.0.2.10", good).status_code == 200
    [window, other] = sorted(limiter_warnings(caplog), key=lambda m: "192.0.2.10" not in m)
    assert window.startswith("refused 302 request(s) from 192.0.2.10 in a 60 s window: ")
    assert "5 with an unknown API key (last gues**0004)" in window
    assert "297 held back with 429" in window
    assert other.startswith("refused 1 request(s) from 198.51.100.20")


def test_the_kiosk_is_told_why_hq_holds_it_back(limited_hq: LiveHq) -> None:
    limited_hq.add_device("kiosk-001")
    client = HttpHqClient(limited_hq.url, "a-key-hq-does-not-know", "kiosk-001", timeout_s=TIMEOUT)
    try:
        for _ in range(LIMITS.max_failures):
            with pytest.raises(HqError, match="refused the API key"):
                client.fetch_catalog()
        with pytest.raises(HqError) as caught:
            client.fetch_catalog()
    finally:
        client.close()
    message = str(caught.value)
    assert "too many unknown API keys" in message and "60 s" in message
    assert "[hq] api_key" in message and "hq device add kiosk-001 --rotate" in message
    assert "a-key-hq-does-not-know" not in message
