"""The one place that turns settings into a running kiosk: every adapter is chosen here, nowhere else."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from drivers.camera.decoders import make_decoder
from drivers.camera.scanner import CameraScanner, Roi
from drivers.camera.sources import HeldImageSource, open_source
from drivers.gpio.indicators import open_indicators
from drivers.gpio.inputs import GpiozeroInputs, open_inputs
from drivers.gpio.types import GpioPins
from drivers.printer.factory import PrinterConfig, PrinterDriver, open_printer
from drivers.scanners.hid_wedge import HidWedgeScanner
from drivers.scanners.serial_scanner import SerialScanner
from kiosk import __version__, crashpoints
from kiosk.clock import AutoClockSync, SystemClock, TimesyncdClockSync, clock_sync_for
from kiosk.controller import CheckoutController, ControllerOptions, SampleCodes
from kiosk.core.availability import GatewayReachRules
from kiosk.core.checkout import Checkout, Phase, ReceiptPrinted
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM, ReceiptTemplate
from kiosk.core.window import parse_window
from kiosk.enrolment_desk import EnrolmentDesk, EnrolRefused
from kiosk.hq_settings import apply_hq_settings
from kiosk.i18n import t
from kiosk.maintenance.actions import StaffActions
from kiosk.maintenance.attempts import LimiterConfig
from kiosk.maintenance.roles import Role
from kiosk.maintenance.session import KeySwitchMode, MaintenanceConfig, MaintenanceLock
from kiosk.ota_link import HealthWatch, OtaLink, heartbeat_field, request_check_now
from kiosk.payments import service
from kiosk.payments.reach import GatewayWatch, HttpGatewayProbe
from kiosk.payments.service import build_gateway
from kiosk.ports import (
    CatalogUpdate,
    Clock,
    ClockSync,
    Decoder,
    EventResult,
    FrameSource,
    HqError,
    Indicators,
    OutEvent,
    PaymentGateway,
    ReceiptPrinter,
)
from kiosk.printing import PrintService
from kiosk.product_images import FOLDER_NAME as IMAGES_FOLDER
from kiosk.product_images import ProductImages
from kiosk.settings import PrinterSection, Settings
from kiosk.staff_console import StaffConsole
from kiosk.store.db import open_store
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from kiosk.store.staff import StaffStore
from kiosk.store.tasks import TaskStore
from kiosk.sync.credentials import Credentials, CredentialsError, NotEnrolled, load_credentials, same_hq
from kiosk.sync.enrolment import EnrolFailed, enrol
from kiosk.sync.heartbeat import Heartbeats, SystemProbe
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pictures import MANIFEST_NAME as PICTURES_MANIFEST
from kiosk.sync.pictures import HqPictures
from kiosk.sync.pusher import CatalogPuller, LinkBackoff, OutboxPusher, SyncWorker
from kiosk.sync.signed import HqSigner
from kiosk_common.enrolment import EnrolPayload
from kiosk_common.signing import receipt_path, receipt_token

if TYPE_CHECKING:
    from kiosk.maintenance.bundle import BundleSources
    from kiosk.maintenance.diagnostics import Diagnostics
    from kiosk.staff_diagnostics import DiagnosticsDesk
    from kiosk.staff_it import ItConsole

log = logging.getLogger(__name__)

#: how long stopping waits for the sync thread's pass (an upload cut short is sent again)
SYNC_STOP_S = 1.0


@dataclass(slots=True)
class Overrides:
    """Adapters the demo (or a test) supplies instead of the ones the settings name."""

    source: FrameSource | None = None
    printer: ReceiptPrinter | None = None
    indicators: Indicators | None = None
    inputs: GpiozeroInputs | None = None
    samples: SampleCodes | None = None
    #: the time the payment timers run on (a test speeds it up; production uses the system clock)
    clock: Clock | None = None
    #: whether network time set the clock (a test's file); None: from ``[kiosk] require_time_sync``
    clock_sync: ClockSync | None = None


@dataclass(slots=True)
class Kiosk:
    settings: Settings
    store: SaleStore
    controller: CheckoutController
    gateway: PaymentGateway
    hq: HttpHqClient | UnenrolledHqClient
    pusher: OutboxPusher
    puller: CatalogPuller
    sync: SyncWorker
    scanner: CameraScanner
    printer: ReceiptPrinter
    indicators: Indicators
    #: USB keyboard-wedge and serial barcode scanners (settings [scanners]); they feed controller.on_codes
    product_scanners: list[HidWedgeScanner | SerialScanner] = field(default_factory=list)
    #: the maintenance key switch and the paper-low sensor (settings [gpio]); None without GPIO
    inputs: GpiozeroInputs | None = None
    #: repeats refunds a crash left unconfirmed, in the background (bounded); None when there were none
    refund_resumer: threading.Thread | None = None
    #: what staff do in maintenance mode (kiosk.maintenance.actions); the maintenance screens call it
    staff: StaffActions | None = None
    #: the update agent's socket and the health report (kiosk.ota_link)
    ota: OtaLink | None = None
    #: the catalog's product pictures, checked off the UI thread (kiosk.product_images)
    images: ProductImages | None = None
    #: probes the payment gateway's reachability in the background; None without a gateway or probes
    gateway_watch: GatewayWatch | None = None

    def start(self) -> None:
        """Settle what a crash left behind (in the background, while the screen says so), refresh the
        catalog, then start scanning and syncing. Nothing here waits on the gateway. The recovery and
        the refunds to repeat wait for a trusted clock (``CheckoutController.start_recovery``)."""
        self.controller.start_recovery(then=self._resume_refunds)
        self.refresh_catalog()
        if self.images is not None:
            self.images.start()
        self.scanner.start()
        for product_scanner in self.product_scanners:
            product_scanner.start()
        self.sync.start()
        if isinstance(self.printer, PrintService):
            self.printer.start()  # reprints what failed before, and watches the printer
        if self.ota is not None:
            self.ota.start()
        if self.gateway_watch is not None:
            self.gateway_watch.start()

    def enrolled(self) -> None:
        """The enrolment screen just wrote this kiosk's credentials (UI thread): sign everything for
        HQ from now on, without a restart. The sync thread picks up the new client at its next
        pass (each pass reads ``client`` once), and is woken for it."""
        settings = self.settings
        creds = load_enrolment(settings)
        hq = build_hq_client(settings)
        old, self.hq = self.hq, hq
        self.pusher.client = hq
        self.puller.client = hq
        # HQ's product pictures come with the catalog from now on, as on a kiosk enrolled at start-up
        if self.images is not None:
            self.puller.pictures = build_hq_pictures(settings, hq, self.images)
        # the failures were the unenrolled client's, not the link's: the first upload goes at once
        self.pusher.backoff = LinkBackoff()
        self.controller.options = replace(self.controller.options, receipt_link=receipt_link(settings, creds))
        if self.staff is not None:
            self.staff.use_hq_totals(lambda day: hq.fetch_day_totals(day, settings.kiosk.timezone))
        old.close()
        self.sync.wake()

    def _resume_refunds(self) -> None:
        """Refunds left "refunding" are repeated (same refund number) on a thread of their own with its
        own gateway connection, so a gateway that cannot refund never holds up the screen."""
        try:
            pending = self.store.refunds_in_flight()
        except Exception:
            log.exception("could not list refunds in flight")
            return
        if not pending:
            return
        gateway = build_gateway(self.settings.payments, self.store.payment_channel)
        clock = self.controller.clock

        def run() -> None:
            try:
                report = service.resume_refunds(self.store, gateway, clock)
                if report.unresolved:
                    log.warning("refunds still unconfirmed, repeat later: %s", ", ".join(report.unresolved))
            except Exception:
                log.exception("resuming refunds failed")
            finally:
                close = getattr(gateway, "close", None)
                if callable(close):
                    close()

        self.refund_resumer = threading.Thread(target=run, name="refund-resume", daemon=True)
        self.refund_resumer.start()

    def refresh_catalog(self) -> bool:
        """Pull the catalog once now (the sync thread pulls it every interval after this); False
        when it could not, and the kiosk sells from the catalog it has."""
        return not self.puller.pull_once().error

    def stop(self) -> None:
        """Stop everything: the job in flight (a charge, a receipt) before the sync thread, so its
        time is not spent waiting on sync. Every wait here is bounded: at worst ``kiosk.stop_timeout_s``
        for the checkout's workers together, plus each part's own stop timeout (the constants named
        ``STOP_*`` in their modules, and ``SYNC_STOP_S``); tests/image/test_image_units.py adds them
        up against kiosk.service's ``TimeoutStopSec``."""
        if self.ota is not None:
            self.ota.stop()
        if self.gateway_watch is not None:
            self.gateway_watch.stop()
        self.scanner.stop()
        for product_scanner in self.product_scanners:
            product_scanner.stop()
        self.controller.close(timeout_s=self.settings.kiosk.stop_timeout_s)
        if self.images is not None:
            self.images.stop()
        self.sync.stop(timeout_s=SYNC_STOP_S)  # an upload cut short is sent again: the outbox keeps it
        self.printer.close()
        self.indicators.close()
        if self.inputs is not None:
            self.inputs.close()
        self.store.db.close()


