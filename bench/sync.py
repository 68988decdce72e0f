"""Sync figures, measured side by side in one run (docs/sync-protocol.md; issue targets in brackets):

- the time for one kiosk to upload 10,000 queued sales through its real outbox and pusher [<= 10 s];
- HQ's ingest rate with 50 kiosks posting at once, on SQLite and on PostgreSQL [>= 2,000 sales/s on
  PostgreSQL];
- heartbeats from 1,000 enrolled kiosks;
- the first sync of a 50,000-product catalog to a kiosk, and the kiosk's catalog search latency.

HQ runs as ``hq serve`` (the production command) in a subprocess; PostgreSQL is a throwaway cluster
made by Debian's ``pg_virtualenv``, which this script re-runs itself under when no PG* variables are
set. Nothing here asserts a time: it prints medians, rates and ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from _private import private_files  # bench/ is the script's folder, so on sys.path

from hq.db import connected, open_database
from hq.devices import add_store, enrol_device
from hq.identity import load_or_create_key
from kiosk.sync.signed import HqSigner

HQ = str(Path(sys.executable).with_name("hq"))
EVENTS_PATH = "/api/v1/sync/events"
BATCH = 500
START_TIMEOUT_S = 120.0


def sale_event(kiosk_id: str, n: int) -> dict[str, Any]:
    order_id = str(uuid.uuid4())
    sale = {
        "order_id": order_id,
        "kiosk_id": kiosk_id,
        "created_at": "2026-12-01T12:00:00Z",
        "paid_at": "2026-12-01T12:00:05Z",
        "total_fen": 750,
        "currency": "CNY",
        "channel": "wechat" if n % 2 else "alipay",
        "out_trade_no": f"B{n:08d}{order_id[:8]}",
        "transaction_id": f"T{order_id[:20]}",
        "lines": [
            {"sku": "D001", "name": "矿泉水", "qty": 2, "unit_price_fen": 200, "line_total_fen": 400},
            {"sku": "D002", "name": "可乐", "qty": 1, "unit_price_fen": 350, "line_total_fen": 350},
        ],
    }
    return {"key": str(uuid.uuid4()), "kind": "sale", "at": "2026-12-01T12:00:05Z", "body": sale}


def heartbeat_event() -> dict[str, Any]:
    body = {
        "at": "2026-12-01T12:00:00Z",
        "app_version": "bench",
        "printer": {"ready": True, "paper": "ok", "cover": "closed"},
        "camera": "ok",
        "disk_free_bytes": 10_000_000_000,
        "temperature_c": 48.0,
        "outbox_depth": 0,
        "parked": 0,
        "catalog_version": 1,
        "clock_offset_s": 0.0,
    }
    return {"key": str(uuid.uuid4()), "kind": "heartbeat", "at": body["at"], "body": body}


@dataclass
class Hq:
    url: str
    db_url: str
    identity: Path


@contextlib.contextmanager
def hq_serve(db_url: str, identity: Path, workers: int) -> Iterator[Hq]:
    """``hq serve`` on a free port; yields once /readyz answers."""
    env = {**os.environ, "HQ_AUTH__IDENTITY_FILE": str(identity), "HQ_AUTH__MAX_FAILURES": "100000"}
    process = subprocess.Popen(
        [HQ, "serve", "--port", "0", "--db", db_url, "--workers", str(workers)],
        stdout=subprocess.PIPE,
        stderr=open(os.environ.get("BENCH_HQ_LOG", os.devnull), "a"),  # noqa: SIM115
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        if not match:
            raise RuntimeError(f"hq serve did not start: {line!r}")
        url = match.group(0)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("hq serve never became ready")
        yield Hq(url, db_url, identity)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)


def enrol_many(db_url: str, identity: Path, kiosk_ids: list[str], store: str = "bench") -> list[HqSigner]:
    """Enrol kiosks straight in HQ's database, as ``hq device enroll-code`` + ``kiosk enroll`` end."""
    open_database(db_url)
    key = load_or_create_key(identity)
    signers = []
    with connected():
        from hq.models import Store

        found = Store.get_or_none(Store.code == store)
        target = found if found is not None else add_store(store, f"Bench {store}")
        for kiosk_id in kiosk_ids:
            signers.append(HqSigner(kiosk_id, enrol_device(key, target, kiosk_id)))
    return signers


def post(session: requests.Session, url: str, body: bytes) -> dict[str, Any]:
    """POST one batch as a kiosk does: a 503 (database busy) is retried after its Retry-After, a
    dropped connection at once (the events' keys make a resend harmless)."""
    for _attempt in range(20):
        try:
            response = session.post(
                url + EVENTS_PATH, data=body, headers={"Content-Type": "application/json"}, timeout=120
            )
        except requests.ConnectionError:
            BUSY.append(1)
            continue
        if response.status_code == 503:
            BUSY.append(1)
            time.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result
    raise RuntimeError("HQ stayed busy for 20 tries")


