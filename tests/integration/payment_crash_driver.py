"""The kiosk side of the crash test: the real kiosk, built by ``kiosk.bootstrap`` as ``kiosk run`` builds
it, serving scripted customers until it is killed.

Run as ``python payment_crash_driver.py WORKDIR SIM_URL CREDS_DIR``. It imports everything once and then
reads commands from stdin, one per line:

``run N SPEC CHANNEL``  fork a kiosk process. It starts (the start-up recovery settles what earlier
                        processes left open), then serves up to a few customers paying with CHANNEL
                        codes (wechat, alipay or mixed). SPEC is a crash point such as
                        ``pay_answered@2`` (``KIOSK_CRASH_AT``): the kiosk kills itself there with
                        SIGKILL and says ``crashpoint NAME`` first (and ends normally if it never gets
                        there). SPEC ``-`` arms nothing: the test kills the kiosk itself, at a random
                        time after a ``paying N`` line (said before each code is shown); a kiosk that
                        served all its customers first waits to be killed.
``final``               fork a kiosk that only starts (recovery) and prints its report as one JSON line
``quit``                stop

The driver prints ``pid PID`` after each fork and ``exit STATUS`` when the child is gone. Forking from an
already-warmed parent (it builds and stops one kiosk first, so every lazy import is done) makes each
kiosk start cost about a tenth of a second instead of a Python start-up, so well over a hundred real
kills fit in a test. The child builds everything itself, after the fork.

The payment channels' timers run on a clock 200 times faster than real time (``ScaledClock``): WeChat
Pay's 15 s reverse window is honoured to the second on the kiosk's clock, and costs 75 ms.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from drivers.camera.sources import HeldImageSource
from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk import crashpoints
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.controller import wait_until
from kiosk.core import checkout as co
from kiosk.ports import CatalogItem, Decoded
from kiosk.settings import load_settings
from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID, load_credentials
from tests.fakes.clock import ScaledClock
from tests.integration import forking_driver
from tests.integration.forking_driver import say

SPEED = 200.0
CATALOG = [
    CatalogItem("D001", "矿泉水", "Water", 150, "6901234560015", "drinks"),
    CatalogItem("D002", "可乐", "Cola", 350, "6901234560022", "drinks"),
]
#: the last four digits choose what the simulated customer does (paysim.bank): mostly a plain payment
SUFFIXES = ["1234"] * 8 + ["9001", "9001", "9002", "9005", "9006"]
CUSTOMERS_PER_RUN = 5


def build(workdir: Path, url: str, creds_dir: Path) -> Kiosk:
    creds = load_credentials(creds_dir)
    environ = {
        "KIOSK_KIOSK__ID": "crash-kiosk",
        "KIOSK_KIOSK__DATA_DIR": str(workdir / "data"),
        "KIOSK_KIOSK__STOP_TIMEOUT_S": "1",
        "KIOSK_HQ__URL": "http://127.0.0.1:9",  # HQ is away: the kiosk sells from its local catalog
        "KIOSK_HQ__TIMEOUT_S": "0.2",
        "KIOSK_HQ__SYNC_INTERVAL_S": "3600",
        "KIOSK_PAYMENTS__GATEWAY": "wechat+alipay",
        "KIOSK_PAYMENTS__WECHAT__GATEWAY_URL": url,
        "KIOSK_PAYMENTS__WECHAT__APPID": WECHAT_APPID,
        "KIOSK_PAYMENTS__WECHAT__MCH_ID": WECHAT_MCH_ID,
        "KIOSK_PAYMENTS__WECHAT__API_KEY": creds.wechat_api_key,
        "KIOSK_PAYMENTS__WECHAT__TIMEOUT_S": "5",
        "KIOSK_PAYMENTS__ALIPAY__GATEWAY_URL": url,
        "KIOSK_PAYMENTS__ALIPAY__APP_ID": ALIPAY_APP_ID,
        "KIOSK_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_FILE": str(creds.app_private_key_file),
        "KIOSK_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY_FILE": str(creds.alipay_public_key_file),
        "KIOSK_PAYMENTS__ALIPAY__TIMEOUT_S": "5",
        "KIOSK_PRINTER__TRANSPORT": "none",
        "KIOSK_GPIO__ENABLED": "false",
    }
    settings = load_settings(environ=environ)
    overrides = Overrides(
        source=HeldImageSource(settings.camera.width, settings.camera.height),
        printer=FileReceiptPrinter(workdir / "receipts"),
        indicators=NullIndicators(),
        clock=ScaledClock(SPEED),
    )
    kiosk = build_kiosk(settings, overrides=overrides)
    kiosk.store.replace_catalog(CATALOG)
    kiosk.controller.refresh_catalog()
    return kiosk


def start(kiosk: Kiosk) -> None:
    kiosk.start()
    c = kiosk.controller
    if not wait_until(c, lambda: c.state.phase is not co.Phase.RECOVERING, 120):
        raise RuntimeError("start-up recovery did not finish within 120 s")
    # receipts of sales found paid are printed by the worker; let them out before selling
    if not wait_until(c, lambda: not c.busy(), 60):
        raise RuntimeError("receipts after recovery did not print within 60 s")


def code_for(channel: str, run: int, n: int, rng: random.Random) -> str:
    middle = f"{run:05d}{n:05d}"
    suffix = rng.choice(SUFFIXES)
    if channel == "wechat":
        return f"13{middle}00{suffix}"
    return f"28{middle}{suffix}"


def serve(kiosk: Kiosk, run: int, channel: str) -> None:
    c = kiosk.controller
    rng = random.Random(run)
    for n in range(1, CUSTOMERS_PER_RUN + 1):
        c.dispatch(co.StartTapped())
        c.dispatch(co.ProductTapped(rng.choice(c.catalog())))
        c.dispatch(co.PayTapped())
        if not wait_until(
            c,
            lambda: c.state.order_id is not None or c.state.phase not in (co.Phase.CART, co.Phase.PAYING),
            30,
        ):
            raise RuntimeError("the order was not opened")
        if c.state.phase is not co.Phase.PAYING:
            raise RuntimeError(f"pay did not open an order: {c.state}")
        pay_with = channel if channel != "mixed" else rng.choice(("wechat", "alipay"))
        say(f"paying {n}")
        c.handle_codes([Decoded("QRCode", code_for(pay_with, run, n, rng))])
        ended = wait_until(
            c,
            lambda: (
                c.state.phase in (co.Phase.DONE, co.Phase.NEEDS_HELP)
                or (not c.state.charging and c.state.notice is co.Notice.PAYMENT_DECLINED)
            ),
            120,
        )
        if not ended:
            raise RuntimeError(f"the payment did not end: {c.state}")
        if c.state.phase is co.Phase.PAYING:
            c.dispatch(co.CancelTapped())  # declined: the customer gives up
            c.dispatch(co.CancelTapped())
        elif c.state.phase is co.Phase.NEEDS_HELP:
            c.dispatch(co.StaffResolved())
        else:
            c.dispatch(co.TimedOut())
        if not wait_until(c, lambda: not c.busy(), 60):
            raise RuntimeError("the receipt did not print")


def child(command: list[str], workdir: Path, url: str, creds_dir: Path) -> None:
    if command[0] == "run":
        run, spec, channel = int(command[1]), command[2], command[3]
        if spec != "-":
            os.environ[crashpoints.ENV_VAR] = spec
            os.environ[crashpoints.ENV_REPORT_FD] = "1"
        kiosk = build(workdir, url, creds_dir)
        start(kiosk)
        serve(kiosk, run, channel)
        if spec == "-":
            time.sleep(600)  # the test kills it; bounded in case the test is gone
        kiosk.stop()
        return
    kiosk = build(workdir, url, creds_dir)
    start(kiosk)
    report = kiosk.controller.recovery
    assert report is not None
    say(json.dumps({"resolved": report.resolved, "unresolved": report.unresolved}))
    kiosk.stop()


def warm_up(workdir: Path, url: str, creds_dir: Path) -> None:
    """Build and stop one kiosk in a folder of its own, so the children inherit every import."""
    kiosk = build(workdir / "warm-up", url, creds_dir)
    kiosk.stop()


def main() -> int:
    workdir, url, creds_dir = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    warm_up(workdir, url, creds_dir)
    return forking_driver.serve(lambda words: child(words, workdir, url, creds_dir))


if __name__ == "__main__":
    raise SystemExit(main())