def _printer_alert(store: SaleStore, reason: str) -> None:
    """A printing fault noticed outside a checkout (a reprint): logged and kept in the audit log."""
    log.warning("staff needed: %s", reason)
    try:
        store.audit("kiosk", "printer_alert", reason)
    except Exception as exc:  # the alert must never take the printing thread down
        log.warning("printer alert not audited: %s", exc)


def build_store(settings: Settings, *, accept_backwards: bool = False) -> SaleStore:
    """The kiosk's store, opened, checked and migrated (``kiosk.store.db.open_store``)."""
    return SaleStore(open_store(settings.store_path, accept_backwards=accept_backwards), settings.kiosk.id)


def build_reprints(store: SaleStore) -> ReprintStore:
    """The persistent reprint queue, in the kiosk's store."""
    return ReprintStore(store.db)


def build_payment_gateway(settings: Settings, store: SaleStore | None) -> PaymentGateway:
    """The gateway ``payments.gateway`` names; queries are routed by the channel the store recorded
    (without a store, as for a check that charges nothing, no payment is known)."""
    return build_gateway(settings.payments, store.payment_channel if store is not None else lambda _otn: None)


def build_camera_source(settings: Settings, spec: str | None = None) -> FrameSource:
    """The camera ``[camera]`` names (or ``spec``: a device index, a video file, a folder of images)."""
    cam = settings.camera
    return open_source(spec if spec is not None else cam.source, cam.width, cam.height, cam.fps, cam.loop)


