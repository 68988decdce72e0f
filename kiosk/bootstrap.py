"""The one place that turns settings into a running kiosk: every adapter is chosen here, nowhere else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.camera.decoders import make_decoder
from drivers.camera.scanner import CameraScanner, Roi
from drivers.camera.sources import HeldImageSource, open_source
from drivers.gpio.indicators import open_indicators
from drivers.gpio.inputs import GpiozeroInputs, open_inputs
from drivers.gpio.types import GpioPins
from drivers.printer.escpos_printer import open_printer
from drivers.scanners.hid_wedge import HidWedgeScanner
from drivers.scanners.serial_scanner import SerialScanner
from kiosk.controller import (
    CheckoutController,
    ControllerOptions,
    RecoveryReport,
    SampleCodes,
    recover_unfinished,
)
from kiosk.core.checkout import Checkout, Phase, ReceiptPrinted
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM, ReceiptTemplate
from kiosk.payments.charge import charge_until_final
from kiosk.payments.service import build_gateway, make_charge
from kiosk.ports import (
    ChargeRequest,
    ChargeResult,
    FrameSource,
    HqError,
    Indicators,
    PaymentGateway,
    ReceiptPrinter,
)
from kiosk.printing import PrintService
from kiosk.settings import Settings
from kiosk.store.db import open_store
from kiosk.store.reprints import ReprintStore
from kiosk.store.sales import SaleStore
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import OutboxPusher, SyncWorker

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Overrides:
    """Adapters the demo (or a test) supplies instead of the ones the settings name."""

    source: FrameSource | None = None
    printer: ReceiptPrinter | None = None
    indicators: Indicators | None = None
    inputs: GpiozeroInputs | None = None
    samples: SampleCodes | None = None


@dataclass(slots=True)
class Kiosk:
    settings: Settings
    store: SaleStore
    controller: CheckoutController
    gateway: PaymentGateway
    hq: HttpHqClient
    pusher: OutboxPusher
    sync: SyncWorker
    scanner: CameraScanner
    printer: ReceiptPrinter
    indicators: Indicators
    recovery: RecoveryReport = field(default_factory=RecoveryReport)
    #: USB keyboard-wedge and serial barcode scanners (settings [scanners]); they feed controller.on_codes
    product_scanners: list[HidWedgeScanner | SerialScanner] = field(default_factory=list)
    #: the maintenance key switch and the paper-low sensor (settings [gpio]); None without GPIO
    inputs: GpiozeroInputs | None = None

    def start(self) -> None:
        """Settle what a crash left behind, refresh the catalog, then start scanning and syncing."""
        pay = self.settings.payments
        self.recovery = recover_unfinished(self.store, self.gateway, pay.max_wait_s, pay.poll_interval_s)
        if self.recovery.resolved or self.recovery.unresolved:
            log.warning(
                "after restart: %d payment(s) settled, %d still unresolved",
                len(self.recovery.resolved),
                len(self.recovery.unresolved),
            )
        self.refresh_catalog()
        self.scanner.start()
        for product_scanner in self.product_scanners:
            product_scanner.start()
        self.sync.start()
        if isinstance(self.printer, PrintService):
            self.printer.start()  # reprints what failed before, and watches the printer

    def refresh_catalog(self) -> bool:
        try:
            items = self.hq.fetch_catalog()
        except HqError as exc:
            log.warning("catalog not refreshed, selling from the local copy: %s", exc)
            return False
        self.store.replace_catalog(items)
        self.controller.refresh_catalog()
        return True

    def stop(self) -> None:
        self.scanner.stop()
        for product_scanner in self.product_scanners:
            product_scanner.stop()
        self.sync.stop()
        self.controller.close()
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


def build_kiosk(
    settings: Settings,
    *,
    wake: Callable[[], None] | None = None,
    overrides: Overrides | None = None,
    background: bool = True,
) -> Kiosk:
    """Build every part from the settings (and the demo's overrides). Starts nothing."""
    ov = overrides or Overrides()
    template = ReceiptTemplate.load(settings.receipt_template_path)
    store = SaleStore(open_store(settings.store_path), settings.kiosk.id)
    gateway = build_gateway(settings.payments, store.payment_channel)
    printer = PrintService(
        ov.printer or open_printer(settings.printer, data_dir=settings.kiosk.data_dir),
        ReprintStore(store.db),
        alert=lambda reason: _printer_alert(store, reason),
    )
    indicators = ov.indicators or open_indicators(gpio_pins(settings))
    pay = settings.payments

    def simulator_charge(gw: PaymentGateway, request: ChargeRequest) -> ChargeResult:
        return charge_until_final(
            gw, request, time.monotonic, time.sleep, pay.max_wait_s, pay.poll_interval_s
        )

    # The demo's JSON simulator keeps its simple loop; real channels run their own state machines.
    charge = simulator_charge if pay.gateway == "simulator" else make_charge(store, pay)

    source = ov.source or open_source(
        settings.camera.source,
        settings.camera.width,
        settings.camera.height,
        settings.camera.fps,
        settings.camera.loop,
    )
    sample_camera = source if isinstance(source, HeldImageSource) and ov.samples is not None else None
    controller = CheckoutController(
        options=ControllerOptions(
            kiosk_id=settings.kiosk.id,
            store_name=settings.kiosk.store_name,
            language=settings.kiosk.language,
            timezone=settings.kiosk.timezone,
            paper_columns=COLUMNS_BY_WIDTH_MM[settings.printer.paper_width_mm],
            idle_timeout_s=settings.kiosk.idle_timeout_s,
            done_timeout_s=settings.kiosk.done_timeout_s,
            max_wait_s=pay.max_wait_s,
            poll_interval_s=pay.poll_interval_s,
        ),
        store=store,
        gateway=gateway,
        charge=charge,
        printer=printer,
        indicators=indicators,
        template=template,
        wake=wake,
        samples=ov.samples,
        sample_camera=sample_camera,
        background=background,
    )

    on_fault = controller.on_device_fault
    on_recover = controller.on_device_recovered

    cam = settings.camera
    scanner = CameraScanner(
        source,
        make_decoder(cam.backend),
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
    hq = HttpHqClient(settings.hq.url, settings.hq.api_key, settings.kiosk.id, settings.hq.timeout_s)
    pusher = OutboxPusher(store, hq, batch_size=settings.hq.batch_size)
    sync = SyncWorker(pusher, interval_s=settings.hq.sync_interval_s)

    def upload_soon(state: Checkout) -> None:
        if state.phase is Phase.PRINTING:  # just paid: the sale is in the outbox
            sync.wake()

    controller.subscribe(upload_soon)

    def reprinted(order_id: str) -> None:
        # a queued receipt came out: the checkout may stop asking for staff about that order
        controller.post(lambda: controller.dispatch(ReceiptPrinted(order_id)))

    printer.on_reprinted = reprinted
    inputs = ov.inputs if ov.inputs is not None else open_inputs(gpio_pins(settings))
    if inputs is not None:
        _wire_inputs(inputs, controller, store)
    return Kiosk(
        settings,
        store,
        controller,
        gateway,
        hq,
        pusher,
        sync,
        scanner,
        printer,
        indicators,
        product_scanners=product_scanners,
        inputs=inputs,
    )


def _wire_inputs(inputs: GpiozeroInputs, controller: CheckoutController, store: SaleStore) -> None:
    """Paper low calls staff (the kiosk keeps selling until the printer itself says "out"); the key
    switch is recorded for the maintenance mode, which will act on it."""

    def paper_low(low: bool) -> None:
        if low:
            controller.on_device_fault("paper: low, refill the printer soon (paper-low sensor)")
        else:
            controller.on_device_recovered("paper: refilled")

    def key_switch(on: bool) -> None:
        controller.post(lambda: store.audit("staff", "key_switch", "on" if on else "off"))

    inputs.on_paper_low = paper_low
    inputs.on_key_switch = key_switch


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
