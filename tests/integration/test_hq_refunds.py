"""Refunds reaching HQ: ``POST /api/v1/refunds`` over real HTTP, HQ migration 2, and end to end from
``kiosk payment charge`` / ``kiosk payment refund`` through the kiosk's outbox to a real HQ."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, make_sale, running_hq, sqlite_url

from hq.db import MIGRATIONS, connected, open_database
from hq.models import database
from hq.refunds import refunded_fen
from kiosk.cli import main
from kiosk.store.db import open_store
from kiosk.store.models import OutboxEntry
from kiosk.store.sales import SaleStore
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import OutboxPusher, PushReport
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator

KIOSK = "kiosk-001"
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
    return hq.add_device(KIOSK)


def post(hq: LiveHq, api_key: str, path: str, body: Any) -> requests.Response:
    return requests.post(
        f"{hq.url}/api/v1/{path}", json=body, headers={"Authorization": f"Bearer {api_key}"}, timeout=TIMEOUT
    )


def refund_of(sale: dict[str, Any], **changes: Any) -> dict[str, Any]:
    refund = {
        "order_id": sale["order_id"],
        "kiosk_id": sale["kiosk_id"],
        "out_trade_no": sale["out_trade_no"],
        "out_refund_no": "R" + sale["out_trade_no"][1:],
        "amount_fen": sale["total_fen"],
        "refunded_at": "2026-11-24T12:05:00Z",
    }
    refund.update(changes)
    return refund


def rows(db_file: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql).fetchall()


def test_a_refund_is_stored_once_and_a_repeat_is_a_duplicate(hq: LiveHq, key: str, db_file: Path) -> None:
    sale = make_sale(KIOSK)
    assert post(hq, key, "sales", [sale]).status_code == 200
    refund = refund_of(sale)
    first = post(hq, key, "refunds", [refund])
    assert first.status_code == 200, first.text
    assert first.json() == {"stored": [refund["out_refund_no"]], "duplicates": []}
    again = post(hq, key, "refunds", [refund, refund])
    assert again.json() == {"stored": [], "duplicates": [refund["out_refund_no"]]}
    assert rows(db_file, "SELECT order_id, amount_fen, refunded_at FROM refund") == [
        (sale["order_id"], 750, "2026-11-24 12:05:00")
    ]


def test_a_conflicting_refund_is_409_and_nothing_is_stored(hq: LiveHq, key: str, db_file: Path) -> None:
    sale, other = make_sale(KIOSK), make_sale(KIOSK)
    post(hq, key, "sales", [sale, other])
    assert post(hq, key, "refunds", [refund_of(sale, amount_fen=100)]).status_code == 200
    reply = post(hq, key, "refunds", [refund_of(other), refund_of(sale, amount_fen=200)])
    assert reply.status_code == 409
    body = reply.json()
    assert body["detail"] == {"conflicts": [refund_of(sale)["out_refund_no"]]}
    assert "out_refund_no" in body["error"] and body["error_zh"]
    assert rows(db_file, "SELECT count(*) FROM refund") == [(1,)]


def test_a_refund_of_a_sale_hq_does_not_hold_is_refused_with_what_to_do(
    hq: LiveHq, key: str, db_file: Path
) -> None:
    known, unknown = make_sale(KIOSK), make_sale(KIOSK)
    post(hq, key, "sales", [known])
    reply = post(hq, key, "refunds", [refund_of(known), refund_of(unknown)])
    assert reply.status_code == 422
    body = reply.json()
    assert "upload the sale first" in body["detail"][0]["problems"][0]["problem"]
    assert body["detail"][0]["index"] == 1 and "send it again later" in body["error"]
    assert rows(db_file, "SELECT count(*) FROM refund") == [(0,)]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"amount_fen": 751}, "amount_fen", "more than its 750"),
        ({"out_trade_no": "K999"}, "out_trade_no", "was paid as"),
    ],
)
def test_a_refund_that_does_not_match_its_sale_is_refused(
    hq: LiveHq, key: str, changes: dict[str, Any], field: str, words: str
) -> None:
    sale = make_sale(KIOSK)
    post(hq, key, "sales", [sale])
    reply = post(hq, key, "refunds", [refund_of(sale, **changes)])
    assert reply.status_code == 422
    [problem] = reply.json()["detail"][0]["problems"]
    assert problem["field"] == field and words in problem["problem"]


def test_refunds_of_another_kiosk_are_403(hq: LiveHq, key: str) -> None:
    sale = make_sale(KIOSK)
    post(hq, key, "sales", [sale])
    reply = post(hq, key, "refunds", [refund_of(sale, kiosk_id="kiosk-002")])
    assert reply.status_code == 403 and "kiosk-001" in reply.json()["error"]


def test_another_kiosks_sale_gets_the_answer_of_a_sale_hq_does_not_hold(
    hq: LiveHq, key: str, db_file: Path
) -> None:
    """GIVEN kiosk-001's sales at HQ, one refunded WHEN kiosk-002 sends refunds naming them THEN each
    answer is word for word the one for an order id HQ has never seen, so kiosk-002 cannot tell
    whether kiosk-001's order ids (or refunds) exist. Before, it got 409 or "made by another kiosk"."""
    other_key = hq.add_device("kiosk-002")
    refunded, paid = make_sale(KIOSK), make_sale(KIOSK)
    assert post(hq, key, "sales", [refunded, paid]).status_code == 200
    assert post(hq, key, "refunds", [refund_of(refunded)]).status_code == 200
    never_uploaded = make_sale("kiosk-002")

    def answer(sale: dict[str, Any]) -> tuple[int, str]:
        refund = refund_of(sale, kiosk_id="kiosk-002")
        reply = post(hq, other_key, "refunds", [refund])
        text = reply.text
        for value in (sale["order_id"], refund["out_refund_no"], sale["out_trade_no"]):
            text = text.replace(value, "<id>")
        return reply.status_code, text

    status, expected = answer(never_uploaded)
    assert status == 422 and "upload the sale first" in expected
    assert answer(refunded) == (status, expected)
    assert answer(paid) == (status, expected)
    assert rows(db_file, "SELECT count(*) FROM refund") == [(1,)]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([{"order_id": "nope"}], "refund records"),
        ([{}] * 1001, "refund records"),
    ],
)
def test_invalid_refund_bodies_are_422(hq: LiveHq, key: str, body: Any, words: str) -> None:
    reply = post(hq, key, "refunds", body)
    assert reply.status_code == 422 and words in reply.json()["error"]