def build_decoder(backend: str) -> Decoder:
    """The decoder backend by name (``[camera] backend``): zxing, zxing-plain or pyzbar."""
    return make_decoder(backend)


class UnenrolledHqClient:
    """The HQ client of a kiosk that cannot sign (not enrolled, or its credentials do not fit the
    settings): every request fails with the reason, so the kiosk sells offline and queues
    everything, and ``kiosk doctor`` / ``kiosk sync --once`` say what to do."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def clock_offset_s(self) -> float:
        return 0.0

    def push_events(self, events: Sequence[OutEvent]) -> list[EventResult]:
        raise HqError(self.reason)

    def fetch_catalog(self, since: int) -> CatalogUpdate | None:
        raise HqError(self.reason)

    def close(self) -> None:
        pass


def load_enrolment(settings: Settings) -> Credentials:
    """This kiosk's credentials, checked against the settings: the kiosk id its sales carry and the
    HQ it talks to must be the ones it enrolled as and with. CredentialsError says what to do."""
    path = settings.hq_credentials_path
    creds = load_credentials(path)
    if creds.kiosk_id != settings.kiosk.id:
        raise CredentialsError(
            f"{path} enrols kiosk {creds.kiosk_id!r} but [kiosk] id is {settings.kiosk.id!r}: set [kiosk] id = "
            f'"{creds.kiosk_id}", or enrol this id (kiosk enroll CODE --kiosk-id {settings.kiosk.id} --replace)'
        )
    if not same_hq(creds.hq_url, settings.hq.url):
        raise CredentialsError(
            f"{path} is an enrolment at {creds.hq_url} but [hq] url is {settings.hq.url}: set [hq] url = "
            f'"{creds.hq_url}", or enrol at {settings.hq.url} (kiosk enroll CODE --hq {settings.hq.url} --replace)'
        )
    return creds


def build_hq_client(settings: Settings, timeout_s: float | None = None) -> HttpHqClient:
    """The signed HQ client of this enrolled kiosk; CredentialsError when it is not enrolled (or its
    enrolment does not fit the settings). HQ's signed check-now that comes with a sync answer, once
    the client verified it, asks the update agent to poll at once (``<data>/ota/check-now``)."""
    creds = load_enrolment(settings)
    timeout = settings.hq.timeout_s if timeout_s is None else timeout_s
    signer = HqSigner(creds.kiosk_id, creds.secret)
    on_check_now = partial(request_check_now, settings.kiosk.data_dir)
    return HttpHqClient(settings.hq.url, signer, timeout, on_check_now=on_check_now)


def receipt_link(settings: Settings, creds: Credentials) -> Callable[[str], str]:
    """order id -> the sale's e-receipt URL at HQ (docs/sync-protocol.md §7), made offline."""
    base = settings.hq.receipt_base_url

    def link(order_id: str) -> str:
        return base + receipt_path(creds.kiosk_id, order_id, receipt_token(creds.secret, order_id))

    return link


