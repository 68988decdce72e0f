"""HQ's Prometheus metrics (``GET /metrics``): what happened in this server, and what the database holds.

Two kinds, so that nothing here depends on how another module does its work:

- Counters of what this server did: events ingested (``events_ingested``, called by the ingest code),
  HTTP answers by status class (``HttpMetrics``, an ASGI middleware) and refused kiosk requests by
  reason (``auth_failure``, called by ``hq.auth``). They count from the server's start.
- Gauges read from the database at each scrape (``DatabaseCollector``): events stored per kind, the
  lag of each kiosk from its last heartbeat, the webhook backlog. They are right whichever process,
  worker or host wrote the rows, and they survive restarts.

With ``hq serve --workers N`` (N > 1) every worker is its own process with its own counters; ``hq
serve`` then makes a private folder (0700) and names it in ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start, prometheus-client keeps each worker's counters in files there, and any worker
answering a scrape adds them all up (``multiprocess.MultiProcessCollector``). Every metric is
described in docs/hq.md §8.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, cast

import peewee
from prometheus_client import CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from hq.asgi import Asgi, Message, Receive, Scope, Send
from hq.db import connected
from hq.models import Device, SyncEvent, WebhookDelivery, utc_now

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

EVENTS_INGESTED = Counter(
    "hq_events_ingested",
    "Events kiosks sent that this server answered, by kind and by the answer (stored, duplicate, rejected)",
    ["kind", "status"],
)
HTTP_RESPONSES = Counter(
    "hq_http_responses",
    "HTTP answers this server sent, by status class (2xx, 3xx, 4xx, 5xx)",
    ["status_class"],
)
AUTH_FAILURES = Counter(
    "hq_auth_failures",
    "Kiosk requests refused at authentication, by reason (docs/sync-protocol.md §2)",
    ["reason"],
)


def events_ingested(kind: str, status: str, n: int = 1) -> None:
    """Count ``n`` events of ``kind`` that got the answer ``status``. Call once per batch and answer."""
    if n > 0:
        EVENTS_INGESTED.labels(kind=kind[:32], status=status[:16]).inc(n)


def auth_failure(reason: str) -> None:
    """Count one refused kiosk request (``hq.identity.Refusal`` value)."""
    AUTH_FAILURES.labels(reason=reason[:32]).inc()


class HttpMetrics:
    """Count every HTTP answer by its status class, errors HQ's handlers made included."""

    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                HTTP_RESPONSES.labels(status_class=f"{int(message['status']) // 100}xx").inc()
            await send(message)

        await self.app(scope, receive, counted)


def _age_s(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


class DatabaseCollector(Collector):
    """Gauges read from HQ's database at each scrape, on the collecting thread's own connection.

    A database that does not answer gives ``hq_database_up 0`` and none of the other gauges, rather
    than a failed scrape: the scrape itself then tells the operator what is wrong.
    """

    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self.now = now

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hq_database_up", "1 when HQ's database answered this scrape's queries")
        try:
            with connected():
                families = list(self._from_database())
        except peewee.PeeweeException as exc:
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_database(self) -> Iterator[Metric]:
        now = self.now()
        stored = GaugeMetricFamily(
            "hq_sync_events_stored", "Events HQ holds in its exactly-once ledger, by kind", labels=["kind"]
        )
        rows = (
            SyncEvent.select(SyncEvent.kind, peewee.fn.COUNT(SyncEvent.id).alias("n"))
            .group_by(SyncEvent.kind)
            .tuples()
        )
        for row in rows:
            kind, n = cast(tuple[str, int], row)
            stored.add_metric([str(kind)], float(n))
        yield stored

        depth = GaugeMetricFamily(
            "hq_kiosk_outbox_depth",
            "Events waiting in the kiosk's outbox, as its last heartbeat reported",
            labels=["kiosk_id"],
        )
        heartbeat_age = GaugeMetricFamily(
            "hq_kiosk_heartbeat_age_seconds",
            "Seconds since HQ received the kiosk's last heartbeat",
            labels=["kiosk_id"],
        )
        seen_age = GaugeMetricFamily(
            "hq_kiosk_last_seen_age_seconds",
            "Seconds since the kiosk's last signed request HQ accepted",
            labels=["kiosk_id"],
        )
        skew = GaugeMetricFamily(
            "hq_kiosk_clock_skew_seconds", "HQ's clock minus the kiosk's, seconds", labels=["kiosk_id"]
        )
        devices = Device.select(
            Device.kiosk_id,
            Device.last_heartbeat_at,
            Device.last_heartbeat,
            Device.last_seen_at,
            Device.clock_skew_s,
        ).where(Device.revoked_at.is_null(True), Device.store.is_null(False))
        for device in devices:
            labels = [device.kiosk_id]
            outbox = _outbox_depth(device.last_heartbeat)
            if outbox is not None:
                depth.add_metric(labels, float(outbox))
            age = _age_s(device.last_heartbeat_at, now)
            if age is not None:
                heartbeat_age.add_metric(labels, age)
            seen = _age_s(device.last_seen_at, now)
            if seen is not None:
                seen_age.add_metric(labels, seen)
            if device.clock_skew_s is not None:
                skew.add_metric(labels, float(device.clock_skew_s))
        yield from (depth, heartbeat_age, seen_age, skew)

        pending = WebhookDelivery.select().where(WebhookDelivery.delivered_at.is_null(True))
        backlog = GaugeMetricFamily("hq_webhook_backlog", "Webhook deliveries not yet delivered")
        backlog.add_metric([], float(pending.count()))
        yield backlog
        oldest = pending.select(peewee.fn.MIN(WebhookDelivery.created_at)).scalar()
        oldest_age = GaugeMetricFamily(
            "hq_webhook_oldest_undelivered_age_seconds",
            "Age of the oldest webhook delivery not yet delivered (0 when there is none)",
        )
        oldest_age.add_metric([], _age_s(_as_datetime(oldest), now) or 0.0)
        yield oldest_age


def _as_datetime(value: Any) -> datetime | None:
    """MIN() over a datetime column comes back as text from SQLite and as a datetime from PostgreSQL."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _outbox_depth(body: str | None) -> int | None:
    """``outbox_depth`` from a heartbeat's JSON text, or None when it is absent or not a count."""
    if not body:
        return None
    try:
        value = json.loads(body).get("outbox_depth")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def multiprocess_dir() -> str | None:
    """The folder of the workers' counters when HQ runs several worker processes, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


def render(now: Callable[[], datetime] = utc_now) -> bytes:
    """The text exposition of every metric. Runs on a pool thread: it queries the database."""
    folder = multiprocess_dir()
    if folder is not None:
        counters = CollectorRegistry()
        multiprocess.MultiProcessCollector(counters, path=folder)
    else:
        counters = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(DatabaseCollector(now))
    return generate_latest(counters) + generate_latest(gauges)


__all__ = [
    "CONTENT_TYPE",
    "DatabaseCollector",
    "HttpMetrics",
    "auth_failure",
    "events_ingested",
    "multiprocess_dir",
    "render",
]
