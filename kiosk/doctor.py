"""``kiosk doctor``: one look at everything the kiosk depends on, for installers and staff.

Each check is independent and bounded in time, so a dead printer or an unreachable HQ shows up as
its own FAIL line instead of hanging the report. Exit 0 only when every check passes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import requests

from kiosk.settings import Settings, load_settings

_T = {
    "zh_CN": {
        "OK": "正常",
        "WARN": "注意",
        "FAIL": "故障",
        "title": "自助收银机自检",
        "summary_ok": "全部正常",
        "summary_fail": "有 {n} 项故障，请按提示处理",
    },
    "en": {
        "OK": "OK",
        "WARN": "WARN",
        "FAIL": "FAIL",
        "title": "Kiosk self-check",
        "summary_ok": "all checks passed",
        "summary_fail": "{n} check(s) failed; follow the hints above",
    },
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:  # a doctor must report, never crash
        return Check(name, "FAIL", f"{type(exc).__name__}: {exc}")


def check_template(s: Settings) -> Check:
    from kiosk.core.receipt import ReceiptTemplate

    ReceiptTemplate.load(s.receipt_template_path)
    return Check("receipt template", "OK", str(s.receipt_template_path))


def check_store(s: Settings) -> Check:
    from kiosk.store.db import open_store, store_health
    from kiosk.store.sales import SaleStore

    db = open_store(s.store_path)
    try:
        health = store_health(db)
        counts = SaleStore(db, s.kiosk.id).counts()
        unfinished = len(SaleStore(db, s.kiosk.id).unfinished_payments())
    finally:
        db.close()
    detail = (
        f"{s.store_path}: schema {health['schema_version']}, {health['journal_mode']}, "
        f"quick_check {health['quick_check']}; {counts['paid']} paid sale(s), "
        f"{counts['outbox_pending']} waiting for HQ"
    )
    if unfinished:
        return Check("store", "WARN", detail + f"; {unfinished} payment(s) unresolved, settled at next start")
    return Check("store", "OK", detail)


#: audit actions staff must hear about: payments settled after a restart, alerts, device faults
_STAFF_ACTIONS = ("recovered_", "alert", "device_fault", "printer_alert")


def check_recent_events(s: Settings, hours: int = 24) -> Check:
    """What the kiosk told staff in the last day, so nothing settled at a restart goes unseen."""
    from datetime import timedelta

    from kiosk.store.db import open_store
    from kiosk.store.models import AuditLog, utcnow

    db = open_store(s.store_path)
    try:
        since = utcnow() - timedelta(hours=hours)
        rows = [
            r
            for r in AuditLog.select().where(AuditLog.at >= since).order_by(AuditLog.at.desc())
            if r.action.startswith(_STAFF_ACTIONS)
        ]
    finally:
        db.close()
    if not rows:
        return Check("staff alerts", "OK", f"none in the last {hours} h")
    latest = "; ".join(f"{r.at:%m-%d %H:%M}Z {r.action} {r.detail}"[:120] for r in rows[:3])
    return Check("staff alerts", "WARN", f"{len(rows)} in the last {hours} h, latest: {latest}")


def check_printer(s: Settings) -> Check:
    from kiosk.bootstrap import open_configured_printer

    if s.printer.transport == "none":
        return Check("printer", "WARN", "no printer configured ([printer] transport = none)")
    printer = open_configured_printer(s.printer, s.kiosk.data_dir)
    try:
        ready = printer.is_ready()
    finally:
        printer.close()
    where = f"{s.printer.transport} {s.printer.device}"
    if ready:
        return Check("printer", "OK", f"{where}: ready")
    return Check(
        "printer",
        "FAIL",
        f"{where}: not ready (offline, no paper, cover open or no answer); check cable, paper and power",
    )


def check_camera(s: Settings) -> Check:
    from drivers.camera.sources import open_source

    source = open_source(s.camera.source, s.camera.width, s.camera.height, s.camera.fps)
    try:
        deadline = time.monotonic() + 2.0
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = source.read()
            if frame is None:
                time.sleep(0.05)
    finally:
        source.close()
    if frame is None:
        return Check(
            "camera",
            "FAIL",
            f"source {s.camera.source!r}: no frame within 2 s; check the cable or [camera] source",
        )
    h, w = frame.shape[:2]
    return Check("camera", "OK", f"source {s.camera.source!r}: {w}x{h} frames")


def check_gateway(s: Settings) -> Check:
    """The simulator answers /healthz; a real channel must have loadable credentials and a reachable host.

    Nothing is charged: the installer's test charge is ``kiosk payment charge``.
    """
    p = s.payments
    if p.gateway == "simulator":
        url = p.simulator.url.rstrip("/") + "/healthz"
        r = requests.get(url, timeout=min(3.0, p.simulator.timeout_s))
        if r.ok:
            return Check("payment gateway", "OK", f"simulator at {p.simulator.url}")
        return Check("payment gateway", "FAIL", f"{url} answered HTTP {r.status_code}")
    from kiosk.payments.service import build_gateway

    build_gateway(p, lambda _code: None)  # loads and checks the keys and certificates
    reached = []
    for channel, url in (("wechat", p.wechat.gateway_url), ("alipay", p.alipay.gateway_url)):
        if channel not in p.gateway:
            continue
        try:
            requests.head(url, timeout=3.0, allow_redirects=False)
        except requests.RequestException as exc:
            return Check(
                "payment gateway",
                "FAIL",
                f"{channel}: {url} unreachable ({type(exc).__name__}); check the network",
            )
        reached.append(f"{channel} {url}")
    return Check("payment gateway", "OK", "credentials loaded; reachable: " + ", ".join(reached))


def check_hq(s: Settings) -> Check:
    from kiosk.ports import HqError
    from kiosk.sync.hq_client import HttpHqClient

    if not s.hq.api_key:
        return Check(
            "HQ",
            "FAIL",
            "no [hq] api_key: create one with `hq device add " + s.kiosk.id + "` on the HQ server",
        )
    client = HttpHqClient(s.hq.url, s.hq.api_key, s.kiosk.id, min(3.0, s.hq.timeout_s))
    try:
        n = len(client.fetch_catalog())
    except HqError as exc:
        return Check("HQ", "FAIL", f"{s.hq.url}: {exc}")
    return Check("HQ", "OK", f"{s.hq.url}: key accepted, {n} product(s) in the catalog")


CHECKS: tuple[tuple[str, Callable[[Settings], Check]], ...] = (
    ("receipt template", check_template),
    ("store", check_store),
    ("staff alerts", check_recent_events),
    ("printer", check_printer),
    ("camera", check_camera),
    ("payment gateway", check_gateway),
    ("HQ", check_hq),
)


def run_checks(s: Settings) -> list[Check]:
    return [_guard(name, partial(fn, s)) for name, fn in CHECKS]


def run_doctor(config: Path | None, as_json: bool = False) -> int:
    s = load_settings(config)
    checks = [Check("settings", "OK", str(config or "config/kiosk.toml")), *run_checks(s)]
    failed = [c for c in checks if c.status == "FAIL"]
    if as_json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        t = _T[s.kiosk.language]
        print(f"{t['title']} ({s.kiosk.id})")
        for c in checks:
            print(f"  {t[c.status]:<6} {c.name:<17} {c.detail}")
        print(t["summary_fail"].format(n=len(failed)) if failed else t["summary_ok"])
    return 1 if failed else 0
