"""Checkout latency of the payment step, p50/p95, over the real WeChat Pay and Alipay protocols.

One "checkout" here is what the kiosk does between a scanned code and "paid" committed, through the
one function production charges with (``kiosk.payments.service.charge_order``): open the order
(SQLite, synchronous=FULL), commit the payment attempt, sign and send the pay request, verify the
signed reply, commit payment + order + outbox in one transaction. The gateway is the local
simulator with 0 ms and then 200 ms of added latency per answer; the difference shows how much of
the time is ours. Password-free codes only (a password is the customer's time, not ours).

    .venv/bin/python bench/payments.py [--orders 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _private import private_files, write_private  # bench/ is the script's folder, so on sys.path

from kiosk.bootstrap import build_payment_gateway, build_store
from kiosk.core.cart import Cart, Product
from kiosk.payments.service import charge_order
from kiosk.ports import ChargeStatus
from kiosk.settings import load_settings
from paysim.credentials import make_credentials
from paysim.server import GatewaySimulator


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(orders: int, latency_ms: int, folder: Path) -> dict[str, object]:
    """Measure ``orders`` checkouts; every file goes into ``folder``, readable by its owner only."""
    with private_files():
        return _run(orders, latency_ms, folder)


def _run(orders: int, latency_ms: int, folder: Path) -> dict[str, object]:
    creds = make_credentials(folder / f"keys{latency_ms}")
    with GatewaySimulator.with_credentials(creds, latency_s=latency_ms / 1000) as sim:
        config = folder / f"kiosk{latency_ms}.toml"
        write_private(  # it holds the WeChat Pay API key: the kiosk refuses it readable by others
            config, creds.kiosk_toml(sim.url) + f'\n[kiosk]\ndata_dir = "{folder / f"data{latency_ms}"}"\n'
        )
        settings = load_settings(config, environ={})
        store = build_store(settings)
        gateway = build_payment_gateway(settings, store)
        product = Product("B1", "水", "water", 150)
        by_channel: dict[str, list[float]] = {"wechat": [], "alipay": []}
        for n in range(orders):
            channel = "wechat" if n % 2 == 0 else "alipay"
            code = (
                f"13{latency_ms:04d}{n:08d}1234" if channel == "wechat" else f"28{latency_ms:04d}{n:06d}1234"
            )
            started = time.perf_counter()
            order_id = store.open_order(Cart().add(product))
            result = charge_order(store, gateway, order_id, channel, code, "bench")
            if result.status is not ChargeStatus.PAID or not result.recorded:
                raise SystemExit(f"bench charge {result.out_trade_no} ended {result.status}: {result.reason}")
            by_channel[channel].append(time.perf_counter() - started)
        store.db.close()
    figures: dict[str, object] = {"latency_ms": latency_ms, "orders": orders}
    for channel, times in by_channel.items():
        figures[f"{channel}_p50_ms"] = round(statistics.median(times) * 1000, 1)
        figures[f"{channel}_p95_ms"] = round(_percentile(times, 0.95) * 1000, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--orders", type=int, default=100, help="checkouts per latency setting (half per channel)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for latency_ms in (0, 200):
            figures = run(args.orders, latency_ms, Path(tmp))
            print(json.dumps({"bench": "payment_checkout", **figures}))
            print(
                f"gateway latency {latency_ms} ms: WeChat Pay p50 {figures['wechat_p50_ms']} ms "
                f"p95 {figures['wechat_p95_ms']} ms; Alipay p50 {figures['alipay_p50_ms']} ms "
                f"p95 {figures['alipay_p95_ms']} ms",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
