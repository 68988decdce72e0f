"""OutboxPusher and SyncWorker: retries with backoff while HQ is down, delivery once it is back.

``ListOutbox`` is an in-test Outbox over a list (the store is not under test here); HQ is the real
server on 127.0.0.1, started on a port that was closed a moment before.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hq_fixtures import closed_port, make_sale, running_hq, sqlite_url

from kiosk.ports import CatalogItem, HqError, OutboxItem
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import OutboxPusher, PushReport, SyncWorker

KIOSK = "kiosk-001"
BOUNDED_WAIT_S = 15.0


@dataclass
class _Row:
    item: OutboxItem
    sent: bool = False
    not_before: float = 0.0
    last_error: str = ""


@dataclass
class ListOutbox:
    """The Outbox port over a list, with a clock the test may move by hand."""

    clock: Callable[[], float] = time.monotonic
    rows: list[_Row] = field(default_factory=list)
    due_limits: list[int] = field(default_factory=list)
    failures: list[tuple[list[int], str, float]] = field(default_factory=list)
    broken: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, payload: dict[str, Any], kind: str = "sale") -> int:
        with self._lock:
            item_id = len(self.rows) + 1
            self.rows.append(_Row(OutboxItem(item_id, kind, payload, 0)))
            return item_id

    def due(self, limit: int) -> list[OutboxItem]:
        with self._lock:
            if self.broken:
                raise OSError("disk I/O error")
            self.due_limits.append(limit)
            now = self.clock()
            return [r.item for r in self.rows if not r.sent and r.not_before <= now][:limit]

    def mark_sent(self, ids: Sequence[int]) -> None:
        with self._lock:
            for row in self.rows:
                if row.item.id in ids:
                    row.sent = True

    def mark_failed(self, ids: Sequence[int], error: str, retry_in_s: float) -> None:
        with self._lock:
            self.failures.append((list(ids), error, retry_in_s))
            for i, row in enumerate(self.rows):
                if row.item.id in ids:
                    item = row.item
                    self.rows[i] = _Row(
                        OutboxItem(item.id, item.kind, item.payload, item.attempts + 1),
                        not_before=self.clock() + retry_in_s,
                        last_error=error,
                    )

    def pending_count(self) -> int:
        with self._lock:
            return sum(1 for r in self.rows if not r.sent)

    def sent_order_ids(self) -> set[str]:
        with self._lock:
            return {r.item.payload["order_id"] for r in self.rows if r.sent}


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_per_attempt_with_small_jitter_and_a_cap() -> None:
    pusher = OutboxPusher(
        ListOutbox(), _NoHq(), base_backoff_s=2.0, max_backoff_s=300.0, rng=random.Random(7)
    )
    for attempts, plain in [(0, 2.0), (1, 4.0), (2, 8.0), (5, 64.0), (7, 256.0)]:
        delay = pusher.backoff_s(attempts)
        assert plain <= delay <= plain * 1.1, (attempts, delay)
    assert pusher.backoff_s(8) == 300.0
    assert pusher.backoff_s(10_000) == 300.0
    assert len({pusher.backoff_s(3) for _ in range(20)}) > 1  # jittered, not lockstep


class _NoHq:
    """An HqClient whose network is gone: every call is an HqError (the edge, not our code)."""

    def push_sales(self, sales: Sequence[dict[str, Any]]) -> list[str]:
        raise HqError("cannot reach HQ at http://127.0.0.1:9: Connection refused")

    def push_refunds(self, refunds: Sequence[dict[str, Any]]) -> list[str]:
        raise HqError("cannot reach HQ at http://127.0.0.1:9: Connection refused")

    def fetch_catalog(self) -> list[CatalogItem]:
        raise HqError("cannot reach HQ")


def test_hq_down_then_back_retries_with_growing_backoff_and_delivers_everything(tmp_path: Path) -> None:
    """GIVEN 7 sales in the outbox and HQ down WHEN the pusher runs THEN each pass fails them with a
    doubled delay and they stay pending; WHEN HQ comes up on that port THEN the next due pass sends all."""
    clock = ManualClock()
    outbox = ListOutbox(clock=clock)
    sales = [make_sale(KIOSK) for _ in range(7)]
    for sale in sales:
        outbox.add(sale)
    port = closed_port()
    db_url = sqlite_url(tmp_path / "hq.sqlite3")
    with running_hq(db_url) as setup:  # enrol the kiosk, then HQ goes away
        api_key = setup.add_device(KIOSK)
    client = HttpHqClient(f"http://127.0.0.1:{port}", api_key, KIOSK, timeout_s=2)
    pusher = OutboxPusher(outbox, client, batch_size=3, base_backoff_s=2.0, max_backoff_s=10.0)

    first = pusher.push_once()
    assert first == PushReport(sent=0, failed=3, pending=7, error=first.error)
    assert "cannot reach HQ" in first.error and api_key not in first.error
    assert pusher.push_once().failed == 3  # the next 3 were still due; the failed ones are held back
    assert pusher.push_once().failed == 1
    assert pusher.push_once() == PushReport(sent=0, failed=0, pending=7, error="")  # nothing due now
    assert [round(f[2]) for f in outbox.failures] == [2, 2, 2]
    clock.now += 2.5
    assert pusher.push_once().failed == 3
    assert 4.0 <= outbox.failures[-1][2] <= 4.4  # second failure of those items: doubled
    assert outbox.pending_count() == 7 and outbox.sent_order_ids() == set()

    with running_hq(db_url, port=port):
        clock.now += 60.0
        report = pusher.push_once()
    assert report == PushReport(sent=7, failed=0, pending=0, error="")
    assert outbox.sent_order_ids() == {s["order_id"] for s in sales}
    assert outbox.due_limits[-4:] == [3, 3, 3, 3]  # three full batches and the empty look that ends the pass
    client.close()


def test_sales_hq_refuses_stay_in_the_outbox_while_the_rest_go(tmp_path: Path) -> None:
    outbox = ListOutbox(clock=ManualClock())
    good = [make_sale(KIOSK) for _ in range(3)]
    invalid = make_sale(KIOSK, total_fen=1)
    ids = [outbox.add(s) for s in (good[0], invalid, good[1], good[2])]
    event_id = outbox.add({"note": "a kind this release cannot upload"}, kind="event")
    with running_hq(sqlite_url(tmp_path / "hq.sqlite3")) as hq:
        client = HttpHqClient(hq.url, hq.add_device(KIOSK), KIOSK, timeout_s=5)
        report = OutboxPusher(outbox, client, base_backoff_s=1.0, max_backoff_s=60.0).push_once()
        client.close()
    assert (report.sent, report.failed, report.pending) == (3, 2, 2)
    assert "did not confirm 1 sale" in report.error
    assert outbox.sent_order_ids() == {s["order_id"] for s in good}
    failed = {item_id: (error, delay) for batch, error, delay in outbox.failures for item_id in batch}
    assert failed[ids[1]][0] == "HQ did not confirm this sale; see the sync log"
    assert 1.0 <= failed[ids[1]][1] <= 1.1
    assert failed[event_id] == ("not a sale or refund with a UUID order_id", 60.0)


def test_a_client_that_blows_up_does_not_stop_the_pusher() -> None:
    class Exploding:
        def push_sales(self, sales: Sequence[dict[str, Any]]) -> list[str]:
            raise KeyError("bug")

        def push_refunds(self, refunds: Sequence[dict[str, Any]]) -> list[str]:
            raise KeyError("bug")

        def fetch_catalog(self) -> list[CatalogItem]:
            return []

    outbox = ListOutbox(clock=ManualClock())
    outbox.add(make_sale(KIOSK))
    report = OutboxPusher(outbox, Exploding()).push_once()
    assert (report.sent, report.failed, report.pending) == (0, 1, 1)
    assert "KeyError" in report.error


def test_bad_pusher_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        OutboxPusher(ListOutbox(), _NoHq(), batch_size=0)
    with pytest.raises(ValueError, match="base_backoff_s"):
        OutboxPusher(ListOutbox(), _NoHq(), base_backoff_s=10, max_backoff_s=5)


# --- the worker thread ------------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUNDED_WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_worker_keeps_trying_until_hq_comes_back_then_delivers(tmp_path: Path) -> None:
    outbox = ListOutbox()  # real time: the worker and backoff run as in the kiosk, just faster
    sales = [make_sale(KIOSK) for _ in range(25)]
    for sale in sales:
        outbox.add(sale)
    db_url = sqlite_url(tmp_path / "hq.sqlite3")
    with running_hq(db_url) as setup:
        api_key = setup.add_device(KIOSK)
    port = closed_port()
    client = HttpHqClient(f"http://127.0.0.1:{port}", api_key, KIOSK, timeout_s=2)
    pusher = OutboxPusher(outbox, client, batch_size=10, base_backoff_s=0.05, max_backoff_s=0.2)
    worker = SyncWorker(pusher, interval_s=0.05)
    assert not worker.running and worker.last_report is None  # nothing runs until start()
    worker.start()
    try:
        _wait_for(lambda: len(outbox.failures) >= 6, "several failed attempts while HQ is down")
        report = worker.last_report
        assert report is not None and report.sent == 0 and "cannot reach HQ" in report.error
        assert outbox.pending_count() == 25
        with running_hq(db_url, port=port):
            _wait_for(lambda: outbox.pending_count() == 0, "delivery after HQ came back")
            passes = worker.passes
            _wait_for(lambda: worker.passes > passes, "one more pass")
    finally:
        worker.stop(timeout_s=10)
    assert not worker.running
    assert outbox.sent_order_ids() == {s["order_id"] for s in sales}
    client.close()


def test_worker_survives_a_failing_pass_and_stops_promptly() -> None:
    outbox = ListOutbox(broken=True)
    worker = SyncWorker(OutboxPusher(outbox, _NoHq()), interval_s=30.0)
    worker.start()
    try:
        _wait_for(lambda: worker.last_report is not None, "the first pass")
        report = worker.last_report
        assert report is not None and report.pending == -1 and "disk I/O error" in report.error
        assert worker.running
    finally:
        worker.stop(timeout_s=10)
    # the thread was in its 30 s wait: only a stop() that wakes it ends it within the 10 s join
    assert not worker.running
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()


def test_wake_runs_a_pass_now() -> None:
    outbox = ListOutbox()
    worker = SyncWorker(OutboxPusher(outbox, _NoHq()), interval_s=60.0)
    worker.start()
    try:
        _wait_for(lambda: worker.passes == 1, "the first pass")
        worker.wake()
        _wait_for(lambda: worker.passes == 2, "the pass wake() asked for")
    finally:
        worker.stop(timeout_s=10)
