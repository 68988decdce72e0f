"""The kiosk side of the SIGKILL crash test: a charge loop that the test kills at random moments.

Run as ``python payment_crash_driver.py STORE SIM_URL CREDS_DIR``. It imports everything once and
then waits for lines on stdin:

``run N``    fork a child that settles what earlier children left open (the start-up recovery), then
             charges one fresh payment code after another until it is killed; print ``pid <PID>``,
             then ``exit <STATUS>`` when the child is gone
``final``    fork a child that only runs the recovery, then prints its report as JSON and exits 0
``quit``     stop

Forking from an already-imported parent makes each "kiosk start" cost milliseconds instead of a
Python start-up, so 200 real SIGKILLs of a process holding the SQLite store open fit in seconds.
The child opens the store and the HTTP sessions itself, after the fork.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from kiosk.core.cart import Cart, Product
from kiosk.core.payment import ChannelRules
from kiosk.payments import engine, service
from kiosk.payments.alipay import AlipayBarcodeGateway, AlipayCredentials
from kiosk.payments.routing import ChannelRouter
from kiosk.payments.wechat import WechatCredentials, WechatMicropayGateway
from kiosk.ports import ChargeRequest, ChargeStatus, PaymentGateway
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, load_credentials

PRODUCT = Product("SKU1", "水", "water", 150)
SUFFIXES = ["1234"] * 6 + ["9001", "9001", "9002", "9005", "9006"]


def fast_rules(channel: str) -> ChannelRules:
    return ChannelRules(
        channel,
        query_interval_s=0.02,
        give_up_after_s=0.4,
        cancel_retry_interval_s=0.02,
        cancel_window_s=0.5,
    )


def build(store: SaleStore, url: str, creds_dir: Path) -> PaymentGateway:
    creds = load_credentials(creds_dir)
    wx = WechatMicropayGateway(url, WechatCredentials(WECHAT_APPID, WECHAT_MCH_ID, creds.wechat_api_key), 2.0)
    ali = AlipayBarcodeGateway(
        url,
        AlipayCredentials.from_files(ALIPAY_APP_ID, creds.app_private_key_file, creds.alipay_public_key_file),
        2.0,
    )
    return ChannelRouter({"wechat": wx, "alipay": ali}, store.payment_channel)


def child(run: int, store_path: Path, url: str, creds_dir: Path, final: bool) -> None:
    store = SaleStore(open_store(store_path), "crash-kiosk")
    gateway = build(store, url, creds_dir)
    report = service.recover(store, gateway, rules_for_channel=fast_rules)
    if final:
        print(json.dumps({"resolved": report.resolved, "unresolved": report.unresolved}), flush=True)
        return
    rng = random.Random(run)
    for n in range(1, 10_000):
        channel = rng.choice(("wechat", "alipay"))
        middle = f"{run:04d}{n:06d}"
        code = (
            f"13{middle}00{rng.choice(SUFFIXES)}"
            if channel == "wechat"
            else f"28{middle}{rng.choice(SUFFIXES)}"
        )
        order_id = store.open_order(Cart().add(PRODUCT, rng.randint(1, 3)))
        out_trade_no, amount = store.begin_payment(order_id, channel, gateway.name, code)
        rules = fast_rules(channel)

        def on_state(state: object, reason: str, otn: str = out_trade_no) -> None:
            store.update_payment(otn, str(state), reason)

        result = engine.charge(
            gateway,
            ChargeRequest(out_trade_no, channel, code, amount, "crash"),
            rules,
            time.monotonic,
            time.sleep,
            on_state,
        )
        if result.status is ChargeStatus.PAID:
            store.record_paid(out_trade_no, result.transaction_id)
        elif result.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED):
            store.update_payment(out_trade_no, result.status.value, result.reason)
            store.cancel_order(order_id)
        else:
            store.update_payment(out_trade_no, "unknown", result.reason)


def main() -> int:
    store_path, url, creds_dir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return 0
        final = words[0] == "final"
        run = int(words[1]) if len(words) > 1 else 0
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(run, store_path, url, creds_dir, final)
            except BaseException as exc:  # a child must never return into the parent's loop
                print(f"error {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                code = 3
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
