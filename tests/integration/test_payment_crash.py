"""SIGKILL the kiosk at random points of a payment, 200 times, and check that no money went astray.

The gateway simulator runs here, in the test process, so its ledger survives every kill. The kiosk
is ``payment_crash_driver.py``: each run is a real process (forked from an already-imported parent
so a start costs milliseconds) that first settles what the previous one left open — the start-up
recovery — and then charges fresh codes, over the real WeChat Pay and Alipay protocols, until it is
SIGKILLed 10-100 ms in: before the order, between the order and the pay call, while the gateway
thinks, before "paid" is committed, during a recovery.

After the last kill one more run does only the recovery, and then:
- every trade the gateway charged (and did not reverse) is recorded as paid, and vice versa;
- no order has more than one charge standing, and no code was charged twice;
- no payment is left without a final answer.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kiosk.store.db import open_store
from kiosk.store.models import AuditLog, Order, Payment
from paysim.credentials import SimCredentials, make_credentials
from paysim.server import GatewaySimulator

KILLS = 200
DRIVER = Path(__file__).with_name("payment_crash_driver.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def creds(tmp_path: Path) -> SimCredentials:
    return make_credentials(tmp_path / "keys")


@pytest.fixture
def sim(creds: SimCredentials) -> Iterator[GatewaySimulator]:
    with GatewaySimulator(
        password_delay_s=0.05, wechat=creds.wechat_sim(), alipay=creds.alipay_sim()
    ) as running:
        yield running


def _line(proc: subprocess.Popen[str], prefix: str, timeout_s: float = 20.0) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"driver ended early (exit {proc.poll()})")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no {prefix!r} line within {timeout_s} s")


def test_200_sigkills_lose_no_sale_and_charge_nothing_twice(
    sim: GatewaySimulator, creds: SimCredentials, tmp_path: Path
) -> None:
    store_path = tmp_path / "kiosk.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO), "KIOSK_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, str(DRIVER), str(store_path), sim.url, str(creds.folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.stdin is not None
    rng = random.Random(20261124)
    killed = 0
    try:
        for run in range(1, KILLS + 1):
            proc.stdin.write(f"run {run}\n")
            proc.stdin.flush()
            pid = int(_line(proc, "pid "))
            time.sleep(rng.uniform(0.01, 0.1))
            os.kill(pid, signal.SIGKILL)
            status = int(_line(proc, "exit "))
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                killed += 1
        proc.stdin.write("final\n")
        proc.stdin.flush()
        _line(proc, "pid ")
        report = json.loads("{" + _line(proc, "{", timeout_s=60))
        assert int(_line(proc, "exit ")) == 0
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    assert killed == KILLS, "every run must have been killed by SIGKILL, not ended by itself"
    assert report["unresolved"] == []

    ledger = requests.get(f"{sim.url}/v1/ledger", timeout=5).json()["entries"]
    net: dict[str, int] = {}
    code_of: dict[str, str] = {}
    for e in ledger:
        net[e["out_trade_no"]] = net.get(e["out_trade_no"], 0) + (1 if e["kind"] == "charge" else -1)
        code_of[e["out_trade_no"]] = e["code_sha256"]
    charged = {otn for otn, n in net.items() if n > 0}
    assert all(n in (0, 1) for n in net.values()), "a trade was charged twice"

    db = open_store(store_path)
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
        assert {o.id for o in Order.select().where(Order.status == "paid")} == set(orders_charged)
        statuses = sorted({p.status for p in payments})
        recovered = AuditLog.select().where(AuditLog.action.startswith("recovered_")).count()
        print(
            f"\ncrash test: {killed} SIGKILLs, {len(payments)} payments ({statuses}), "
            f"{len(charged)} charged, {len(ledger)} ledger entries, {recovered} payments settled by start-up recovery"
        )
        # the kills must have landed at many points: some runs got charges through, some did not
        assert len(charged) >= 20
        assert len(payments) > len(charged)
        assert recovered >= 10, "too few kills landed inside a payment to test recovery"
    finally:
        db.close()