def build_kiosk(
    settings: Settings,
    *,
    wake: Callable[[], None] | None = None,
    overrides: Overrides | None = None,
    background: bool = True,
    config: Path | None = None,
    enrol_on_screen: bool = False,
) -> Kiosk:
    """Build every part from the settings (and the demo's overrides). Starts nothing.

    ``enrol_on_screen`` (``kiosk run``): a kiosk with no credentials file does not sell, and shows
    the enrolment screen instead (``kiosk.enrolment_desk``) until HQ's code is scanned. Without it
    (tests, the demo, a credentials file that does not fit the settings) it sells offline as before.

    A restore IT staged in maintenance mode is applied first, before the store is opened
    (``kiosk.staff_it.apply_staged_restore``); ``config`` is the settings file, for the support
    bundle's doctor report."""
    from kiosk.staff_it import apply_staged_restore

    ov = overrides or Overrides()
    crashpoints.arm_from_environment(os.environ)
    template = ReceiptTemplate.load(settings.receipt_template_path)
    staged = apply_staged_restore(settings)
    store = build_store(settings)
    if staged is not None:  # in the audit log (and so at HQ) either way; a failure also alerts staff
        store.audit("kiosk", "restore_applied" if staged.ok else "restore_failed", staged.detail)
    # HQ's settings for this kiosk, as last pulled, take effect from this start (kiosk.hq_settings)
    settings, _ = apply_hq_settings(settings, store.hq_settings())
    hq: HttpHqClient | UnenrolledHqClient
    link: Callable[[str], str] | None = None
    never_enrolled = False
    try:
        hq = build_hq_client(settings)
        link = receipt_link(settings, load_enrolment(settings))
    except NotEnrolled as exc:
        never_enrolled = enrol_on_screen
        if never_enrolled:
            log.warning("not enrolled at HQ: showing the enrolment screen, not selling")
        else:
            log.warning("selling offline, nothing reaches HQ until this is fixed: %s", exc)
        hq = UnenrolledHqClient(str(exc))
    except CredentialsError as exc:
        log.warning("selling offline, nothing reaches HQ until this is fixed: %s", exc)
        hq = UnenrolledHqClient(str(exc))
    gateway = build_payment_gateway(settings, store)
    printer = PrintService(
        ov.printer or open_configured_printer(settings.printer, settings.kiosk.data_dir),
        build_reprints(store),
        alert=lambda reason: _printer_alert(store, reason),
    )
    indicators = ov.indicators or open_indicators(gpio_pins(settings))

    source = ov.source or build_camera_source(settings)
    sample_camera = source if isinstance(source, HeldImageSource) and ov.samples is not None else None
    controller = CheckoutController(
        options=ControllerOptions(
            kiosk_id=settings.kiosk.id,
            store_name=settings.kiosk.store_name,
            language=settings.kiosk.language,
            timezone=settings.kiosk.timezone,
            paper_columns=COLUMNS_BY_WIDTH_MM[settings.printer.paper_width_mm],
            idle_timeout_s=settings.kiosk.idle_timeout_s,
            still_there_s=settings.kiosk.still_there_s,
            done_timeout_s=settings.kiosk.done_timeout_s,
            payments_enabled=settings.payments.gateway != "none",
            receipt_link=link,
            printer_gone_s=settings.printer.gone_after_min * 60.0,
            gateway_reach=GatewayReachRules(
                settings.payments.unreachable_probes, settings.payments.unreachable_after_s
            ),
        ),
        store=store,
        gateway=gateway,
        printer=printer,
        indicators=indicators,
        template=template,
        wake=wake,
        samples=ov.samples,
        sample_camera=sample_camera,
        clock=ov.clock or SystemClock(),
        background=background,
        clock_sync=ov.clock_sync or build_clock_sync(settings),
    )
    controller.printer_status = printer.last_status  # the printing thread's last poll: no I/O
    controller.members_enabled = settings.members.enabled  # the cart's member button (kiosk.ui)

    on_fault = controller.on_device_fault
    on_recover = controller.on_device_recovered

    cam = settings.camera
    scanner = CameraScanner(
        source,
        build_decoder(cam.backend),
        controller.on_codes,
        on_fault,
        fps=cam.fps,
        repeat_after_s=cam.repeat_after_s,
        fault_after_s=cam.fault_after_s,
        roi=Roi(*cam.roi),
        on_recover=on_recover,
    )
    product_scanners: list[HidWedgeScanner | SerialScanner] = []
    if settings.scanners.hid_device:
        product_scanners.append(
            HidWedgeScanner(
                settings.scanners.hid_device,
                controller.on_codes,
                on_fault,
                max_gap_ms=settings.scanners.hid_max_gap_ms,
                on_recover=on_recover,
            )
        )
    if settings.scanners.serial_port:
        product_scanners.append(
            SerialScanner(
                settings.scanners.serial_port,
                controller.on_codes,
                on_fault,
                baudrate=settings.scanners.serial_baudrate,
                on_recover=on_recover,
            )
        )
    controller.scanner = scanner
    # a hand scanner reads a phone's payment code too: then a camera fault need not stop a payment
    controller.camera_required = not product_scanners
    pusher = OutboxPusher(store, hq, batch_size=settings.hq.batch_size)
    images = ProductImages(settings.kiosk.data_dir / IMAGES_FOLDER, on_changed=controller.images_changed)
    controller.images = images

    def catalog_applied() -> None:
        controller.post(controller.refresh_catalog)
        images.rescan()  # a new product's picture may have been copied in with it

    puller = CatalogPuller(
        store, hq, on_applied=catalog_applied, pictures=build_hq_pictures(settings, hq, images)
    )
    probe = SystemProbe(
        printer.last_status,
        lambda: scanner.fault if scanner.running else None,
        settings.store_path.parent,
    )
    maintenance = build_maintenance(settings, store, controller)
    controller.maintenance = maintenance
    data_dir = settings.kiosk.data_dir
    heartbeats = Heartbeats(
        store,
        probe,
        __version__,
        lambda: pusher.client.clock_offset_s,  # the client enrolment switches to (Kiosk.enrolled)
        maintenance_lockouts=maintenance.lockouts,
        ota=lambda: heartbeat_field(data_dir),
    )
    sync = SyncWorker(
        pusher,
        interval_s=settings.hq.sync_interval_s,
        puller=puller,
        heartbeats=heartbeats,
        heartbeat_s=settings.hq.heartbeat_s,
        on_link=controller.set_hq_offline,  # the screens' calm "offline" line
    )

    def upload_soon(state: Checkout) -> None:
        if state.phase is Phase.PRINTING:  # just paid: the sale is in the outbox
            sync.wake()

    controller.subscribe(upload_soon)

    def reprinted(order_id: str) -> None:
        # a queued receipt came out: the checkout may stop asking for staff about that order
        controller.post(lambda: controller.dispatch(ReceiptPrinted(order_id)))

    printer.on_reprinted = reprinted
    tasks = TaskStore(store.db)  # payments settled at start-up stay tasks until staff dismiss them

    def keep_recovered(report: service.RecoveryReport) -> None:
        tasks.record_recovery(report.outcomes)

    controller.on_recovered = keep_recovered
    staff = StaffActions(
        store=store,
        gateway=gateway,
        printer=printer,
        checkout=controller,
        reprints=printer.queue,
        kiosk_id=settings.kiosk.id,
        timezone=settings.kiosk.timezone,
        paper_columns=COLUMNS_BY_WIDTH_MM[settings.printer.paper_width_mm],
        language=settings.kiosk.language,
        hq_totals=(
            (lambda day: hq.fetch_day_totals(day, settings.kiosk.timezone))
            if isinstance(hq, HttpHqClient)
            else None
        ),
        task_book=tasks,
    )
    console = StaffConsole(maintenance, staff, lambda: controller.language)
    controller.console = console
    console.catalog_changed = lambda: controller.post(controller.refresh_catalog)
    inputs = ov.inputs if ov.inputs is not None else open_inputs(gpio_pins(settings))
    if inputs is not None:
        _wire_inputs(inputs, controller, maintenance)
    kiosk = Kiosk(
        settings,
        store,
        controller,
        gateway,
        hq,
        pusher,
        puller,
        sync,
        scanner,
        printer,
        indicators,
        product_scanners=product_scanners,
        inputs=inputs,
        staff=staff,
        images=images,
        gateway_watch=build_gateway_watch(settings, controller.gateway_probed),
    )
    diagnostics = build_diagnostics(kiosk)
    desk = build_diagnostics_desk(kiosk, diagnostics)
    console.diagnostics = desk
    controller.code_tap = desk
    console.it = build_it_console(settings, store, diagnostics, lambda: controller.language, config)
    kiosk.ota = build_ota_link(kiosk)
    if never_enrolled:
        controller.enrolment = build_enrolment_desk(kiosk)
        controller.enrolment_changed()  # the first screen is the enrolment screen
    return kiosk