def test_no_key_no_refunds(hq: LiveHq) -> None:
    reply = requests.post(f"{hq.url}/api/v1/refunds", json=[], timeout=TIMEOUT)
    assert reply.status_code == 401


def test_migration_2_adds_refunds_to_a_version_1_database(tmp_path: Path) -> None:
    db_file = tmp_path / "old.sqlite3"
    open_database(sqlite_url(db_file))
    with sqlite3.connect(db_file) as conn:  # make it what the first release left behind
        conn.execute("DROP TABLE refund")
        conn.execute("UPDATE schema_version SET version = 1")
        conn.execute(
            "INSERT INTO device (kiosk_id, api_key_hash, created_at) VALUES ('k', 'h', '2026-01-01')"
        )
    open_database(sqlite_url(tmp_path / "elsewhere.sqlite3"))
    open_database(sqlite_url(db_file))
    assert len(MIGRATIONS) == 2
    assert rows(db_file, "SELECT version FROM schema_version") == [(2,)]
    assert rows(db_file, "SELECT kiosk_id FROM device") == [("k",)]
    with connected():
        assert database.execute_sql("SELECT count(*) FROM refund").fetchone()[0] == 0


# --- end to end: kiosk CLI, kiosk store and outbox, real HQ ----------------------------------------


@pytest.fixture(scope="module")
def creds(tmp_path_factory: pytest.TempPathFactory) -> SimCredentials:
    return make_credentials(tmp_path_factory.mktemp("e2ekeys"))


def kiosk_cli(config: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["--log-level", "WARNING", "payment", *argv, "--config", str(config)])
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    return code, lines[-1] if lines else {}


