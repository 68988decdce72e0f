"""``kiosk doctor``: one look at everything the kiosk depends on, for installers and staff.

Each check is independent and bounded in time, so a dead printer or an unreachable HQ shows up as
its own FAIL line instead of hanging the report. The report is in the kiosk's language
(``kiosk.language``; every text is in ``kiosk.i18n`` under ``doctor.*``). A check that breaks on an
exception says in a sentence which device or file failed and what to do; the exception's own text
goes to the log (standard error), not into the report. The summary says "all OK" only when every
check is OK, otherwise how many failed and how many need attention. Exit 0 unless a check FAILs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.i18n import t
from kiosk.settings import Settings, default_config_path, load_settings
from kiosk_common.toml_text import shorten, shorten_text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Check:
    #: a fixed English name for scripts (``--json``); the report shows the translated label
    name: str
    status: str  # OK | WARN | FAIL
    detail: str


def check_template(s: Settings, lang: str) -> Check:
    from kiosk.core.receipt import ReceiptTemplate

    ReceiptTemplate.load(s.receipt_template_path)
    return Check("receipt template", "OK", t("doctor.template.ok", lang, path=s.receipt_template_path))


def check_store(s: Settings, lang: str) -> Check:
    from kiosk.bootstrap import build_store
    from kiosk.store.db import StoreError, StoreWentBackwards, store_health

    try:
        store = build_store(s)  # refuses a store that fails its checks
    except StoreWentBackwards as exc:
        _log_cause("store", exc)
        return Check(
            "store",
            "FAIL",
            t("doctor.store.backwards", lang, path=s.store_path, held=exc.held, recorded=exc.recorded),
        )
    except StoreError as exc:
        _log_cause("store", exc)
        return Check("store", "FAIL", t("doctor.store.damaged", lang, path=s.store_path))
    db = store.db
    try:
        health = store_health(db)
        counts = store.counts()
        unfinished = len(store.unfinished_payments())
    finally:
        db.close()
    detail = t(
        "doctor.store.ok",
        lang,
        path=s.store_path,
        schema=health["schema_version"],
        paid=counts.paid,
        pending=counts.outbox_pending,
    )
    if unfinished:
        return Check("store", "WARN", detail + t("doctor.store.unresolved", lang, count=unfinished))
    return Check("store", "OK", detail)


#: audit actions staff must hear about: payments settled after a restart, alerts, device faults
_STAFF_ACTIONS = ("recovered_", "alert", "device_fault", "printer_alert")


def check_recent_events(s: Settings, lang: str, hours: int = 24) -> Check:
    """What the kiosk told staff in the last day, so nothing settled at a restart goes unseen."""
    from datetime import timedelta

    from kiosk.bootstrap import build_store
    from kiosk.store.models import AuditLog, utcnow

    db = build_store(s).db
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
        return Check("staff alerts", "OK", t("doctor.alerts.none", lang, hours=hours))
    # the audit rows are records, quoted as they are: time, action and its detail
    latest = "; ".join(f"{r.at:%m-%d %H:%M}Z {r.action} {r.detail}"[:120] for r in rows[:3])
    return Check(
        "staff alerts", "WARN", t("doctor.alerts.some", lang, hours=hours, count=len(rows), latest=latest)
    )


def _printer_where(s: Settings) -> str:
    return f"{s.printer.transport} {s.printer.device}"


def check_printer(s: Settings, lang: str) -> Check:
    from kiosk.bootstrap import open_configured_printer

    if s.printer.transport == "none":
        return Check("printer", "WARN", t("doctor.printer.none", lang))
    printer = open_configured_printer(s.printer, s.kiosk.data_dir)
    try:
        ready = printer.is_ready()
    finally:
        printer.close()
    if ready:
        return Check("printer", "OK", t("doctor.printer.ready", lang, where=_printer_where(s)))
    return Check("printer", "FAIL", t("doctor.printer.not_ready", lang, where=_printer_where(s)))


def check_camera(s: Settings, lang: str) -> Check:
    from kiosk.bootstrap import build_camera_source

    source = build_camera_source(s)
    try:
        deadline = time.monotonic() + 2.0
        frame = None
        while frame is None and time.monotonic() < deadline:
            frame = source.read()
            if frame is None:
                time.sleep(0.05)
    finally:
        source.close()
    shown = shorten(s.camera.source)
    if frame is None:
        return Check("camera", "FAIL", t("doctor.camera.no_frame", lang, source=shown))
    h, w = frame.shape[:2]
    return Check("camera", "OK", t("doctor.camera.ok", lang, source=shown, width=w, height=h))


def check_clock(s: Settings, lang: str, now: Callable[[], datetime] | None = None) -> Check:
    """The clock the gateway signatures depend on: the release floor, then network time where the
    settings ask for it (the same rules as the controller's ``CLOCK_NOT_SYNCED``), so an installer
    sees why the kiosk is out of service before any customer does."""
    from kiosk.clock import RELEASE_FLOOR_UTC, TimesyncdClockSync, time_sync_required

    k = s.kiosk
    at = (now or _utcnow)()
    shown = at.strftime("%Y-%m-%d %H:%M UTC")
    if at < RELEASE_FLOOR_UTC:
        floor = RELEASE_FLOOR_UTC.strftime("%Y-%m-%d")
        return Check("clock", "FAIL", t("doctor.clock.before_release", lang, now=shown, floor=floor))
    if not time_sync_required(k.require_time_sync, k.time_sync_file):
        return Check(
            "clock", "OK", t("doctor.clock.not_required", lang, now=shown, setting=k.require_time_sync)
        )
    if TimesyncdClockSync(k.time_sync_file).synced():
        return Check("clock", "OK", t("doctor.clock.synced", lang, now=shown))
    return Check("clock", "FAIL", t("doctor.clock.not_synced", lang, path=k.time_sync_file))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_gateway(s: Settings, lang: str) -> Check:
    """Each configured channel must have loadable credentials and a reachable host; an uncommissioned
    kiosk (``payments.gateway = "none"``) fails with what to set.

    Nothing is charged: the installer's test charge is ``kiosk payment charge``.
    """
    p = s.payments
    if p.gateway == "none":
        return Check("payment gateway", "FAIL", t("doctor.gateway.none", lang))
    from kiosk.bootstrap import build_payment_gateway

    build_payment_gateway(s, None)  # loads and checks the keys and certificates
    reached = []
    for channel, url in (("wechat", p.wechat.gateway_url), ("alipay", p.alipay.gateway_url)):
        if channel not in p.gateway:
            continue
        try:
            requests.head(url, timeout=3.0, allow_redirects=False)
        except requests.RequestException as exc:
            _log_cause("payment gateway", exc)
            return Check(
                "payment gateway",
                "FAIL",
                t("doctor.gateway.channel_unreachable", lang, channel=channel, url=url),
            )
        reached.append(f"{channel} {url}")
    return Check("payment gateway", "OK", t("doctor.gateway.channels_ok", lang, reached=", ".join(reached)))


def check_hq(s: Settings, lang: str) -> Check:
    from kiosk.bootstrap import build_hq_client
    from kiosk.ports import HqError
    from kiosk.sync.credentials import CredentialsError, NotEnrolled

    try:
        client = build_hq_client(s, min(3.0, s.hq.timeout_s))
    except NotEnrolled:
        return Check(
            "HQ", "FAIL", t("doctor.hq.not_enrolled", lang, path=s.hq_credentials_path, url=s.hq.url)
        )
    except CredentialsError as exc:  # the text names the file and the fix, never the secret
        return Check("HQ", "FAIL", t("doctor.hq.credentials", lang, problem=str(exc)))
    timeout = client.timeout_s
    try:  # reachable at all? Then a refusal below is about the enrolment or the address, not the network
        requests.get(s.hq.url.rstrip("/") + "/healthz", timeout=timeout)
    except requests.RequestException as exc:
        _log_cause("HQ", exc)
        return Check("HQ", "FAIL", t("doctor.hq.unreachable", lang, url=s.hq.url))
    try:
        update = client.fetch_catalog(0)
    except HqError as exc:
        _log_cause("HQ", exc)
        return Check("HQ", "FAIL", t("doctor.hq.refused", lang, url=s.hq.url, kiosk_id=s.kiosk.id))
    finally:
        client.close()
    n = sum(1 for p in update.products if p.active) if update is not None else 0
    if n == 0:
        return Check("HQ", "WARN", t("doctor.hq.empty_catalog", lang, url=s.hq.url))
    return Check("HQ", "OK", t("doctor.hq.ok", lang, url=s.hq.url, count=n))


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    #: the part of the ``doctor.*`` text keys that belongs to this check
    slug: str
    run: Callable[[Settings, str], Check]
    #: the fields of ``doctor.<slug>.error``: which device or file a failure is about
    where: Callable[[Settings], Mapping[str, Any]]


CHECKS: tuple[_Spec, ...] = (
    _Spec("receipt template", "template", check_template, lambda s: {"path": s.receipt_template_path}),
    _Spec("store", "store", check_store, lambda s: {"path": s.store_path}),
    _Spec("staff alerts", "alerts", check_recent_events, lambda s: {"path": s.store_path}),
    _Spec("printer", "printer", check_printer, lambda s: {"where": _printer_where(s)}),
    _Spec("camera", "camera", check_camera, lambda s: {"source": shorten(s.camera.source)}),
    _Spec("clock", "clock", check_clock, lambda s: {"path": s.kiosk.time_sync_file}),
    _Spec("payment gateway", "gateway", check_gateway, lambda s: {"gateway": s.payments.gateway}),
    _Spec("HQ", "hq", check_hq, lambda s: {"url": s.hq.url}),
)
_SLUGS = {spec.name: spec.slug for spec in CHECKS} | {"settings": "settings"}


def _log_cause(name: str, exc: BaseException) -> None:
    """The technical reason, for whoever reads the log; the report gives the sentence."""
    log.warning("kiosk doctor, %s: %s: %s", name, type(exc).__name__, shorten_text(str(exc), 500))


def _guard(spec: _Spec, s: Settings, lang: str) -> Check:
    try:
        return spec.run(s, lang)
    except Exception as exc:  # a doctor must report, never crash
        _log_cause(spec.name, exc)
        return Check(spec.name, "FAIL", t(f"doctor.{spec.slug}.error", lang, **spec.where(s)))


def run_checks(s: Settings) -> list[Check]:
    return [_guard(spec, s, s.kiosk.language) for spec in CHECKS]


def summary(checks: list[Check], lang: str) -> str:
    """Say "all OK" only when every check is; otherwise how many failed and how many need attention."""
    failed = sum(c.status == "FAIL" for c in checks)
    warned = sum(c.status == "WARN" for c in checks)
    if failed:
        return t("doctor.summary.failures", lang, failed=failed, warned=warned)
    if warned:
        return t("doctor.summary.warnings", lang, warned=warned)
    return t("doctor.summary.all_ok", lang)


def report(checks: list[Check], s: Settings) -> str:
    """The human report, in the kiosk's language, columns aligned for Chinese and Latin text alike."""
    from kiosk.core.receipt import display_width

    lang = s.kiosk.language

    def pad(text: str, width: int) -> str:
        return text + " " * max(0, width - display_width(text))

    statuses = {c.status: t(f"doctor.status.{c.status}", lang) for c in checks}
    labels = {c.name: t(f"doctor.check.{_SLUGS[c.name]}", lang) for c in checks}
    status_w = max(display_width(v) for v in statuses.values())
    label_w = max(display_width(v) for v in labels.values())
    lines = [t("doctor.title", lang, kiosk_id=s.kiosk.id)]
    lines += [
        f"  {pad(statuses[c.status], status_w)} {pad(labels[c.name], label_w)} {c.detail}" for c in checks
    ]
    lines.append(summary(checks, lang))
    return "\n".join(lines)


#: the image's firewall (installed by image/install-kiosk.sh), which opens the kiosk's way out to
#: the hosts its settings name
FIREWALL = Path("/usr/local/sbin/kiosk-firewall")


def check_settings(config: Path | None, lang: str, firewall: Path = FIREWALL) -> Check:
    """The settings were read (or they would not be here). Where the image's firewall takes its
    hosts from them, they must be root's alone: ``kiosk firewall-hosts`` refuses them otherwise
    (HQ and the gateways then blocked), and a firewall from an image before that check lets
    whoever controls the app add a host. Kiosks flashed before the settings became ``root:kiosk
    0640`` still have them as the kiosk user's: this says so, with the fix."""
    from kiosk.commands.firewall import settings_refused

    path = config or default_config_path()
    if config is not None and firewall.exists() and settings_refused(config):
        return Check("settings", "WARN", t("doctor.settings.not_roots", lang, path=path))
    return Check("settings", "OK", t("doctor.settings.ok", lang, path=path))


def run_doctor(config: Path | None, as_json: bool = False) -> int:
    s = load_settings(config)
    lang = s.kiosk.language
    checks = [check_settings(config, lang), *run_checks(s)]
    failed = sum(c.status == "FAIL" for c in checks)
    if as_json:
        warned = sum(c.status == "WARN" for c in checks)
        document = {
            "ok": not failed,  # as the exit code: nothing failed (warnings may remain)
            "failed": failed,
            "warnings": warned,
            "language": lang,
            "checks": [asdict(c) for c in checks],
        }
        print(json.dumps(document, ensure_ascii=False))
    else:
        print(report(checks, s))
    return 1 if failed else 0
