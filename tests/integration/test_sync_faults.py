"""2,000 sales through a network that breaks: HQ ends with each sale exactly once, the outbox empty.

A seeded proxy (tests/fakes/chaos_proxy.py) sits between the kiosk's real sync (outbox, pusher,
signed HTTP client) and a real HQ. It drops connections, delays them, resets them before and
after HQ acted, and cuts HQ's replies in half, so the kiosk often cannot tell whether HQ stored a
batch. It sends the batch again under the same event keys, and HQ's ledger answers the repeats
as duplicates. The link's backoff runs on an injected clock, so no pass waits.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from hq_fixtures import running_hq
from kiosk_enrolment import enrol_kiosk

from hq.catalog import seed_demo
from hq.db import connected
from hq.models import PaymentEvent, Sale, SyncEvent
from kiosk.store.db import open_store
from kiosk.store.models import OutboxEntry, database
from kiosk.store.sales import SaleStore
from kiosk.sync.credentials import load_credentials
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import CatalogPuller, LinkBackoff, OutboxPusher
from kiosk.sync.signed import HqSigner
from tests.fakes.chaos_proxy import ChaosProxy, Fault, FaultPlan
from tests.fakes.clock import SetTime

KIOSK = "kiosk-001"
SALES = 2000
#: small batches, so 2,000 sales take many requests and each fault kind strikes many times
BATCH = 25
MAX_PASSES = 2000

PLAN = FaultPlan(
    {
        Fault.DROP: 0.06,
        Fault.RESET_BEFORE_FORWARD: 0.06,
        Fault.RESET_AFTER_FORWARD: 0.12,
        Fault.HALF_REPLY_CLOSE: 0.08,
        Fault.HALF_REPLY_RESET: 0.08,
        Fault.DELAY_REQUEST: 0.05,
        Fault.DELAY_REPLY: 0.05,
    },
    delay_s=0.005,
)


def _sell(store: SaleStore, n: int) -> set[str]:
    """``n`` paid sales through the store's own calls, in one transaction (the store's events with them)."""
    product = store.products()[0]
    from kiosk.core.cart import Cart

    orders = set()
    with database.atomic():
        for i in range(n):
            order_id = store.open_order(Cart().add(product))
            pay = store.begin_payment(order_id, "wechat", "sim", f"13{i:016d}")
            store.record_paid(pay.out_trade_no, f"42{uuid.uuid4().hex[:12]}")
            orders.add(order_id)
    return orders


def test_every_sale_arrives_exactly_once_through_a_broken_network(hq_db_url: str, tmp_path: Path) -> None:
    with running_hq(hq_db_url) as hq:
        with connected():
            seed_demo()
        credentials = load_credentials(enrol_kiosk(hq, tmp_path / "kiosk", KIOSK))
        store = SaleStore(open_store(tmp_path / "kiosk" / "kiosk.sqlite3"), KIOSK)
        with ChaosProxy("127.0.0.1", hq.port, PLAN, seed=20261202) as proxy:
            client = HttpHqClient(proxy.url, HqSigner(credentials.kiosk_id, credentials.secret), timeout_s=30)
            try:
                for _attempt in range(50):  # the catalog, through the same broken network
                    if CatalogPuller(store, client).pull_once().error == "":
                        break
                orders = _sell(store, SALES)
                clock = SetTime(0.0)  # moves only when the test says, so backoff never makes a pass wait
                pusher = OutboxPusher(store, client, batch_size=BATCH, backoff=LinkBackoff(clock=clock))
                passes = 0
                while store.pending_count() and passes < MAX_PASSES:
                    pusher.push_once()
                    clock.now += 60.0  # past any backoff the last failure set
                    passes += 1
                stats = proxy.stats.snapshot()
            finally:
                client.close()
        assert store.pending_count() == 0, f"outbox not empty after {passes} passes; proxy: {stats}"
        assert store.parked() == [], "HQ rejected events that were only resent"
        assert OutboxEntry.select().where(OutboxEntry.state != "sent").count() == 0
        store.db.close()
        # the faults really struck, including the ones where HQ acted but the kiosk never heard
        assert proxy.stats.count(Fault.RESET_AFTER_FORWARD) >= 5, stats
        assert proxy.stats.count(Fault.HALF_REPLY_CLOSE) + proxy.stats.count(Fault.HALF_REPLY_RESET) >= 5, (
            stats
        )
        assert proxy.stats.count(Fault.DROP) + proxy.stats.count(Fault.RESET_BEFORE_FORWARD) >= 5, stats
        with connected():
            held = [row.order_id for row in Sale.select(Sale.order_id)]
            assert len(held) == SALES and set(held) == orders
            assert PaymentEvent.select().count() == SALES
            # one ledger row per event key, however many times a batch was sent
            keys = [row.key for row in SyncEvent.select(SyncEvent.key).where(SyncEvent.kiosk_id == KIOSK)]
            assert len(keys) == len(set(keys))
