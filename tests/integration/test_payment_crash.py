"""Kill the real kiosk mid-sale, over and over, and check that no money went astray.

The kiosk is ``payment_crash_driver.py``: each run is a real process that builds the kiosk with
``kiosk.bootstrap`` (the controller, the payment service, the WeChat Pay and Alipay adapters, the
SQLite store), lets the start-up recovery settle what the previous run left, and serves customers.
The gateway simulator runs here, in the test process, so its ledger survives every kill.

Two kinds of kill, so the test proves the same on an idle laptop and on a loaded 2-core CI machine:
- **at named crash points** (``KIOSK_CRASH_AT``, see ``kiosk.crashpoints``): the kiosk SIGKILLs itself
  exactly there, so every stage of a sale and of the recovery is hit, on purpose, at least
  ``MIN_HITS`` times: before and after the order is committed, before the pay call, after the gateway
  answered the pay call, before "paid" is committed, before the receipt, during a recovery query,
  during the wait for WeChat Pay's reverse window, and after the gateway answered a reverse;
- **at random times measured from the start of a payment** (the kiosk says when it shows a code).

The channels' timers run on a clock 200 times faster than real time, so WeChat Pay's 15 s reverse
window is honoured without starving the test. After the last kill one more run does only the
recovery, and then:
- every stage was hit at least ``MIN_HITS`` times and at least ``MIN_CHARGED`` trades were charged;
- every trade the gateway charged (and did not reverse) is recorded as paid, and vice versa;
- no order has more than one charge standing, and no code was charged twice;
- no payment and no order is left without a final answer, and every paid sale has its receipt.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.crashpoints import POINTS
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, Order, Payment
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator
from tests.integration.forking_driver import DriverProcess

DRIVER = Path(__file__).with_name("payment_crash_driver.py")
REPO = Path(__file__).resolve().parents[2]
MIN_HITS = 10
MIN_CHARGED = 100
#: each round walks a sale, and then the recovery of the payment it left open, through every stage
ROUND: list[tuple[str, str]] = [
    ("order_before_commit", "mixed"),
    ("order_committed", "mixed"),
    ("pay_before_call", "wechat"),  # leaves a WeChat Pay payment open that the pay call never reached
    ("recovery_query", "mixed"),  # ...whose recovery query is killed
    ("reverse_wait", "mixed"),  # ...then its wait for the 15 s reverse window
    ("reverse_answered", "mixed"),  # ...then its reverse, after the gateway reversed
    ("pay_answered", "mixed"),  # a charge the gateway answered, the answer unread
    ("paid_before_commit", "mixed"),  # its recovery (or a later sale) is killed before "paid" commits
    ("receipt_before_print", "mixed"),
]
#: the stages reached only while the start-up recovery settles the payment the round left open: the
#: first time is the one (a second query, wait or reverse of the same payment may never come)
RECOVERY_STAGES = frozenset({"recovery_query", "reverse_wait", "reverse_answered"})
ROUNDS = 11
RANDOM_KILLS = 30
#: a kill lands this long after the kiosk shows a code (real seconds; the charge takes a few ms to ~0.3 s)
RANDOM_DELAY_S = (0.0, 0.15)
LINE_TIMEOUT_S = 120.0


@pytest.fixture
def creds(tmp_path: Path) -> SimCredentials:
    return make_credentials(tmp_path / "keys")


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator.with_credentials(creds, password_delay_s=0.05) as running:
        yield running


def start_driver(workdir: Path, sim: GatewaySimulator, creds: SimCredentials) -> DriverProcess:
    """The driver process (payment_crash_driver.py), which forks one kiosk per run."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "KIOSK_LOG_LEVEL": "WARNING"}
    env.pop("KIOSK_CRASH_AT", None)
    return DriverProcess(DRIVER, [str(workdir), sim.url, str(creds.folder)], workdir, env, LINE_TIMEOUT_S)


