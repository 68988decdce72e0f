"""The one place that turns settings into a running kiosk: every adapter is chosen here, nowhere else."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.camera.decoders import make_decoder
from drivers.camera.scanner import CameraScanner
from drivers.camera.sources import HeldImageSource, open_source
from drivers.gpio.indicators import open_indicators
from drivers.printer.escpos_printer import open_printer
from kiosk.controller import (
    CheckoutController,
    ControllerOptions,
    RecoveryReport,
    SampleCodes,
    recover_unfinished,
)
from kiosk.core.checkout import Checkout, Phase
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM, ReceiptTemplate
from kiosk.payments.charge import charge_until_final
from kiosk.payments.simulator_gateway import SimulatorGateway
from kiosk.ports import (
    ChargeRequest,
    ChargeResult,
    FrameSource,
    HqError,
    Indicators,
    PaymentGateway,
    ReceiptPrinter,
)
from kiosk.settings import Settings
from kiosk.store.db import open_store
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

    def start(self) -> None:
        """Settle what a crash left behind, refresh the catalog, then start scanning and syncing."""
        self.recovery = recover_unfinished(self.store, self.gateway)
        if self.recovery.resolved or self.recovery.unresolved:
            log.warning(
                "after restart: %d payment(s) settled, %d still unresolved",
                len(self.recovery.resolved),
                len(self.recovery.unresolved),
            )
        self.refresh_catalog()
        self.scanner.start()
        self.sync.start()

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
        self.sync.stop()
        self.controller.close()
        self.printer.close()
        self.indicators.close()
        self.store.db.close()


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
    gateway = SimulatorGateway(settings.payments.simulator.url, settings.payments.simulator.timeout_s)
    printer = ov.printer or open_printer(settings.printer, data_dir=settings.kiosk.data_dir)
    indicators = ov.indicators or open_indicators(settings.gpio)
    pay = settings.payments

    def charge(gw: PaymentGateway, request: ChargeRequest) -> ChargeResult:
        return charge_until_final(
            gw, request, time.monotonic, time.sleep, pay.max_wait_s, pay.poll_interval_s
        )

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

    def on_fault(reason: str) -> None:
        log.warning("camera fault: %s", reason)

    scanner = CameraScanner(
        source, make_decoder(settings.camera.backend), controller.on_codes, on_fault, fps=settings.camera.fps
    )
    controller.scanner = scanner
    hq = HttpHqClient(settings.hq.url, settings.hq.api_key, settings.kiosk.id, settings.hq.timeout_s)
    pusher = OutboxPusher(store, hq, batch_size=settings.hq.batch_size)
    sync = SyncWorker(pusher, interval_s=settings.hq.sync_interval_s)

    def upload_soon(state: Checkout) -> None:
        if state.phase is Phase.PRINTING:  # just paid: the sale is in the outbox
            sync.wake()

    controller.subscribe(upload_soon)
    return Kiosk(settings, store, controller, gateway, hq, pusher, sync, scanner, printer, indicators)
