"""The kiosk's sync against the real HQ on 127.0.0.1: every kind of event arrives exactly once, a
poison event is parked without holding the rest back, the catalog comes down, and after HQ was
away the queue drains in the first attempt after it is back (an injected clock, no waiting)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, closed_port, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from hq.catalog import seed_demo
from hq.db import connected
from hq.models import AuditEvent, Device, Heartbeat, PaymentEvent, Refund, Sale
from kiosk.core.cart import Cart
from kiosk.store.db import open_store
from kiosk.store.models import OutboxEntry
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import load_credentials
from kiosk.sync.heartbeat import Heartbeats, Readings
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import JITTER_FRACTION, UNREACHABLE_CAP_S, CatalogPuller, LinkBackoff, OutboxPusher
from kiosk.sync.signed import HqSigner
from tests.fakes.clock import SetTime

KIOSK = "kiosk-001"


class Probe:
    def read(self) -> Readings:
        return Readings(None, "ok", 10_000_000_000, 47.5)


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    """HQ on each back end in turn (tests/integration/conftest.py)."""
    with running_hq(hq_db_url) as live:
        with connected():
            seed_demo()
        yield live


def _client(hq_url: str, credentials: Path) -> HttpHqClient:
    creds = load_credentials(credentials)
    return HttpHqClient(hq_url, HqSigner(creds.kiosk_id, creds.secret), timeout_s=5)


def _store(tmp_path: Path) -> SaleStore:
    return SaleStore(open_store(tmp_path / "kiosk" / "kiosk.sqlite3"), KIOSK)


def _sell(store: SaleStore, n: int, first: int = 0) -> list[str]:
    product = store.products()[0]
    orders = []
    for i in range(first, first + n):
        order_id = store.open_order(Cart().add(product))
        pay = store.begin_payment(order_id, "wechat", "sim", f"13{i:016d}")
        store.record_paid(pay.out_trade_no, f"42{i:08d}")
        orders.append(order_id)
    return orders


def test_every_kind_of_event_reaches_hq_once(hq: LiveHq, tmp_path: Path) -> None:
    client = _client(hq.url, enrol_kiosk(hq, tmp_path / "kiosk", KIOSK))
    store = _store(tmp_path)
    try:
        assert CatalogPuller(store, client).pull_once().pulled > 0
        orders = _sell(store, 2)
        otn = store.refundable_payment(orders[0])
        assert otn is not None
        store.begin_refund(otn.out_trade_no, "staff")
        store.record_refund(otn.out_trade_no, "RF1", "staff")
        Heartbeats(store, Probe(), "0.9.0", lambda: client.clock_offset_s).beat()
        pusher = OutboxPusher(store, client)
        report = pusher.push_once()
        assert report.error == "" and report.parked == 0 and report.pending == 0
        # sent again (a lost answer): all duplicates, nothing stored twice
        OutboxEntry.update(state="pending").execute()
        again = pusher.push_once()
        assert again.pushed == report.pushed and again.pending == 0
        with connected():
            assert {s.order_id for s in Sale.select()} == set(orders)
            assert Refund.select().count() == 1
            assert PaymentEvent.select().count() == 2
            assert AuditEvent.select().count() >= 2  # refund started, refunded
            assert Heartbeat.select().count() == 1
            device = Device.get(Device.kiosk_id == KIOSK)
            assert device.last_heartbeat_at is not None
            assert json.loads(device.last_heartbeat)["temperature_c"] == 47.5
    finally:
        client.close()
        store.db.close()


def test_a_poison_event_is_parked_and_the_rest_arrive(hq: LiveHq, tmp_path: Path) -> None:
    client = _client(hq.url, enrol_kiosk(hq, tmp_path / "kiosk", KIOSK))
    store = _store(tmp_path)
    try:
        CatalogPuller(store, client).pull_once()
        first = _sell(store, 1)
        # a sale HQ will never take as it is (its lines do not add up to its total)
        poison = store.due(10)[0]
        bad = dict(poison.payload, total_fen=poison.payload["total_fen"] + 1)
        OutboxEntry.update(payload=json.dumps(bad)).where(OutboxEntry.id == poison.id).execute()
        later = _sell(store, 2, first=1)
        report = OutboxPusher(store, client).push_once()
        assert report.parked == 1 and report.pending == 0
        [(key, kind, reason)] = store.parked()
        assert (key, kind) == (poison.key, "sale") and reason.startswith("rejected by HQ")
        with connected():
            held = {s.order_id for s in Sale.select()}
        assert held == set(later) and first[0] not in held
    finally:
        client.close()
        store.db.close()


def test_after_hq_was_away_the_queue_drains_in_the_first_attempt_after_it_is_back(tmp_path: Path) -> None:
    """GIVEN a kiosk selling while its HQ (on a fixed port) is down, retrying with backoff, WHEN HQ
    starts on that port, THEN the next attempt is due within the 5 s cap (plus jitter) and sends
    everything. The clock is injected: the test waits for nothing but HQ's own start."""
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    db_url = sqlite_url(tmp_path / "hq.sqlite3")
    with running_hq(db_url, port=port) as hq:  # enrol while HQ is up, then take it away
        credentials = enrol_kiosk(hq, tmp_path / "kiosk", KIOSK)
        with connected():
            seed_demo()
        store = _store(tmp_path)
        client = _client(url, credentials)
        CatalogPuller(store, client).pull_once()
    clock = SetTime()
    pusher = OutboxPusher(store, client, backoff=LinkBackoff(clock, random.Random(3)))
    try:
        orders = _sell(store, 5)
        for _ in range(20):  # HQ away for 20 attempts
            report = pusher.push_once()
            assert report.unreachable and report.pending == 10
            clock.now += pusher.backoff.wait_s()
        assert pusher.backoff.wait_s() == 0
        pusher.push_once()  # one more failure just before HQ is back: the worst moment
        wait = pusher.backoff.wait_s()
        assert 0 < wait <= UNREACHABLE_CAP_S * (1 + JITTER_FRACTION)
        with running_hq(db_url, port=port):
            clock.now += wait
            report = pusher.push_once()
            assert (report.pushed, report.pending, report.error) == (10, 0, "")
            with connected():
                assert {s.order_id for s in Sale.select()} == set(orders)
    finally:
        client.close()
        store.db.close()