def test_kills_at_every_stage_and_at_random_lose_no_sale_and_charge_nothing_twice(
    sim: GatewaySimulator, creds: SimCredentials, tmp_path: Path
) -> None:
    driver = start_driver(tmp_path, sim, creds)
    rng = random.Random(20261201)
    hits: Counter[str] = Counter()
    random_killed = 0
    run = 0
    try:
        plan = [
            (stage, channel, 1 if stage in RECOVERY_STAGES else rng.randint(1, 3))
            for _ in range(ROUNDS)
            for stage, channel in ROUND
        ]
        for stage, channel, nth in plan:
            run += 1
            driver.send(f"run {run} {stage}@{nth} {channel}")
            driver.until("pid ")
            end, seen = driver.until("exit ")
            status = int(end.split()[1])
            crashed = [line.split()[1] for line in seen if line.startswith("crashpoint ")]
            if crashed:
                assert crashed == [stage]
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
                hits[stage] += 1
            else:  # the stage was not reached this time (e.g. nothing left to recover): a clean end
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (
                    f"run {run} ({stage}@{nth}) ended with status {status}: {seen}\n{driver.log_tail()}"
                )
        for _ in range(RANDOM_KILLS):
            run += 1
            driver.send(f"run {run} - mixed")
            pid = int(driver.until("pid ")[0].split()[1])
            kill_on = rng.randint(1, 4)  # the customer whose payment the kill lands in (or after)
            line = ""
            for _ in range(kill_on):
                line, _ = driver.until("paying ", "exit ")
                if not line.startswith("paying "):
                    break
            if line.startswith("paying "):
                time.sleep(rng.uniform(*RANDOM_DELAY_S))  # the kill itself lands at a random time
                os.kill(pid, signal.SIGKILL)
                status = int(driver.until("exit ")[0].split()[1])
                assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
                random_killed += 1
            else:
                pytest.fail(f"run {run} ended before payment {kill_on}: {line}")
        driver.send("final")
        driver.until("pid ")
        report_line, _ = driver.until("{")
        report = json.loads(report_line)
        assert int(driver.until("exit ")[0].split()[1]) == 0
    finally:
        driver.close()

    assert report["unresolved"] == []
    ledger = requests.get(f"{sim.url}/v1/ledger", timeout=10).json()["entries"]
    net: dict[str, int] = {}
    code_of: dict[str, str] = {}
    for e in ledger:
        net[e["out_trade_no"]] = net.get(e["out_trade_no"], 0) + (1 if e["kind"] == "charge" else -1)
        code_of[e["out_trade_no"]] = e["code_sha256"]
    charged = {otn for otn, n in net.items() if n > 0}
    assert all(n in (0, 1) for n in net.values()), "a trade was charged twice"

    db = open_store(tmp_path / "data" / "kiosk.sqlite3")
    try:
        payments = list(Payment.select())
        paid = {p.out_trade_no for p in payments if p.status == "paid"}
        open_left = [p.out_trade_no for p in payments if p.status not in ("paid", "failed", "cancelled")]
        assert open_left == [], "payments left without a final answer"
        assert charged == paid, "the gateway's charges and the store's paid payments differ"
        orders_charged = [p.order_id for p in payments if p.out_trade_no in charged]
        assert len(orders_charged) == len(set(orders_charged)), "an order was charged twice"
        codes_charged = [code_of[otn] for otn in charged]
        assert len(codes_charged) == len(set(codes_charged)), "a code was charged twice"
        paid_orders = list(Order.select().where(Order.status == "paid"))
        assert {o.id for o in paid_orders} == set(orders_charged)
        assert Order.select().where(Order.status == "open").count() == 0, "orders left open"
        unprinted = [o.id for o in paid_orders if not o.receipt_printed]
        assert unprinted == [], "paid sales without a receipt"
        settled = Counter(a.action for a in AuditLog.select().where(AuditLog.action.startswith("recovered_")))
    finally:
        db.close()

    print(
        f"\ncrash test: {sum(hits.values())} kills at crash points ({dict(sorted(hits.items()))}), "
        f"{random_killed} at random times; {len(payments)} payments, {len(charged)} trades charged, "
        f"{len(ledger)} ledger entries; settled by start-up recovery: {dict(sorted(settled.items()))}"
    )
    assert {stage: hits[stage] for stage in POINTS} == {
        stage: max(hits[stage], MIN_HITS) for stage in POINTS
    }, f"every stage must be hit at least {MIN_HITS} times: {dict(hits)}"
    assert random_killed == RANDOM_KILLS
    assert len(charged) >= MIN_CHARGED, f"only {len(charged)} trades charged"
    assert sum(settled.values()) >= MIN_HITS, "too few payments were left for the recovery to settle"
