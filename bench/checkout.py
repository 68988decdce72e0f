"""Scan-to-receipt time of a password-free payment, through the whole appliance on this machine.

From the moment a payment code is held up to the camera until the receipt has been printed and the
done screen is reached: camera thread + decoder, the order and payment commits (SQLite, FULL sync),
the gateway simulator on 127.0.0.1 (no added latency), the ESC/POS driver writing to the printer
emulator over a pseudo-terminal (no baud-rate throttling). The brief's target: p95 <= 1 s.

    .venv/bin/python bench/checkout.py [--orders 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _private import private_files  # bench/ is the script's folder, so on sys.path

from kiosk.demo import _scripted, demo_environment, demo_services


def measure(orders: int, out: Path) -> dict[str, Any]:
    """Serve ``orders`` scripted customers; HQ, the store and receipts go into ``out``, owner-only."""
    with private_files(), demo_services(out) as services:
        env = demo_environment(services, out / "data")
        run = argparse.Namespace(orders=orders, config=None)
        summary: dict[str, Any] = _scripted(run, env, out, services)
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        summary = measure(args.orders, Path(tmp))
    print(json.dumps({"bench": "scan_to_receipt", **summary}))
    print(
        f"scan-to-receipt over {args.orders} orders: median {summary['p50_s'] * 1000:.0f} ms, "
        f"p95 {summary['p95_s'] * 1000:.0f} ms (target p95 <= 1000 ms)"
    )
    return 0 if summary["paid"] == args.orders else 1


if __name__ == "__main__":
    raise SystemExit(main())