def build_hq_pictures(
    settings: Settings, hq: HttpHqClient | UnenrolledHqClient, images: ProductImages
) -> HqPictures | None:
    """HQ's product pictures, kept in step after each catalog pull; None for a kiosk that is not
    enrolled (it has no HQ to ask). Used at start-up and again when the enrolment screen enrols."""
    if not isinstance(hq, HttpHqClient):
        return None
    folder = settings.kiosk.data_dir
    return HqPictures(folder / IMAGES_FOLDER, folder / PICTURES_MANIFEST, hq, images.rescan)


def build_clock_sync(settings: Settings) -> ClockSync:
    """``[kiosk] require_time_sync``: systemd-timesyncd's flag file ("yes"), no sync required ("no";
    the release floor still applies in the controller), or required once timesyncd is seen ("auto",
    decided on every check so it cannot switch itself off)."""
    k = settings.kiosk
    sync = clock_sync_for(k.require_time_sync, k.time_sync_file)
    if isinstance(sync, TimesyncdClockSync):
        log.info("payments wait for network time (%s)", k.time_sync_file)
    elif isinstance(sync, AutoClockSync):
        log.info("payments wait for network time (%s) wherever systemd-timesyncd runs", k.time_sync_file)
    return sync


def build_gateway_watch(settings: Settings, on_result: Callable[[bool], None]) -> GatewayWatch | None:
    """The background reachability probe of the configured channels (``[payments] probe_interval_s``);
    None for an uncommissioned kiosk (already out of service) or with probes off."""
    p = settings.payments
    if p.gateway == "none" or p.probe_interval_s <= 0:
        return None
    urls = [
        url
        for channel, url in (("wechat", p.wechat.gateway_url), ("alipay", p.alipay.gateway_url))
        if channel in p.gateway
    ]
    timeout = min(3.0, p.probe_interval_s)
    return GatewayWatch(HttpGatewayProbe(urls, timeout), on_result, interval_s=p.probe_interval_s)


