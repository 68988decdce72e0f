"""``kiosk demo``: the whole appliance on one machine, on the embedded defaults.

HQ runs on loopback with its own SQLite file and a demo catalog; the gateway simulator speaks the real
WeChat Pay and Alipay protocols with keys generated for this run, and the kiosk is set up with
``payments.gateway = "wechat+alipay"`` against it, so the demo charges exactly as a commissioned kiosk
does (the simulator approves, or, by the code's last digits, asks for a password or declines); a
printer emulator sits on the far end of
a pseudo-terminal so the real ESC/POS driver prints to it, and the camera is fed fresh payment-code
pictures. With a screen the touch UI opens; without one (or with ``--headless``) scripted customers
run through the same controller, store, drivers and HQ, and a screenshot tour under Xvfb records
each screen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.core import checkout as co
from kiosk.demo_output import DemoOutputError, prepare_output

log = logging.getLogger(__name__)

DEMO_KIOSK_ID = "kiosk-demo"


DEMO_STORE = "demo"


class DemoSetupError(RuntimeError):
    """The demo cannot start as asked (e.g. not enrolled at the external HQ); the text says what to do."""


@dataclass(slots=True)
class DemoServices:
    hq_url: str
    #: the HQ credentials the demo kiosk signs with (its own file for the demo's HQ; the enrolled
    #: kiosk's for an external HQ)
    credentials_file: Path
    kiosk_id: str
    paysim_url: str
    printer_device: str
    #: the demo's own HQ database; None when the sales go to an external HQ
    hq_db_url: str | None
    #: the simulator's keys for this run (paysim.credentials.SimCredentials)
    paysim_credentials: Any


def _local_hq(out: Path, stack: contextlib.ExitStack) -> tuple[str, Path, str]:
    """Start the demo's own HQ with the demo catalog, and enrol the demo kiosk there the way an
    installer does: a store and a one-time code made at HQ, the code redeemed over HTTP."""
    from hq.app import create_app
    from hq.background import BackgroundServer
    from hq.catalog import seed_demo
    from hq.db import connected, open_database
    from hq.devices import add_store
    from hq.enrolment import make_code
    from kiosk.sync.enrolment import enrol

    hq_db_url = f"sqlite:///{(out / 'hq.sqlite3').resolve()}"
    open_database(hq_db_url)
    with connected():
        add_store(DEMO_STORE, "示范便利店 Demo Store")
        code = make_code(DEMO_STORE, DEMO_KIOSK_ID).code
        seed_demo()
    server = BackgroundServer(create_app(hq_db_url), name="demo-hq").start()
    stack.callback(server.stop)
    url = f"http://127.0.0.1:{server.port}"
    credentials = out / "data" / "hq-credentials.json"
    enrol(code, url, DEMO_KIOSK_ID, credentials, "en", replace=True)
    return url, credentials, hq_db_url


@dataclass(frozen=True, slots=True)
class ExternalHq:
    url: str
    credentials_file: Path
    kiosk_id: str


def external_hq(config: Path | None, hq_url: str) -> ExternalHq:
    """The HQ at ``hq_url`` with the credentials this kiosk is enrolled there with (kiosk enroll);
    DemoSetupError when it is not enrolled there."""
    from kiosk.settings import load_settings
    from kiosk.sync.credentials import CredentialsError, load_credentials, same_hq

    settings = load_settings(config)
    path = settings.hq_credentials_path
    try:
        creds = load_credentials(path)
    except CredentialsError as exc:
        raise DemoSetupError(f"--hq {hq_url}: {exc}") from None
    if not same_hq(creds.hq_url, hq_url):
        raise DemoSetupError(
            f"--hq {hq_url}: this kiosk is enrolled at {creds.hq_url} ({path}), not there; enrol it first: "
            f"kiosk enroll CODE --hq {hq_url} --replace"
        )
    return ExternalHq(hq_url.rstrip("/"), path.resolve(), creds.kiosk_id)


@contextlib.contextmanager
def demo_services(out: Path, external: ExternalHq | None = None) -> Iterator[DemoServices]:
    """Start HQ (unless the sales go to an ``external`` one), the gateway simulator and the printer
    emulator."""
    from paysim.credentials import make_credentials
    from paysim.server import GatewaySimulator
    from printer_emulator.emulator import PrinterEmulator

    with contextlib.ExitStack() as stack:
        hq_db_url: str | None = None
        if external is None:
            url, credentials, hq_db_url = _local_hq(out, stack)
            kiosk_id = DEMO_KIOSK_ID
        else:
            url, credentials, kiosk_id = external.url, external.credentials_file, external.kiosk_id
        creds = make_credentials(out / "paysim-keys")
        sim = GatewaySimulator.with_credentials(creds, password_delay_s=1.0)
        sim.start()
        stack.callback(sim.stop)
        emulator = PrinterEmulator(encoding="gb18030")
        emulator.start()
        stack.callback(emulator.stop)
        stack.callback(lambda: _save_receipts(emulator, out / "receipts"))
        yield DemoServices(url, credentials, kiosk_id, sim.url, emulator.device_path, hq_db_url, creds)


def _save_receipts(emulator: Any, folder: Path) -> None:
    from printer_emulator.emulator import render_png

    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(emulator.receipts, start=1):
        (folder / f"receipt-{i:04d}.txt").write_text(text, encoding="utf-8")
    if emulator.receipts:
        render_png(emulator.receipts[0], folder / "receipt-0001.png")


def demo_environment(services: DemoServices, data_dir: Path) -> dict[str, str]:
    """The KIOSK_* settings that point a kiosk at the demo's services: both real payment protocols
    against the simulator, with the keys generated for this run."""
    from paysim.credentials import ALIPAY_APP_ID, WECHAT_APPID, WECHAT_MCH_ID

    creds = services.paysim_credentials
    return {
        "KIOSK_KIOSK__ID": services.kiosk_id,
        "KIOSK_KIOSK__DATA_DIR": str(data_dir),
        "KIOSK_KIOSK__STORE_NAME": "示范便利店 Demo Store",
        # the demo runs wherever it is started, synced or not: its payments go to the simulator
        "KIOSK_KIOSK__REQUIRE_TIME_SYNC": "no",
        "KIOSK_HQ__URL": services.hq_url,
        "KIOSK_HQ__CREDENTIALS_FILE": str(services.credentials_file),
        "KIOSK_HQ__SYNC_INTERVAL_S": "1",
        "KIOSK_PAYMENTS__GATEWAY": "wechat+alipay",
        "KIOSK_PAYMENTS__POLL_INTERVAL_S": "2",
        "KIOSK_PAYMENTS__WECHAT__GATEWAY_URL": services.paysim_url,
        "KIOSK_PAYMENTS__WECHAT__APPID": WECHAT_APPID,
        "KIOSK_PAYMENTS__WECHAT__MCH_ID": WECHAT_MCH_ID,
        "KIOSK_PAYMENTS__WECHAT__API_KEY": creds.wechat_api_key,
        "KIOSK_PAYMENTS__WECHAT__SIGN_TYPE": creds.sign_type,
        "KIOSK_PAYMENTS__ALIPAY__GATEWAY_URL": services.paysim_url,
        "KIOSK_PAYMENTS__ALIPAY__APP_ID": ALIPAY_APP_ID,
        "KIOSK_PAYMENTS__ALIPAY__APP_PRIVATE_KEY_FILE": str(creds.app_private_key_file),
        "KIOSK_PAYMENTS__ALIPAY__ALIPAY_PUBLIC_KEY_FILE": str(creds.alipay_public_key_file),
        "KIOSK_PRINTER__TRANSPORT": "serial",
        "KIOSK_PRINTER__DEVICE": services.printer_device,
        "KIOSK_GPIO__PIN_FACTORY": "mock",
        "KIOSK_UI__FULLSCREEN": "false",
        "KIOSK_UI__DEMO_BUTTONS": "true",
    }


def _has_screen() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_demo(args: argparse.Namespace) -> int:
    if not 1 <= args.orders <= 10_000:
        print("kiosk demo: --orders must be between 1 and 10000", file=sys.stderr)
        return 2
    if args.snapshot_tour:
        return _snapshot_tour_child(args)
    out: Path = args.out.resolve()
    try:
        prepare_output(out)  # clears only what an earlier demo wrote there, never the user's files
    except DemoOutputError as exc:
        print(f"kiosk demo: {exc}", file=sys.stderr)
        return 2
    headless = args.headless or not _has_screen()
    external: ExternalHq | None = None
    if args.hq is not None:
        try:
            external = external_hq(args.config, args.hq)
        except DemoSetupError as exc:
            print(f"kiosk demo: {exc}", file=sys.stderr)
            return 2
    with demo_services(out, external) as services:
        env = demo_environment(services, out / "data")
        if headless:
            summary = _scripted(args, env, out, services)
            if not args.no_screenshots:
                summary["screenshots"] = _screenshot_tour(args, env, out)
        else:
            return _interactive(args, env)
    shots = summary.pop("screenshots", None)
    print(json.dumps(summary), flush=True)
    if shots is not None and not shots:
        print("kiosk demo: the screenshot tour failed; see the log above", file=sys.stderr)
        return 1
    return 0 if summary["paid"] == summary["orders"] == summary["printed"] == summary["synced"] else 1


def _settings(args: argparse.Namespace, env: dict[str, str]) -> Any:
    from kiosk.settings import load_settings

    return load_settings(args.config, environ={**os.environ, **env})


def _scripted(
    args: argparse.Namespace, env: dict[str, str], out: Path, services: DemoServices
) -> dict[str, Any]:
    """Serve ``args.orders`` scripted customers through the real controller, store, drivers and HQ."""
    from drivers.camera.sources import HeldImageSource
    from kiosk.bootstrap import Overrides, build_kiosk
    from kiosk.controller import wait_until
    from paysim.phone import DemoCodes

    settings = _settings(args, env)
    codes = DemoCodes(settings.camera.width, settings.camera.height, seed=7)
    source = HeldImageSource(settings.camera.width, settings.camera.height)
    kiosk = build_kiosk(settings, overrides=Overrides(source=source, samples=codes))
    kiosk.start()
    c = kiosk.controller
    if not wait_until(c, lambda: c.state.phase is not co.Phase.RECOVERING, 120):
        raise RuntimeError("the start-up recovery did not finish")
    rng = random.Random(11)  # noqa: S311 - which items a scripted customer picks
    timings: list[float] = []
    try:
        catalog = c.catalog()
        if not catalog:
            raise RuntimeError("the demo catalog is empty: HQ did not deliver it")
        for n in range(args.orders):
            c.dispatch(co.StartTapped())
            for product in rng.sample(catalog, k=min(len(catalog), rng.randint(1, 3))):
                c.dispatch(co.ProductTapped(product))
            c.dispatch(co.PayTapped())
            if not wait_until(
                c,
                lambda: c.state.order_id is not None or c.state.phase not in (co.Phase.CART, co.Phase.PAYING),
                10,
            ):
                raise RuntimeError(f"order {n + 1}: the order was not opened")
            started = time.perf_counter()
            c.hold_up_sample("wechat_ok" if n % 2 == 0 else "alipay_ok")
            done = wait_until(c, lambda: c.state.phase in (co.Phase.DONE, co.Phase.NEEDS_HELP), 30)
            timings.append(time.perf_counter() - started)
            if not done or c.state.phase is not co.Phase.DONE:
                log.error("order %d ended in %s (%s)", n + 1, c.state.phase, c.state.detail)
                c.dispatch(co.StaffResolved())
            else:
                c.dispatch(co.TimedOut())
        synced = _drain_outbox(kiosk, services.hq_db_url, timeout_s=30)
    finally:
        counts = kiosk.store.counts()
        kiosk.stop()
    return {
        "orders": args.orders,
        "paid": counts.paid,
        "printed": counts.printed,
        "synced": synced,
        "p50_s": round(statistics.median(timings), 3) if timings else None,
        "p95_s": round(_p95(timings), 3) if timings else None,
    }


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def _drain_outbox(kiosk: Any, hq_db_url: str | None, timeout_s: float) -> int:
    """Wait (bounded) until the sync thread has emptied the outbox, then count the sales HQ holds:
    in the demo's own HQ, by reading its database; at an external HQ, the sales it confirmed
    (stored or already held) to this kiosk."""
    from kiosk.store.models import OutboxEntry

    deadline = time.monotonic() + timeout_s
    while kiosk.store.pending_count() and time.monotonic() < deadline:
        kiosk.sync.wake()  # the kiosk's own sync thread uploads; the demo only waits for it
        time.sleep(0.1)
    if hq_db_url is None:
        return int(
            OutboxEntry.select().where((OutboxEntry.kind == "sale") & (OutboxEntry.state == "sent")).count()
        )
    from hq.db import connected
    from hq.models import Sale

    with connected():
        return int(Sale.select().where(Sale.kiosk_id == kiosk.settings.kiosk.id).count())


def _screenshot_tour(args: argparse.Namespace, env: dict[str, str], out: Path) -> list[str]:
    """Run the UI once through every screen in a child process under Xvfb, saving PNGs to out/screens."""
    screens = out / "screens"
    screens.mkdir(exist_ok=True)
    argv = [sys.executable, "-m", "kiosk", "demo", "--snapshot-tour", "--out", str(screens)]
    if args.config:
        argv += ["--config", str(args.config)]
    child_env = {
        **os.environ,
        **env,
        "KIOSK_KIOSK__DATA_DIR": str(out / "ui-data"),
        "KIVY_NO_ARGS": "1",
        "KIVY_HOME": str(out / ".kivy"),
        "KIVY_NO_CONSOLELOG": "1",
    }
    if not _has_screen():
        xvfb = shutil.which("xvfb-run")
        if xvfb is None:
            log.error("no screen and no xvfb-run: install xvfb (make demo does) for screenshots")
            return []
        argv = [xvfb, "-a", "-s", "-screen 0 1280x720x24 +extension GLX", *argv]
    result = subprocess.run(argv, env=child_env, timeout=180, check=False)
    shots = sorted(p.name for p in screens.glob("*.png"))
    if result.returncode != 0:
        log.error("screenshot tour exited with %s", result.returncode)
        return []
    return shots


def _snapshot_tour_child(args: argparse.Namespace) -> int:
    from drivers.camera.sources import HeldImageSource
    from kiosk.app import build_for_ui
    from kiosk.bootstrap import Overrides
    from kiosk.settings import load_settings
    from kiosk.ui import configure_kivy
    from kiosk.ui.snapshots import SnapshotTourIncomplete, run_snapshot_tour
    from paysim.phone import DemoCodes

    settings = load_settings(args.config)
    configure_kivy(settings.ui)
    source = HeldImageSource(settings.camera.width, settings.camera.height)
    codes = DemoCodes(settings.camera.width, settings.camera.height)
    kiosk = build_for_ui(settings, Overrides(source=source, samples=codes))
    kiosk.start()
    try:
        shots = run_snapshot_tour(
            kiosk.controller,
            settings.ui,
            args.out,
            _tour_with_unplugged_printer(kiosk),
            kiosk_settings=settings.kiosk,
        )
    except SnapshotTourIncomplete as exc:
        print(f"kiosk demo: {exc}", file=sys.stderr)
        return 1
    finally:
        kiosk.stop()
    return 0 if shots else 1


def _tour_with_unplugged_printer(kiosk: Any) -> Any:
    """One customer's order through every screen; then the printer cable comes out, and the next
    customer's "pay" brings up the offer of an e-receipt (the demo kiosk is enrolled at its HQ); the
    customer goes on, and the camera's cable comes out too: the help screen, as it would in the shop."""
    from drivers.printer.no_printer import NoPrinter
    from kiosk.ui.snapshots import Do, Shot, WaitFor, customer_order

    def unplug() -> None:
        kiosk.controller.printer = NoPrinter()

    def script(controller: Any) -> Any:
        yield from customer_order(controller)
        first = controller.catalog()[0]
        yield Do(lambda: controller.dispatch(co.CancelTapped()), "finish")
        yield WaitFor(co.Phase.ATTRACT)
        yield Do(unplug, "unplug the printer")
        yield Do(lambda: controller.dispatch(co.StartTapped()), "tap start")
        yield Do(lambda: controller.dispatch(co.ProductTapped(first)), f"tap {first.sku}")
        yield Do(lambda: controller.dispatch(co.PayTapped()), "tap pay")
        yield Shot("printer-offer", co.Phase.CART, settle_s=0.6, until=lambda s: s.printer_offer)
        yield Do(lambda: controller.dispatch(co.PrinterOfferAnswered(go=True)), "pay, e-receipt")
        yield WaitFor(co.Phase.PAYING, until=lambda s: s.order_id is not None)
        yield Do(lambda: kiosk.controller.on_device_fault("camera: the cable came out"), "unplug the camera")
        yield Shot("help", co.Phase.NEEDS_HELP, settle_s=0.6)

    return script


def _interactive(args: argparse.Namespace, env: dict[str, str]) -> int:
    from drivers.camera.sources import HeldImageSource, open_source
    from kiosk.app import build_for_ui
    from kiosk.bootstrap import Overrides
    from kiosk.ui import configure_kivy
    from paysim.phone import DemoCodes

    settings = _settings(args, env)
    configure_kivy(settings.ui)
    cam = settings.camera
    if args.webcam is not None:
        overrides = Overrides(source=open_source(str(args.webcam), cam.width, cam.height, cam.fps))
    else:
        overrides = Overrides(
            source=HeldImageSource(cam.width, cam.height), samples=DemoCodes(cam.width, cam.height)
        )
    kiosk = build_for_ui(settings, overrides)
    kiosk.start()
    try:
        from kiosk.ui.app import KioskApp

        KioskApp(kiosk.controller, settings.ui, kiosk_settings=settings.kiosk).run()
    finally:
        kiosk.stop()
    return 0
