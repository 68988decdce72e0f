"""HQ's operations endpoints on a real HQ, on SQLite and on PostgreSQL: /readyz and /metrics."""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from hq_process import signed_get_path
from prometheus_client.parser import text_string_to_metric_families

from hq import metrics
from hq.db import connected, sqlite_path
from hq.migrations import MIGRATIONS
from hq.models import Device, SchemaVersion, SyncEvent, WebhookDelivery, utc_now
from kiosk.sync.signed import HqSigner


def scrape(hq: LiveHq) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and sorted labels."""
    answer = requests.get(f"{hq.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_readyz_says_ready_with_the_schema_version(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        answer = requests.get(f"{hq.url}/readyz", timeout=10)
        assert answer.status_code == 200
        assert answer.json() == {"ok": True, "schema_version": len(MIGRATIONS)}
        assert requests.get(f"{hq.url}/healthz", timeout=10).json() == {"ok": True}


def test_readyz_is_503_while_the_schema_is_not_current(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        with connected():
            SchemaVersion.update(version=len(MIGRATIONS) - 1).execute()
        answer = requests.get(f"{hq.url}/readyz", timeout=10)
        assert answer.status_code == 503
        body = answer.json()
        assert body["detail"] == {
            "check": "schema",
            "schema_version": len(MIGRATIONS) - 1,
            "expected": len(MIGRATIONS),
        }
        behind = len(MIGRATIONS) - 1
        assert f"schema version {behind}" in body["error"] and f"结构版本为 {behind}" in body["error_zh"]
        assert answer.headers["Retry-After"] == "5"
        # /healthz only says the process answers
        assert requests.get(f"{hq.url}/healthz", timeout=10).status_code == 200
        with connected():
            SchemaVersion.update(version=len(MIGRATIONS)).execute()
        assert requests.get(f"{hq.url}/readyz", timeout=10).status_code == 200


def _take_the_database_away(request: pytest.FixtureRequest, url: str, tmp_path: Path) -> None:
    if url.startswith("sqlite"):
        # SQLite makes a missing file, but not a missing folder
        folder = sqlite_path(url).parent
        os.rename(folder, tmp_path.parent / f"{tmp_path.name}-moved")
        return
    cluster: Any = request.getfixturevalue("pg_cluster")
    cluster.drop_database(url.rsplit("/", 1)[1])


def test_readyz_is_503_when_the_database_does_not_answer(
    hq_db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with running_hq(hq_db_url) as hq:
        assert requests.get(f"{hq.url}/readyz", timeout=10).status_code == 200
        _take_the_database_away(request, hq_db_url, tmp_path)
        answer = requests.get(f"{hq.url}/readyz", timeout=10)
        assert answer.status_code == 503
        body = answer.json()
        assert body["detail"]["check"] == "database"
        assert body["error"].startswith("HQ's database does not answer")
        assert body["error_zh"].startswith("HQ 的数据库无响应")
        # the database's own error (paths, hosts, users) stays in the log
        assert "hq.sqlite3" not in answer.text and "postgres" not in answer.text
        samples = scrape(hq)
        assert samples[("hq_database_up", ())] == 0.0
        assert ("hq_webhook_backlog", ()) not in samples


def test_metrics_count_what_the_server_did_and_read_what_the_database_holds(hq_db_url: str) -> None:
    with running_hq(hq_db_url) as hq:
        signer = hq.enrol("kiosk-001")
        hq.enrol("kiosk-002")
        hq.enrol("kiosk-gone")
        now = utc_now()
        with connected():
            Device.update(
                last_heartbeat_at=now - timedelta(seconds=90),
                last_heartbeat=json.dumps({"outbox_depth": 7, "parked": 0}),
            ).where(Device.kiosk_id == "kiosk-001").execute()
            Device.update(revoked_at=now).where(Device.kiosk_id == "kiosk-gone").execute()
            for kind, n in (("sale", 3), ("refund", 1)):
                for _ in range(n):
                    SyncEvent.create(kiosk_id="kiosk-001", key=str(uuid.uuid4()), kind=kind, answer="{}")
            for delivered in (None, None, now):
                WebhookDelivery.create(
                    event_id=str(uuid.uuid4()),
                    kind="sale.created",
                    payload="{}",
                    created_at=now - timedelta(seconds=600),
                    delivered_at=delivered,
                )
        before = scrape(hq)

        path = signed_get_path(hq.url)
        refused = requests.get(f"{hq.url}{path}", timeout=10)  # not signed
        assert refused.status_code == 401
        assert hq.session(signer).get(f"{hq.url}{path}", timeout=10).status_code == 200
        impostor = hq.session(HqSigner(signer.kiosk_id, b"\x00" * 32))
        assert impostor.get(f"{hq.url}{path}", timeout=10).status_code == 401
        assert requests.get(f"{hq.url}/no/such/page", timeout=10).status_code == 404
        metrics.events_ingested("sale", "stored", 3)
        metrics.events_ingested("sale", "duplicate", 1)

        after = scrape(hq)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("hq_auth_failures_total", reason="missing") == 1
    assert delta("hq_auth_failures_total", reason="signature") == 1
    # the two refusals, the 404 and the first scrape; the second scrape counts after it answered
    assert delta("hq_http_responses_total", status_class="4xx") == 3
    assert delta("hq_http_responses_total", status_class="2xx") >= 3
    assert delta("hq_events_ingested_total", kind="sale", status="stored") == 3
    assert delta("hq_events_ingested_total", kind="sale", status="duplicate") == 1

    assert after[("hq_database_up", ())] == 1.0
    assert after[("hq_sync_events_stored", (("kind", "sale"),))] == 3
    assert after[("hq_sync_events_stored", (("kind", "refund"),))] == 1
    assert after[("hq_kiosk_outbox_depth", (("kiosk_id", "kiosk-001"),))] == 7
    age = after[("hq_kiosk_heartbeat_age_seconds", (("kiosk_id", "kiosk-001"),))]
    assert 90 <= age < 90 + 600  # measured from the row's time; bounded loosely, never a timing check
    # a kiosk that never sent a heartbeat has no heartbeat gauge; a revoked one has none at all
    assert ("hq_kiosk_heartbeat_age_seconds", (("kiosk_id", "kiosk-002"),)) not in after
    assert not any(labels == (("kiosk_id", "kiosk-gone"),) for _, labels in after)
    assert after[("hq_kiosk_last_seen_age_seconds", (("kiosk_id", "kiosk-001"),))] >= 0
    assert after[("hq_webhook_backlog", ())] == 2
    assert after[("hq_webhook_oldest_undelivered_age_seconds", ())] >= 600