def build_enrolment_desk(kiosk: Kiosk) -> EnrolmentDesk:
    """The enrolment screen's desk: redeems a scanned code with ``kiosk.sync.enrolment.enrol`` (as
    ``kiosk enroll`` does), on its own thread, then switches the running kiosk to HQ."""
    settings, controller = kiosk.settings, kiosk.controller

    def redeem(payload: EnrolPayload, language: str) -> Credentials:
        if not same_hq(payload.hq_url, settings.hq.url):
            # the code is not spent: credentials for another HQ would not fit [hq] url (load_enrolment)
            raise EnrolRefused(t("enrol.other_hq", language, url=payload.hq_url, configured=settings.hq.url))
        try:
            return enrol(
                payload.code,
                payload.hq_url,
                settings.kiosk.id,
                settings.hq_credentials_path,
                language,
                timeout_s=settings.hq.timeout_s,
            )
        except EnrolFailed as exc:
            raise EnrolRefused(str(exc), retry=exc.retry) from None

    desk = EnrolmentDesk(
        kiosk_id=settings.kiosk.id,
        fingerprint=kiosk.store.device_fingerprint(),
        hq_url=settings.hq.url,
        redeem=redeem,
        language=lambda: controller.language,
        post=controller.post,
        on_enrolled=lambda _creds: kiosk.enrolled(),
    )
    desk.on_change = controller.enrolment_changed
    return desk


