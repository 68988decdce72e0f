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
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from _private import private_files  # bench/ is the script's folder, so on sys.path

from hq.db import connected, open_database
from hq.devices import add_store, enrol_device
from hq.identity import load_or_create_key
from kiosk.core.cart import Cart
from kiosk.ports import CatalogItem, CatalogUpdate
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import CatalogPuller, OutboxPusher
from kiosk.sync.signed import HqSigner
from kiosk_common.codes import gtin_check_digit

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


def ean13(n: int) -> str:
    body = f"690{n:09d}"
    return body + str(gtin_check_digit(body))


def kiosk_store(folder: Path, kiosk_id: str) -> SaleStore:
    folder.mkdir(parents=True, exist_ok=True)
    return SaleStore(open_store(folder / "kiosk.sqlite3"), kiosk_id)


def upload_queued(hq: Hq, folder: Path, sales: int) -> tuple[float, int, int]:
    """(seconds, requests, events) for one kiosk's real pusher to send ``sales`` queued sales (each
    with its payment event) to HQ, from the first request to an empty outbox."""
    [signer] = enrol_many(hq.db_url, hq.identity, [f"upload-{folder.name}"])
    store = kiosk_store(folder, signer.kiosk_id)
    client = HttpHqClient(hq.url, signer, timeout_s=120)
    try:
        item = CatalogItem("D001", "矿泉水", "Water", 200, ean13(1), "drinks")
        store.apply_catalog(CatalogUpdate("snapshot", 0, 1, (item,), {}))
        product = store.products()[0]
        with store.db.atomic():  # queued while HQ was away: the kiosk's own calls, one transaction
            for i in range(sales):
                order_id = store.open_order(Cart().add(product))
                payment = store.begin_payment(order_id, "wechat", "sim", f"13{i:016d}")
                store.record_paid(payment.out_trade_no, f"42{i:010d}")
        events = store.pending_count()
        pusher = OutboxPusher(store, client)
        requests_sent = 0
        start = time.perf_counter()
        while store.pending_count() and requests_sent < 1000:
            report = pusher.push_once(ignore_backoff=True)
            requests_sent += max(1, -(-(report.pushed + report.parked) // pusher.batch_size))
        elapsed = time.perf_counter() - start
        if store.pending_count():
            raise RuntimeError(f"{store.pending_count()} events still queued")
        return elapsed, requests_sent, events
    finally:
        client.close()
        store.db.close()


def first_catalog_sync(hq: Hq, folder: Path, products: int) -> dict[str, Any]:
    """Import ``products`` at HQ with ``hq catalog import``, then time a new kiosk's first pull
    (download and apply, one snapshot) and its catalog search."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "products.csv"
    with csv_path.open("w", encoding="utf-8") as fh:
        fh.write("sku,name_zh,name_en,price_fen,barcode,category\n")
        zh = ["水", "可乐", "茶", "薯片", "饼干", "巧克力", "纸巾", "电池", "牛奶", "面包"]
        en = ["water", "cola", "tea", "chips", "cookies"]
        for i in range(products):
            fh.write(f"P{i:06d},{zh[i % 10]} {i},Item {i} {en[i % 5]},{100 + i % 900},{ean13(i)},c{i % 20}\n")
    env = {**os.environ, "HQ_AUTH__IDENTITY_FILE": str(hq.identity)}
    start = time.perf_counter()
    subprocess.run(
        [HQ, "catalog", "import", str(csv_path), "--db", hq.db_url],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import_s = time.perf_counter() - start
    [signer] = enrol_many(hq.db_url, hq.identity, [f"catalog-{folder.name}"])
    store = kiosk_store(folder / "kiosk", signer.kiosk_id)
    client = HttpHqClient(hq.url, signer, timeout_s=300)
    try:
        start = time.perf_counter()
        report = CatalogPuller(store, client).pull_once()
        pull_s = time.perf_counter() - start
        if report.error or report.pulled < products:
            raise RuntimeError(f"first pull got {report.pulled} products: {report.error}")
        searches: dict[str, tuple[float, float, int]] = {}
        for label, query in (
            ("name zh", "巧克力"),
            ("name en", "cookies"),
            ("sku", "P0012"),
            ("barcode", "0001234"),
        ):
            samples = []
            found = 0
            for _ in range(50):
                t0 = time.perf_counter()
                found = len(store.search_products(query, 20))
                samples.append((time.perf_counter() - t0) * 1000)
            samples.sort()
            searches[label] = (statistics.median(samples), samples[int(len(samples) * 0.95) - 1], found)
        return {"import_s": import_s, "pull_s": pull_s, "pulled": report.pulled, "search": searches}
    finally:
        client.close()
        store.db.close()


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
    parser.add_argument("--queued-sales", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=50_000)
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
                figures[f"upload_{name}"] = upload_queued(hq, folder / f"upload-{name}", args.queued_sales)
                figures[f"catalog_{name}"] = first_catalog_sync(hq, folder / f"catalog-{name}", args.products)
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
    print(f"One kiosk uploading {args.queued_sales} queued sales (real outbox and pusher, batches of 500):")
    for name in ("sqlite", "postgresql"):
        seconds, sent, events = figures[f"upload_{name}"]
        print(f"  {name:<10} {seconds:6.2f} s ({events} events: sales and their payments; {sent} requests)")
    print("  target <= 10 s")
    print(
        f"First catalog sync of {args.products} products to a new kiosk (download and apply, one snapshot):"
    )
    for name in ("sqlite", "postgresql"):
        c = figures[f"catalog_{name}"]
        print(
            f"  {name:<10} {c['pull_s']:6.2f} s for {c['pulled']} products (hq catalog import took {c['import_s']:.1f} s)"
        )
    c = figures["catalog_sqlite"]
    print(f"Kiosk catalog search over {c['pulled']} products (20 results at most, 50 tries each):")
    for label, (p50, p95, found) in c["search"].items():
        print(f"  {label:<8} p50 {p50:6.2f} ms, p95 {p95:6.2f} ms ({found} found)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