def push(tmp_path: Path, client: HttpHqClient) -> PushReport:
    """One sync pass on the kiosk's store, opened for it alone (the CLI opens its own in between)."""
    db = open_store(tmp_path / "data" / "kiosk.sqlite3")
    try:
        return OutboxPusher(SaleStore(db, KIOSK), client).push_once()
    finally:
        db.close()


def test_a_refund_made_at_the_kiosk_reaches_hq_once(
    hq: LiveHq,
    key: str,
    db_file: Path,
    creds: SimCredentials,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GIVEN a paid sale uploaded to HQ WHEN staff refund it with `kiosk payment refund --order ID`
    THEN the refund reaches HQ through the outbox once, even when it is uploaded twice."""
    config = tmp_path / "kiosk.toml"
    with GatewaySimulator(password_delay_s=0.1, wechat=creds.wechat_sim(), alipay=creds.alipay_sim()) as sim:
        config.write_text(
            creds.kiosk_toml(sim.url) + f'\n[kiosk]\nid = "{KIOSK}"\ndata_dir = "{tmp_path / "data"}"\n'
            '\n[gpio]\npin_factory = "mock"\n',
            encoding="utf-8",
        )
        os.chmod(config, 0o600)
        code, paid = kiosk_cli(
            config, capsys, "charge", "--code", "134567890123451234", "--amount-fen", "880"
        )
        assert code == 0 and paid["status"] == "paid"

        client = HttpHqClient(hq.url, key, KIOSK, timeout_s=TIMEOUT)
        try:
            assert push(tmp_path, client).sent == 1  # the sale
            code, refunded = kiosk_cli(
                config, capsys, "refund", "--order", paid["order_id"], "--actor", "staff:li"
            )
            assert code == 0 and refunded["status"] == "refunded"
            report = push(tmp_path, client)
            assert (report.sent, report.failed, report.pending) == (1, 0, 0)
            db = open_store(tmp_path / "data" / "kiosk.sqlite3")
            [row] = OutboxEntry.select().where(OutboxEntry.kind == "refund")
            db.close()
            # uploaded again (a reply lost on the way back): HQ already holds it
            payload = json.loads(row.payload)
            assert client.push_refunds([payload]) == [payload["out_refund_no"]]
        finally:
            client.close()
    assert len([e for e in sim.bank.ledger() if e.kind == "refund"]) == 1
    assert rows(db_file, "SELECT order_id, out_refund_no, amount_fen FROM refund") == [
        (paid["order_id"], "R" + paid["out_trade_no"][1:], 880)
    ]
    with connected():
        assert refunded_fen(paid["order_id"]) == 880


def test_a_refund_that_overtakes_its_sale_waits_in_the_outbox_and_follows_it(
    hq: LiveHq, key: str, db_file: Path, tmp_path: Path
) -> None:
    """GIVEN a refund in the outbox whose sale HQ does not hold yet (the sale held back) THEN HQ refuses
    it and it stays pending with backoff; once the sale goes, the refund goes after it."""
    db = open_store(tmp_path / "kiosk.sqlite3")
    client = HttpHqClient(hq.url, key, KIOSK, timeout_s=TIMEOUT)
    try:
        store = SaleStore(db, KIOSK)
        sale = make_sale(KIOSK)
        refund = refund_of(sale)
        sale_row = OutboxEntry.create(kind="sale", payload=json.dumps(sale))
        OutboxEntry.create(kind="refund", payload=json.dumps(refund))
        store.mark_failed([sale_row.id], "held back by the test", 3600)  # the sale is not due yet

        pusher = OutboxPusher(store, client, base_backoff_s=0.01, max_backoff_s=0.05)
        first = pusher.push_once()
        assert (first.sent, first.failed, first.pending) == (0, 1, 2)
        assert "did not confirm 1 refund" in first.error
        assert rows(db_file, "SELECT count(*) FROM refund") == [(0,)]

        store.mark_failed([sale_row.id], "due again", 0)
        deadline = time.monotonic() + 5.0
        report = pusher.push_once()
        while report.pending and time.monotonic() < deadline:
            time.sleep(0.05)
            report = pusher.push_once()
        assert report.pending == 0
    finally:
        client.close()
        db.close()
    assert rows(db_file, "SELECT out_refund_no FROM refund") == [(refund["out_refund_no"],)]