def build_it_console(
    settings: Settings,
    store: SaleStore,
    diagnostics: Diagnostics,
    language: Callable[[], str],
    config: Path | None = None,
) -> ItConsole:
    """IT's maintenance actions (settings, network, logs, bundle, backup, restore, exit) on this
    kiosk's store audit, diagnostics checks and HQ enrolment."""
    from kiosk.staff_it import ItConsole

    return ItConsole(
        settings,
        store.audit,
        language,
        diagnostics,
        lambda: build_hq_client(settings),
        lambda: build_bundle_sources(settings, config),
    )


def build_ota_link(kiosk: Kiosk) -> OtaLink:
    """The update agent's socket and this release's health report (docs/ota.md). The store is open
    and migrated by now; the UI reports itself (kiosk.app), the rest is watched until it answers."""
    controller, sync = kiosk.controller, kiosk.sync
    printer, scanner = kiosk.printer, kiosk.scanner

    def maintenance_open() -> bool:
        return controller.maintenance_session() is not None

    def printer_answered() -> bool:
        status = printer.last_status() if isinstance(printer, PrintService) else None
        return status is not None and status.online is not None

    def hq_reached() -> bool:
        if isinstance(kiosk.hq, UnenrolledHqClient):  # read now: the enrolment screen may switch it
            return True  # no HQ to reach: the kiosk sells offline, and the update came from elsewhere
        reports = (sync.last_report, sync.last_pull)
        return any(r is not None and not r.unreachable and not r.error for r in reports)

    zone = ZoneInfo(kiosk.settings.kiosk.timezone)
    link = OtaLink(
        kiosk.settings.kiosk.data_dir,
        controller,
        __version__,
        maintenance_open=maintenance_open,
        window=parse_window(kiosk.settings.ota.maintenance_window),
        local_time=lambda: datetime.now(zone).time(),
    )
    link.watch = HealthWatch(printer_answered, lambda: scanner.frames_read > 0, hq_reached)
    link.healthy("store")
    return link


def build_maintenance(
    settings: Settings, store: SaleStore, controller: CheckoutController
) -> MaintenanceLock:
    """The maintenance unlock on the store's staff accounts, on the wall clock (badges expire by it and
    a lockout outlasts a reboot). A payment is in flight while the checkout is paying."""
    m = settings.maintenance
    config = MaintenanceConfig(
        key_switch=KeySwitchMode(m.key_switch),
        key_role=Role(m.key_role),
        idle_lock_s=m.idle_lock_s,
        limiter=LimiterConfig(m.backoff_from, m.lockout_after, m.base_delay_s, m.lockout_s),
    )
    return MaintenanceLock(
        config,
        StaffStore(store.db, store.audit),
        time.time,
        lambda: controller.state.phase is Phase.PAYING,
    )


