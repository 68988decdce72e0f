"""OutboxPusher, CatalogPuller, LinkBackoff and SyncWorker on a real store, with HQ faked at the
network edge (``ScriptedHq``, an HqClient that answers as the test tells it). The same code against
the real HQ is in test_sync_live.py.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kiosk.core.cart import Cart, Product
from kiosk.ports import CatalogItem, CatalogUpdate, EventResult, HqError, OutEvent
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.heartbeat import Heartbeats, Readings, heartbeat_body
from kiosk.sync.pusher import (
    ANSWERED_CAP_S,
    JITTER_FRACTION,
    UNREACHABLE_CAP_S,
    CatalogPuller,
    LinkBackoff,
    OutboxPusher,
    SyncWorker,
)
from tests.fakes.clock import SetTime

BOUNDED_WAIT_S = 15.0


@dataclass
class ScriptedHq:
    """The HqClient port as HQ would answer: ``down`` refuses connections, ``status`` answers 5xx,
    ``reject`` names the keys HQ rejects; it holds what it stored (by key, once)."""

    down: bool = False
    status: int | None = None
    retry_after: float | None = None
    reject: set[str] = field(default_factory=set)
    stored: dict[str, OutEvent] = field(default_factory=dict)
    requests: list[list[OutEvent]] = field(default_factory=list)
    catalog: CatalogUpdate | None = None
    offset: float = 0.0

    @property
    def clock_offset_s(self) -> float:
        return self.offset

    def push_events(self, events: Sequence[OutEvent]) -> list[EventResult]:
        self.requests.append(list(events))
        if self.down:
            raise HqError("cannot reach HQ at http://127.0.0.1:9: Connection refused", unreachable=True)
        if self.status is not None:
            raise HqError(f"HQ answered {self.status}", retry_after_s=self.retry_after)
        results = []
        for e in events:
            if e.key in self.reject:
                results.append(EventResult(e.key, "rejected", ("lines[0].qty: must be > 0",)))
            elif e.key in self.stored:
                results.append(EventResult(e.key, "duplicate"))
            else:
                self.stored[e.key] = e
                results.append(EventResult(e.key, "stored"))
        return results

    def fetch_catalog(self, since: int) -> CatalogUpdate | None:
        if self.down:
            raise HqError("cannot reach HQ", unreachable=True)
        if self.catalog is None or self.catalog.version == since:
            return None
        return self.catalog


@pytest.fixture
def store(tmp_path: Path) -> SaleStore:
    return SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "kiosk-001")


def _sales(store: SaleStore, n: int) -> None:
    water = Product("w", "矿泉水", "Water", 200, "6901234567892")
    for i in range(n):
        order_id = store.open_order(Cart().add(water))
        pay = store.begin_payment(order_id, "wechat", "sim", f"13{i:016d}")
        store.record_paid(pay.out_trade_no, f"42{i:08d}")


def test_events_go_oldest_first_in_batches_and_are_marked_sent(store: SaleStore) -> None:
    _sales(store, 3)  # 6 events: sale, payment for each
    hq = ScriptedHq()
    report = OutboxPusher(store, hq, batch_size=4).push_once()
    assert (report.pushed, report.parked, report.pending, report.error) == (6, 0, 0, "")
    assert [len(r) for r in hq.requests] == [4, 2]
    sent = [e for r in hq.requests for e in r]
    assert [e.kind for e in sent] == ["sale", "payment"] * 3
    assert all(e.at.endswith("Z") for e in sent)
    assert store.pending_count() == 0


def test_a_rejected_event_is_parked_and_never_blocks_the_rest(store: SaleStore) -> None:
    """A poison event in the middle: HQ rejects it for good. It is parked with HQ's reason and
    audited, the events behind it are stored in the same pass, and it is never sent again."""
    _sales(store, 3)
    poison = store.due(100)[2]  # the second sale
    hq = ScriptedHq(reject={poison.key})
    pusher = OutboxPusher(store, hq)
    first = pusher.push_once()
    # the five others, and then the audit of the parking (it goes to HQ too), in the same pass
    assert (first.pushed, first.parked) == (6, 1)
    assert store.parked() == [(poison.key, "sale", "rejected by HQ: lines[0].qty: must be > 0")]
    assert [e.body.get("action") for e in hq.requests[-1]] == ["event_parked"]
    again = pusher.push_once()
    assert again.pushed == 0 and len(hq.requests) == 2  # the poison is never sent again
    assert store.parked_count() == 1 and store.pending_count() == 0


def test_a_duplicate_is_sent(store: SaleStore) -> None:
    """A lost answer: HQ stored the events, the kiosk did not hear. Sent again, they come back
    "duplicate" and leave the queue, stored once."""
    _sales(store, 1)
    hq = ScriptedHq()
    for item in store.due(10):
        hq.stored[item.key] = OutEvent(item.key, item.kind, "", item.payload)
    report = OutboxPusher(store, hq).push_once()
    assert report.pushed == 2 and store.pending_count() == 0 and len(hq.stored) == 2


def test_a_failed_request_keeps_every_event_in_its_place(store: SaleStore) -> None:
    _sales(store, 2)
    keys = [i.key for i in store.due(10)]
    hq = ScriptedHq(down=True)
    clock = SetTime()
    pusher = OutboxPusher(store, hq, backoff=LinkBackoff(clock, random.Random(1)))
    report = pusher.push_once()
    assert report.unreachable and report.pushed == 0 and report.pending == 4
    assert [i.key for i in store.due(10)] == keys
    assert all(i.attempts == 1 for i in store.due(10))


@pytest.mark.parametrize(
    ("unreachable", "cap"),
    [(True, UNREACHABLE_CAP_S), (False, ANSWERED_CAP_S)],
)
def test_backoff_doubles_from_half_a_second_to_its_cap_with_jitter(unreachable: bool, cap: float) -> None:
    backoff = LinkBackoff(SetTime(), random.Random(3))
    delays = [backoff.delay_s(n, unreachable) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        plain = min(cap, 0.5 * 2 ** (n - 1))
        assert plain <= delay <= plain * (1 + JITTER_FRACTION)
    assert max(delays) > cap  # jitter on top of the cap spreads a fleet out
    assert backoff.delay_s(3, unreachable, retry_after_s=120.0) == 120.0  # Retry-After honoured


def test_jitter_differs_between_kiosks() -> None:
    a = LinkBackoff(SetTime(), random.Random(1)).delay_s(10, True)
    b = LinkBackoff(SetTime(), random.Random(2)).delay_s(10, True)
    assert a != b


def test_the_queue_drains_within_seconds_of_hq_coming_back(store: SaleStore) -> None:
    """The field report: "it took 45 s after HQ was already back". GIVEN HQ refused connections for
    an hour of passes (the worker retries whenever the pusher allows), WHEN HQ comes back, THEN the
    next attempt is due within the 5 s cap (plus jitter), and that attempt drains the whole queue.

    Before protocol v1 each item carried its own backoff (2 s doubling to 300 s, stored in
    next_attempt_at): after a long outage every item waited up to 5 minutes after HQ was back, so
    this test could not pass (the first attempt after the outage came up to 300 s later).
    """
    _sales(store, 60)  # 120 events: two batches of 100 and 20
    clock = SetTime()
    hq = ScriptedHq(down=True)
    pusher = OutboxPusher(store, hq, batch_size=100, backoff=LinkBackoff(clock, random.Random(7)))
    outage_end = clock.now + 3600.0
    attempts = 0
    while attempts < 10_000:
        report = pusher.push_once()
        assert report.unreachable and not report.waited  # a pass runs when the backoff allows
        attempts += 1
        if clock.now >= outage_end:
            break
        clock.now += pusher.backoff.wait_s()
    assert attempts > 600  # HQ was tried all along, every few seconds
    hq.down = False  # HQ is back right after a failed attempt: the worst moment
    wait = pusher.backoff.wait_s()
    assert 0 < wait <= UNREACHABLE_CAP_S * (1 + JITTER_FRACTION)
    clock.now += wait
    report = pusher.push_once()
    assert report.pushed == 120 and store.pending_count() == 0 and len(hq.stored) == 120
    assert [len(r) for r in hq.requests[-2:]] == [100, 20] and pusher.backoff.failures == 0


def test_5xx_backs_off_up_to_a_minute_and_honours_retry_after(store: SaleStore) -> None:
    _sales(store, 1)
    clock = SetTime()
    hq = ScriptedHq(status=503)
    pusher = OutboxPusher(store, hq, backoff=LinkBackoff(clock, random.Random(5)))
    for _ in range(12):
        pusher.push_once()
        clock.now += pusher.backoff.wait_s()
    pusher.push_once()
    assert ANSWERED_CAP_S <= pusher.backoff.wait_s() <= ANSWERED_CAP_S * (1 + JITTER_FRACTION)
    hq.retry_after = 300.0
    clock.now += pusher.backoff.wait_s()
    pusher.push_once()
    assert pusher.backoff.wait_s() == 300.0
    # while backing off, a pass sends nothing (a sale's wake-up does not hammer HQ)
    before = len(hq.requests)
    assert pusher.push_once().waited and len(hq.requests) == before
    # kiosk sync --once goes anyway
    hq.status = None
    assert pusher.push_once(ignore_backoff=True).pushed == 2


def test_the_catalog_is_pulled_since_the_version_held_and_applied(store: SaleStore) -> None:
    hq = ScriptedHq()
    applied: list[int] = []
    puller = CatalogPuller(store, hq, on_applied=lambda: applied.append(store.catalog_version()))
    assert puller.pull_once().pulled == 0 and store.catalog_version() == 0
    item = CatalogItem("D001", "水", "Water", 200, None, "d", True)
    hq.catalog = CatalogUpdate("snapshot", 0, 3, (item,), {"lang": "en"})
    report = puller.pull_once()
    assert (report.pulled, report.version, report.error) == (1, 3, "")
    assert applied == [3] and [p.sku for p in store.products()] == ["D001"]
    assert puller.pull_once().pulled == 0  # 304: nothing changed
    hq.down = True
    report = puller.pull_once()  # offline: the kiosk sells from what it has
    assert report.unreachable and [p.sku for p in store.products()] == ["D001"]


def test_heartbeat_body_and_coalescing(store: SaleStore) -> None:
    from drivers.printer.status import PrinterStatus

    class Probe:
        def read(self) -> Readings:
            return Readings(PrinterStatus(True, "near_end", cover_open=False), "failed", 123, None)

    from datetime import UTC, datetime

    beats = Heartbeats(
        store, Probe(), "9.9.9", lambda: -0.4, now=lambda: datetime(2026, 12, 2, 8, tzinfo=UTC)
    )
    _sales(store, 1)
    beats.beat()
    beats.beat()
    items = store.due(10)
    assert [i.kind for i in items] == ["sale", "payment", "heartbeat"]
    assert items[2].payload == {
        "at": "2026-12-02T08:00:00Z",
        "app_version": "9.9.9",
        "printer": {"ready": True, "paper": "low", "cover": "closed"},
        "camera": "failed",
        "disk_free_bytes": 123,
        "temperature_c": None,
        "outbox_depth": 3,
        "parked": 0,
        "catalog_version": 0,
        "clock_offset_s": -0.4,
    }
    silent = heartbeat_body(
        Readings(None, "none", None, 48.3),
        at=datetime(2026, 1, 1, tzinfo=UTC),
        app_version="1",
        outbox_depth=0,
        parked=2,
        catalog_version=7,
        clock_offset_s=0.0,
    )
    assert silent["printer"] == {"ready": False, "paper": "unknown", "cover": "unknown"}
    assert silent["temperature_c"] == 48.3


def test_temperature_from_the_thermal_zone(tmp_path: Path) -> None:
    from kiosk.sync.heartbeat import read_temperature

    zone = tmp_path / "temp"
    zone.write_text("48312\n")
    assert read_temperature(zone) == 48.3
    assert read_temperature(tmp_path / "missing") is None
    zone.write_text("garbage")
    assert read_temperature(zone) is None


def test_the_worker_queues_heartbeats_pushes_and_pulls(store: SaleStore) -> None:
    """One pass of the worker thread, synchronised on its pass counter."""
    hq = ScriptedHq(catalog=CatalogUpdate("snapshot", 0, 2, (), {}))

    class Probe:
        def read(self) -> Readings:
            return Readings(None, "ok", 1, None)

    done = threading.Event()
    pusher = OutboxPusher(store, hq)
    worker = SyncWorker(
        pusher,
        interval_s=3600,
        puller=CatalogPuller(store, hq, on_applied=done.set),
        heartbeats=Heartbeats(store, Probe(), "1", lambda: 0.0),
        heartbeat_s=3600,
    )
    worker.start()
    try:
        assert done.wait(BOUNDED_WAIT_S)
        for _ in range(int(BOUNDED_WAIT_S / 0.01)):
            if worker.passes >= 1:
                break
            threading.Event().wait(0.01)
        assert worker.passes >= 1
    finally:
        worker.stop(BOUNDED_WAIT_S)
    assert [e.kind for e in hq.stored.values()] == ["heartbeat"]
    assert store.catalog_version() == 2
    assert worker.last_report is not None and worker.last_report.pushed == 1
