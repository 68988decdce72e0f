"""Building sync events (docs/sync-protocol.md §3) and posting them to a live HQ, for the HQ tests."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import requests
from hq_fixtures import LiveHq

from hq.db import connected
from hq.models import database

TIMEOUT = 10.0
EVENTS = "/api/v1/sync/events"
CATALOG = "/api/v1/sync/catalog"


def event(kind: str, body: Any, key: str | None = None, at: str = "2026-11-24T12:00:31Z") -> dict[str, Any]:
    return {"key": key or str(uuid.uuid4()), "kind": kind, "at": at, "body": body}


def sale_event(sale: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    return event("sale", sale, key)


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


def heartbeat(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "at": "2026-11-24T12:00:00Z",
        "app_version": "0.9.0",
        "printer": {"ready": True, "paper": "ok", "cover": "closed"},
        "camera": "ok",
        "disk_free_bytes": 12_000_000_000,
        "temperature_c": 48.5,
        "outbox_depth": 3,
        "parked": 0,
        "catalog_version": 7,
        "clock_offset_s": -0.4,
    }
    body.update(changes)
    return body


def post_events(session: requests.Session, hq: LiveHq, events: list[dict[str, Any]]) -> requests.Response:
    return session.post(f"{hq.url}{EVENTS}", json={"events": events}, timeout=TIMEOUT)


def results(reply: requests.Response) -> list[tuple[str | None, str]]:
    assert reply.status_code == 200, reply.text
    return [(r["key"], r["status"]) for r in reply.json()["results"]]


def rows(hq: LiveHq, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read HQ's database as an auditor would: plain sqlite3 on SQLite, HQ's own connection otherwise."""
    if hq.db_url.startswith("sqlite:///"):
        with sqlite3.connect(Path("/" + hq.db_url.removeprefix("sqlite:///"))) as conn:
            return conn.execute(sql, params).fetchall()
    with connected():
        return [tuple(r) for r in database.execute_sql(sql.replace("?", "%s"), params).fetchall()]