def _wire_inputs(
    inputs: GpiozeroInputs, controller: CheckoutController, maintenance: MaintenanceLock
) -> None:
    """Paper low calls staff (the kiosk keeps selling until the printer itself says "out"); the key
    switch goes to the maintenance unlock ([maintenance] key_switch), which audits it."""

    def paper_low(low: bool) -> None:
        if low:
            controller.on_device_fault("paper: low, refill the printer soon (paper-low sensor)")
        else:
            controller.on_device_recovered("paper: refilled")

    def key_switch(on: bool) -> None:
        def turned() -> None:
            maintenance.key_switch(on)

        controller.post(turned)

    inputs.on_paper_low = paper_low
    inputs.on_key_switch = key_switch


# --- printer: [printer] as the driver's plain arguments ------------------------------------------------


def printer_config(section: PrinterSection, data_dir: Path) -> PrinterConfig:
    """``[printer]`` for ``open_printer``; a relative receipt folder (transport file) is in ``data_dir``."""
    device = section.device
    if section.transport == "file" and not Path(device).is_absolute():
        device = str(data_dir / device)
    return PrinterConfig(
        transport=section.transport,
        device=device,
        baudrate=section.baudrate,
        profile=section.profile,
        encoding=section.encoding,
        status_timeout_ms=section.status_timeout_ms,
        nv_logo=section.nv_logo,
    )


def open_configured_printer(section: PrinterSection, data_dir: Path) -> PrinterDriver:
    """The printer ``[printer]`` names, touching no device; ValueError naming the key for a bad value."""
    try:
        return open_printer(printer_config(section, data_dir))
    except ValueError as exc:
        raise ValueError(f"[printer] {exc}") from exc


def gpio_pins(settings: Settings) -> GpioPins:
    """The ``[gpio]`` settings as the GPIO drivers take them (drivers never read the settings)."""
    g = settings.gpio
    return GpioPins(
        enabled=g.enabled,
        pin_factory=g.pin_factory,
        status_led=g.status_led,
        buzzer=g.buzzer,
        maintenance_key=g.maintenance_key,
        paper_low_sensor=g.paper_low_sensor,
        printer_busy=g.printer_busy,
        relay=g.relay,
    )


# --- maintenance: diagnostics and the support bundle, from the running kiosk's parts -------------------


def build_diagnostics(kiosk: Kiosk) -> Diagnostics:
    """The maintenance screens' diagnostics, on the kiosk's own printer, scanner, pins, store and gateway."""
    from kiosk.maintenance.bundle import os_version
    from kiosk.maintenance.diagnostics import Diagnostics, Parts

    s = kiosk.settings
    scanner = kiosk.scanner
    return Diagnostics(
        Parts(
            settings=s,
            store=kiosk.store,
            printer=kiosk.printer,
            indicators=kiosk.indicators,
            gateway=kiosk.gateway,
            app_version=__version__,
            os_version=os_version,
            scan_stats=lambda: scanner.stats() if scanner.running else None,
            hq_client=lambda: build_hq_client(s, min(5.0, s.hq.timeout_s)),
            inputs=kiosk.inputs,
            clock=kiosk.controller.clock,
        )
    )


def build_diagnostics_desk(kiosk: Kiosk, diagnostics: Diagnostics | None = None) -> DiagnosticsDesk:
    """The staff menu's diagnostics panel (``kiosk.staff_diagnostics``): the checks, the camera view
    on the kiosk's own scanner, open only while a maintenance session is."""
    from kiosk.staff_diagnostics import DiagnosticsDesk

    controller = kiosk.controller

    def session_open() -> bool:
        lock = controller.maintenance
        return lock is not None and lock.current() is not None

    checks = diagnostics if diagnostics is not None else build_diagnostics(kiosk)
    return DiagnosticsDesk(checks, session_open, kiosk.scanner)


def build_bundle_sources(settings: Settings, config: Path | None) -> BundleSources:
    """What a support bundle is made of: the kiosk unit's journal, and ``kiosk doctor`` run in a child
    process with the same ``config`` (so it never opens the running kiosk's devices twice)."""
    from kiosk.maintenance.bundle import BundleSources, doctor_in_child, journal_logs

    return BundleSources(settings, __version__, logs=journal_logs, doctor=doctor_in_child(config))
