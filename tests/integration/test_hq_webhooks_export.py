"""Webhooks (docs/sync-protocol.md §6) to a real HTTP receiver on 127.0.0.1, driven pass by pass with
an injected clock, and ``hq sales export`` over sales that came in as events."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hq_fixtures import LiveHq, make_sale, running_hq
from sync_helpers import event, post_events, refund_of, results, rows, sale_event

from hq.cli import main
from hq.db import connected
from hq.models import WebhookDelivery
from hq.settings import WebhooksSection
from hq.webhooks import Deliverer, backoff_s, load_secret, verify

KIOSK = "kiosk-001"


class Receiver:
    """An HTTP server that records each POST and answers with the next status the test queued."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.received.append((dict(self.headers.items()), body))
                    status = outer.statuses.pop(0) if outer.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as live:
        yield live


@pytest.fixture
def publishing_hq(hq_db_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[LiveHq]:
    """HQ with [webhooks] url set, its own deliverer thread idle (the test drives ``deliver_once``)."""
    from hq_fixtures import start_hq

    hooks = WebhooksSection(url=receiver.url, secret_file=str(tmp_path / "keys" / "webhook.key"))
    live = start_hq(hq_db_url, webhooks=hooks, deliverer=False)
    try:
        yield live
    finally:
        live.stop()


def deliverer(tmp_path: Path, receiver: Receiver) -> Deliverer:
    return Deliverer(receiver.url, load_secret(tmp_path / "keys" / "webhook.key"), timeout_s=5.0)


def test_a_stored_sale_is_delivered_signed_and_a_refused_one_is_not_published(
    publishing_hq: LiveHq, receiver: Receiver, tmp_path: Path
) -> None:
    hq = publishing_hq
    kiosk = hq.session(hq.enrol(KIOSK, store="s01"))
    sale = make_sale(KIOSK)
    reply = post_events(kiosk, hq, [sale_event(sale), sale_event(make_sale(KIOSK, total_fen=1))])
    assert [s for _, s in results(reply)] == ["stored", "rejected"]
    assert post_events(kiosk, hq, [sale_event(sale)]).json()["results"][0]["status"] == "duplicate"
    assert rows(hq, "SELECT kind FROM webhook_delivery") == [("sale.created",)]
    secret_file = tmp_path / "keys" / "webhook.key"
    assert secret_file.stat().st_mode & 0o777 == 0o600

    with connected():
        now = WebhookDelivery.get().created_at
        assert deliverer(tmp_path, receiver).deliver_once(now + timedelta(minutes=1)) == 1
    [(headers, body)] = receiver.received
    sent_at = int((now + timedelta(minutes=1) - datetime(1970, 1, 1)).total_seconds())
    secret = secret_file.read_text().strip().encode()
    assert verify(secret, headers["X-Kiosk-Signature"], body, now=sent_at)
    assert not verify(secret, headers["X-Kiosk-Signature"], body + b" ", now=sent_at)
    assert not verify(secret, headers["X-Kiosk-Signature"], body, now=sent_at + 3600)
    payload = json.loads(body)
    assert headers["X-Kiosk-Event-Id"] == payload["id"] and headers["Content-Type"] == "application/json"
    assert payload["type"] == "sale.created" and payload["store"] == "s01" and payload["kiosk_id"] == KIOSK
    assert payload["data"]["order_id"] == sale["order_id"] and payload["data"]["total_fen"] == 750
    [(attempts, delivered)] = rows(hq, "SELECT attempts, delivered_at FROM webhook_delivery")
    assert attempts == 1 and delivered is not None
    with connected():
        assert deliverer(tmp_path, receiver).deliver_once(now + timedelta(hours=5)) == 0
    assert len(receiver.received) == 1


def test_a_failing_receiver_is_retried_with_backoff_and_the_same_event_id(
    publishing_hq: LiveHq, receiver: Receiver, tmp_path: Path
) -> None:
    hq = publishing_hq
    kiosk = hq.session(hq.enrol(KIOSK))
    sale = make_sale(KIOSK)
    post_events(kiosk, hq, [sale_event(sale), event("refund", refund_of(sale))])
    receiver.statuses = [500, 503, 500]
    send = deliverer(tmp_path, receiver)
    with connected():
        start = WebhookDelivery.select().order_by(WebhookDelivery.id).first().created_at
        assert send.deliver_once(start) == 2  # both fail
        assert send.deliver_once(start + timedelta(seconds=4)) == 0  # not due before 5 s
        assert send.deliver_once(start + timedelta(seconds=5)) == 2  # one fails again, one goes
        assert send.deliver_once(start + timedelta(seconds=14)) == 0
        assert send.deliver_once(start + timedelta(seconds=15)) == 1  # 5 + 10 s later
    ids = [h["X-Kiosk-Event-Id"] for h, _ in receiver.received]
    assert len(ids) == 5 and len(set(ids)) == 2
    kinds = sorted(json.loads(b)["type"] for _, b in receiver.received)
    assert set(kinds) == {"sale.created", "refund.created"}
    assert rows(hq, "SELECT count(*) FROM webhook_delivery WHERE delivered_at IS NOT NULL") == [(2,)]
    assert [backoff_s(n) for n in (1, 2, 3, 10, 20)] == [5.0, 10.0, 20.0, 2560.0, 3600.0]


def test_a_delivery_is_given_up_after_max_age_and_kept_as_failed(
    publishing_hq: LiveHq, receiver: Receiver, tmp_path: Path
) -> None:
    hq = publishing_hq
    post_events(hq.session(hq.enrol(KIOSK)), hq, [sale_event(make_sale(KIOSK))])
    receiver.statuses = [500] * 3
    send = deliverer(tmp_path, receiver)
    with connected():
        start = WebhookDelivery.get().created_at
        assert send.deliver_once(start) == 1
        assert send.deliver_once(start + timedelta(days=3)) == 1
        assert send.deliver_once(start + timedelta(days=30)) == 0
    [(failed, error)] = rows(hq, "SELECT failed_at, last_error FROM webhook_delivery")
    assert failed is not None and error == "HTTP 500"


def test_a_leased_delivery_is_not_taken_twice_until_its_lease_runs_out(
    publishing_hq: LiveHq, receiver: Receiver, tmp_path: Path
) -> None:
    hq = publishing_hq
    post_events(hq.session(hq.enrol(KIOSK)), hq, [sale_event(make_sale(KIOSK))])
    send = deliverer(tmp_path, receiver)
    with connected():
        start = WebhookDelivery.get().created_at
        [taken] = send._take(start, 10)  # a process that died mid-post: leased, never settled
        assert send._take(start + timedelta(seconds=1), 10) == []
        assert send.deliver_once(start + send.lease + timedelta(seconds=1)) == 1
    assert taken.event_id == receiver.received[0][0]["X-Kiosk-Event-Id"]


def test_the_deliverer_thread_publishes_on_its_own(
    hq_db_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    hooks = WebhooksSection(url=receiver.url, secret_file=str(tmp_path / "webhook.key"))
    with running_hq(hq_db_url, webhooks=hooks) as hq:
        post_events(hq.session(hq.enrol(KIOSK)), hq, [sale_event(make_sale(KIOSK))])
        delivered = False
        for _ in range(200):  # bounded: about 10 s at most
            if rows(hq, "SELECT count(*) FROM webhook_delivery WHERE delivered_at IS NOT NULL") == [(1,)]:
                delivered = True
                break
            threading.Event().wait(0.05)
    assert delivered and len(receiver.received) == 1


def test_without_a_url_nothing_is_published(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        reply = post_events(hq.session(hq.enrol(KIOSK)), hq, [sale_event(make_sale(KIOSK))])
        assert results(reply)[0][1] == "stored"
        assert rows(hq, "SELECT count(*) FROM webhook_delivery") == [(0,)]


# --- hq sales export ----------------------------------------------------------------------------------


def export(hq: LiveHq, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["sales", "export", *argv, "--db", hq.db_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def sold(hq_db_url: str) -> Iterator[tuple[LiveHq, list[dict[str, Any]]]]:
    with running_hq(hq_db_url) as hq:
        one = hq.session(hq.enrol("k1", store="s01"))
        two = hq.session(hq.enrol("k2", store="s02"))
        early = make_sale("k1", paid_at="2026-11-23T23:59:59Z")
        mine = make_sale("k1")
        theirs = make_sale("k2", paid_at="2026-11-24T13:00:00Z")
        assert results(post_events(one, hq, [sale_event(early), sale_event(mine)]))[1][1] == "stored"
        assert (
            results(post_events(one, hq, [event("refund", refund_of(mine, amount_fen=100))]))[0][1]
            == "stored"
        )
        assert results(post_events(two, hq, [sale_event(theirs)]))[0][1] == "stored"
        yield hq, [early, mine, theirs]


def test_export_csv_has_a_row_per_line_with_store_kiosk_and_refunds(
    sold: tuple[LiveHq, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    hq, (_, mine, theirs) = sold
    code, out, _ = export(hq, capsys, "--since", "2026-11-24", "--format", "csv")
    assert code == 0 and out.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(out.removeprefix("\ufeff"))))
    assert [(r["order_id"], r["store"], r["kiosk_id"], r["line_no"]) for r in table] == [
        (mine["order_id"], "s01", "k1", "1"),
        (mine["order_id"], "s01", "k1", "2"),
        (theirs["order_id"], "s02", "k2", "1"),
        (theirs["order_id"], "s02", "k2", "2"),
    ]
    assert table[0]["refunded_fen"] == "100" and table[2]["refunded_fen"] == "0"
    assert table[0]["name"] == "矿泉水 Mineral water" and table[0]["out_trade_no"] == mine["out_trade_no"]
    assert table[0]["transaction_id"] == mine["transaction_id"] and table[0]["channel"] == "wechat"


def test_export_json_for_one_store_and_a_window(
    sold: tuple[LiveHq, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    hq, (early, mine, _) = sold
    code, out, _ = export(
        hq, capsys, "--since", "2026-11-23", "--until", "2026-11-25", "--store", "s01", "--format", "json"
    )
    assert code == 0
    sales = json.loads(out)
    assert [s["order_id"] for s in sales] == [early["order_id"], mine["order_id"]]
    assert sales[1]["refunded_fen"] == 100 and len(sales[1]["lines"]) == 2 and sales[1]["store"] == "s01"
    assert sales[0]["paid_at"] == "2026-11-23T23:59:59Z"


def test_export_writes_a_new_0600_file_and_never_overwrites_one(
    sold: tuple[LiveHq, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hq, _ = sold
    out = tmp_path / "sales.csv"
    code, said, _ = export(hq, capsys, "--since", "2026-01-01", "--format", "csv", "--out", str(out))
    assert code == 0 and "3 sales exported" in said
    assert out.stat().st_mode & 0o777 == 0o600
    before = out.read_bytes()
    code, _, err = export(hq, capsys, "--since", "2026-01-01", "--format", "json", "--out", str(out))
    assert code == 2 and "never overwrites" in err
    assert out.read_bytes() == before
    code, _, err = export(hq, capsys, "--since", "24.11.2026", "--format", "csv")
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = export(hq, capsys, "--since", "2026-01-01", "--store", "s99", "--format", "csv")
    assert code == 2 and "no store s99" in err
    assert os.path.exists(out)