#: 503 answers (HQ's database busy) and dropped connections seen, reported with the figures
BUSY: list[int] = []


def ingest_rate(hq: Hq, kiosks: int, sales_per_kiosk: int) -> tuple[float, int]:
    """Sales stored per second with ``kiosks`` posting batches of 500 at once, and how many stored."""
    signers = enrol_many(hq.db_url, hq.identity, [f"ingest-{i:03d}" for i in range(kiosks)])
    bodies = [
        [
            json.dumps(
                {"events": [sale_event(s.kiosk_id, b * BATCH + i) for i in range(BATCH)]},
                separators=(",", ":"),
            ).encode()
            for b in range(sales_per_kiosk // BATCH)
        ]
        for s in signers
    ]
    barrier = threading.Barrier(kiosks)

    def run(index: int) -> int:
        session = requests.Session()
        session.auth = signers[index]
        barrier.wait()
        stored = 0
        for body in bodies[index]:
            answer = post(session, hq.url, body)
            stored += sum(1 for r in answer["results"] if r["status"] == "stored")
        return stored

    with ThreadPoolExecutor(kiosks) as pool:
        start = time.perf_counter()
        stored = sum(pool.map(run, range(kiosks)))
        elapsed = time.perf_counter() - start
    return stored / elapsed, stored


def heartbeats(hq: Hq, kiosks: int) -> tuple[float, float, float]:
    """(heartbeats/s, p50 ms, p95 ms) for one heartbeat from each of ``kiosks`` kiosks, 20 at a time."""
    signers = enrol_many(hq.db_url, hq.identity, [f"hb-{i:04d}" for i in range(kiosks)])
    bodies = [json.dumps({"events": [heartbeat_event()]}).encode() for _ in signers]
    local = threading.local()

    def one(index: int) -> float:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        session.auth = signers[index]
        t0 = time.perf_counter()
        answer = post(session, hq.url, bodies[index])
        assert answer["results"][0]["status"] == "stored", answer
        return (time.perf_counter() - t0) * 1000

    with ThreadPoolExecutor(20) as pool:
        start = time.perf_counter()
        latencies = sorted(pool.map(one, range(kiosks)))
        elapsed = time.perf_counter() - start
    return kiosks / elapsed, statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]


KioskPart = Callable[[Hq, Path], dict[str, float]]


def pg_url() -> str:
    e = os.environ
    return f"postgresql://{e['PGUSER']}:{e['PGPASSWORD']}@{e['PGHOST']}:{e['PGPORT']}/{e['PGDATABASE']}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kiosks", type=int, default=50, help="kiosks posting at once (default 50)")
    parser.add_argument("--sales-per-kiosk", type=int, default=1000, help="multiple of 500 (default 1000)")
    parser.add_argument("--heartbeat-kiosks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="hq serve --workers for PostgreSQL")
    args = parser.parse_args()
    if "PGHOST" not in os.environ:
        if shutil.which("pg_virtualenv") is None:
            print("bench/sync.py needs PostgreSQL: run scripts/install-debian-deps.sh", file=sys.stderr)
            return 1
        # a throwaway cluster for this run; everything below runs inside it
        return subprocess.call(["pg_virtualenv", sys.executable, *sys.argv], stdout=sys.stdout)
    figures: dict[str, Any] = {}
    with private_files(), tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        folder = Path(tmp)
        sqlite = "sqlite:///" + str(folder / "hq.sqlite3").lstrip("/")
        backends = [("sqlite", sqlite, 1), ("postgresql", pg_url(), args.workers)]
        for name, db_url, workers in backends:
            identity = folder / f"{name}-identity.key"
            with hq_serve(db_url, identity, workers) as hq:
                BUSY.clear()
                rate, stored = ingest_rate(hq, args.kiosks, args.sales_per_kiosk)
                figures[f"ingest_{name}"] = (rate, stored, workers, len(BUSY))
                figures[f"heartbeats_{name}"] = heartbeats(hq, args.heartbeat_kiosks)
    print(f"HQ ingest, {args.kiosks} kiosks at once, batches of {BATCH} sales:")
    for name in ("sqlite", "postgresql"):
        rate, stored, workers, busy = figures[f"ingest_{name}"]
        print(
            f"  {name:<10} {rate:8.0f} sales/s ({stored} stored, hq serve --workers {workers}, "
            f"{busy} batches retried after 503 busy or a dropped connection)"
        )
    ratio = figures["ingest_postgresql"][0] / figures["ingest_sqlite"][0]
    print(f"  PostgreSQL / SQLite: {ratio:.2f}; target >= 2,000 sales/s on PostgreSQL")
    print(f"Heartbeats from {args.heartbeat_kiosks} kiosks (20 in flight):")
    for name in ("sqlite", "postgresql"):
        per_s, p50, p95 = figures[f"heartbeats_{name}"]
        print(f"  {name:<10} {per_s:8.0f} /s, p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
