"""Diagnostics for the maintenance screens: each check of the kiosk's own parts, as a typed result.

The checks use the running kiosk's parts (its printer service, its camera scanner's counters, its
indicators and inputs, its store and gateway), never a second handle on a device the kiosk holds:
opening the serial printer or the camera twice would fail, or take it from the checkout. Where
``kiosk doctor`` already has the check and it needs no device (the gateway's reachability), it is
reused. Each result is ok / warn / fail with the message in both languages, so a screen shows it in
the current language and the support bundle can keep both.

The gateway test charge is a real charge of 1 fen, through the one payment path
(``kiosk.payments.service.charge_order``) on a test order recorded in the store like any sale, then
refunded through ``refund_order``; both are audited as a diagnostic, and HQ receives the sale and its
refund as for any other order, so the books stay whole.
"""

from __future__ import annotations

import enum
import shutil
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from drivers.camera.scanner import ScanStats
from kiosk.core.cart import Cart, Product
from kiosk.core.codes import classify
from kiosk.core.payment import RefundRules
from kiosk.core.receipt import COLUMNS_BY_WIDTH_MM
from kiosk.i18n import t
from kiosk.payments.service import charge_order, refund_order
from kiosk.ports import (
    ChargeStatus,
    Clock,
    Indicators,
    Light,
    PaymentGateway,
    ReceiptPrinter,
    SaleRepository,
)
from kiosk.settings import Settings
from kiosk.sync.hq_client import HttpHqClient

#: the SKU of a diagnostic test order, so reports and HQ can tell it from a sale
DIAGNOSTIC_SKU = "DIAGNOSTIC-TEST"
TEST_CHARGE_FEN = 1
#: the data folder is "nearly full" below this many MB free, or below this fraction
LOW_DISK_MB = 200
LOW_DISK_FRACTION = 0.05
WHOAMI_PATH = "/api/v1/whoami"


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Result:
    """One check's verdict. ``name`` is fixed English for scripts; ``zh`` and ``en`` are for people;
    ``data`` holds the numbers behind the message (counts, MB, addresses)."""

    name: str
    status: Status
    zh: str
    en: str
    data: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh_CN" else self.en

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def label(self, lang: str) -> str:
        """The status as a screen shows it: 正常 / 注意 / 失败, OK / WARN / FAIL."""
        return t(f"diag.{self.status.value}", lang)


def result(
    name: str, status: Status, key: str, data: Mapping[str, Any] | None = None, **fields: Any
) -> Result:
    return Result(name, status, t(key, "zh_CN", **fields), t(key, "en", **fields), dict(data or {}))


class Inputs(Protocol):
    """The GPIO inputs as ``drivers.gpio.inputs.GpiozeroInputs`` reads them (None: not fitted)."""

    @property
    def key_switch_on(self) -> bool | None: ...

    @property
    def paper_low(self) -> bool | None: ...

    @property
    def printer_busy(self) -> bool | None: ...


@dataclass(slots=True)
class Parts:
    """What the diagnostics use, from the running kiosk (``kiosk.bootstrap.build_diagnostics``)."""

    settings: Settings
    store: SaleRepository
    printer: ReceiptPrinter
    indicators: Indicators
    gateway: PaymentGateway
    app_version: str
    os_version: Callable[[], str]
    #: the camera scanner's counters; None when it is not running
    scan_stats: Callable[[], ScanStats | None]
    #: a fresh signed HQ client (the caller closes it); raises CredentialsError when not enrolled
    hq_client: Callable[[], HttpHqClient]
    inputs: Inputs | None = None
    clock: Clock | None = None
    refund_rules: RefundRules = field(default_factory=RefundRules)
    #: where the SD card's block devices are described
    sys_block: Path = Path("/sys/block")


class Diagnostics:
    """Each method runs one check and never raises: a failure is a FAIL result that says why."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    # --- printer ----------------------------------------------------------------------------------

    def printer(self) -> Result:
        s = self.parts.settings
        where = f"{s.printer.transport} {s.printer.device}"
        if s.printer.transport == "none":
            return result("printer", Status.WARN, "diag.printer.none")
        status = self.parts.printer.status()
        data = {"online": status.online, "paper": str(status.paper), "errors": list(status.errors)}
        if status.ready:
            return result("printer", Status.OK, "diag.printer.ready", data, where=where)
        detail = status.detail or ", ".join(status.errors) or str(status.paper)
        return result("printer", Status.FAIL, "diag.printer.not_ready", data, where=where, detail=detail)

    def printer_test_page(self) -> Result:
        """The test page ``kiosk printer test`` prints, through the kiosk's printer service."""
        from kiosk.commands.printer import TEST_PAGE_ID, build_test_page

        s = self.parts.settings
        page = build_test_page(s.printer.encoding, COLUMNS_BY_WIDTH_MM[s.printer.paper_width_mm])
        # straight to the driver under the print service: a test page that fails is reported here,
        # never queued for a reprint later
        target: ReceiptPrinter = getattr(self.parts.printer, "printer", self.parts.printer)
        try:
            target.print_receipt(TEST_PAGE_ID, page)
        except Exception as exc:
            return result("printer test page", Status.FAIL, "diag.printer.page_failed", reason=str(exc)[:200])
        return result("printer test page", Status.OK, "diag.printer.page_ok")

    # --- camera -----------------------------------------------------------------------------------

    def camera(self) -> Result:
        stats = self.parts.scan_stats()
        if stats is None:
            return result("camera", Status.WARN, "diag.camera.idle")
        data = {
            "frames_read": stats.frames_read,
            "frames_decoded": stats.frames_decoded,
            "frames_dropped": stats.frames_dropped,
            "codes_reported": stats.codes_reported,
            "decode_ms_median": stats.decode_ms_median,
            "decode_ms_p95": stats.decode_ms_p95,
            "capture_fps": stats.capture_fps,
        }
        if stats.fault:
            return result("camera", Status.FAIL, "diag.camera.fault", data, fault=stats.fault)
        status = Status.OK if stats.frames_read > 0 else Status.WARN
        return result(
            "camera",
            status,
            "diag.camera.stats",
            data,
            read=stats.frames_read,
            decoded=stats.frames_decoded,
            dropped=stats.frames_dropped,
            codes=stats.codes_reported,
            median=stats.decode_ms_median,
            p95=stats.decode_ms_p95,
            fps=stats.capture_fps,
        )

    # --- GPIO -------------------------------------------------------------------------------------

    def gpio(self) -> Result:
        """LED on then off, one beep, then the light the kiosk showed before; the inputs as read."""
        g = self.parts.settings.gpio
        if not g.enabled:
            return result("gpio", Status.WARN, "diag.gpio.off")
        ind = self.parts.indicators
        before = getattr(ind, "light", None)
        ind.show(Light.READY)
        ind.show(Light.OFF)
        ind.beep()
        ind.show(before if isinstance(before, Light) else Light.OFF)
        read = self.gpio_inputs()
        if read.status is not Status.OK:
            return read
        return result("gpio", Status.OK, "diag.gpio.ok", read.data, inputs=read.data["shown"])

    def gpio_inputs(self) -> Result:
        """The inputs as read now and which outputs are fitted, without lighting or beeping anything
        (the screen's LED and buzzer buttons do that, one at a time, so staff see which one works)."""
        g = self.parts.settings.gpio
        if not g.enabled:
            return result("gpio", Status.WARN, "diag.gpio.off")
        ind, inputs = self.parts.indicators, self.parts.inputs
        read = {
            "key_switch_on": inputs.key_switch_on if inputs else None,
            "paper_low": inputs.paper_low if inputs else None,
            "printer_busy": inputs.printer_busy if inputs else None,
        }
        shown = ", ".join(f"{k}={'-' if v is None else v}" for k, v in read.items())
        missing = [
            name
            for name, fitted in (
                ("status LED", getattr(ind, "led_available", g.status_led is not None)),
                ("buzzer", getattr(ind, "buzzer_available", g.buzzer is not None)),
            )
            if not fitted
        ]
        data = {"inputs": read, "missing": missing, "shown": shown}
        if missing:
            return result(
                "gpio", Status.WARN, "diag.gpio.missing", data, missing=", ".join(missing), inputs=shown
            )
        return result("gpio", Status.OK, "diag.gpio.inputs", data, inputs=shown)

    def led(self, on: bool, restore: Light = Light.OFF) -> Result:
        """The status LED blinking (``on``), or back to ``restore`` (the light the kiosk showed)."""
        if not self.parts.settings.gpio.enabled:
            return result("gpio led", Status.WARN, "diag.gpio.off")
        self.parts.indicators.show(Light.BUSY if on else restore)
        return result("gpio led", Status.OK, "diag.gpio.led_on" if on else "diag.gpio.led_off")

    def buzzer(self) -> Result:
        """One beep, the one a scan makes."""
        if not self.parts.settings.gpio.enabled:
            return result("gpio buzzer", Status.WARN, "diag.gpio.off")
        self.parts.indicators.beep()
        return result("gpio buzzer", Status.OK, "diag.gpio.beeped")

    # --- network, HQ, gateway ---------------------------------------------------------------------

    def network(self) -> Result:
        """The address this kiosk reaches HQ from (a UDP "connect" sends nothing; it picks the route)."""
        parts = urlsplit(self.parts.settings.hq.url)
        host, port = parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((socket.gethostbyname(host), port))
                address = sock.getsockname()[0]
        except OSError:
            return result("network", Status.FAIL, "diag.network.none")
        return result("network", Status.OK, "diag.network.ok", {"address": address}, addresses=address)

    def hq(self) -> Result:
        """A signed ``GET /api/v1/whoami``: HQ is reachable, and knows this kiosk by its credentials."""
        from kiosk.sync.credentials import CredentialsError

        url = self.parts.settings.hq.url
        try:
            client = self.parts.hq_client()
        except CredentialsError as exc:
            return result("hq", Status.FAIL, "diag.hq.not_enrolled", reason=str(exc)[:300])
        try:
            response = requests.get(
                client.base_url + WHOAMI_PATH,
                auth=client.signer,
                timeout=client.timeout_s,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return result("hq", Status.FAIL, "diag.hq.unreachable", url=url, reason=type(exc).__name__)
        finally:
            client.close()
        if response.status_code != 200:
            try:
                said = str(response.json().get("error", ""))[:200]
            except ValueError:
                said = ""
            reason = f"HTTP {response.status_code} {said}".strip()
            return result("hq", Status.FAIL, "diag.hq.unreachable", url=url, reason=reason)
        who = response.json()
        return result(
            "hq",
            Status.OK,
            "diag.hq.ok",
            {"kiosk_id": who.get("kiosk_id"), "store": who.get("store")},
            url=url,
            kiosk_id=who.get("kiosk_id"),
            store=who.get("store"),
        )

    def gateway(self) -> Result:
        """``kiosk doctor``'s gateway check (credentials load, each channel's host answers), in both
        languages; it charges nothing."""
        from kiosk.doctor import check_gateway

        s = self.parts.settings
        try:
            en, zh = check_gateway(s, "en"), check_gateway(s, "zh_CN")
        except Exception as exc:
            return result("gateway", Status.FAIL, "diag.gateway.failed", reason=f"{type(exc).__name__}")
        return Result("gateway", Status(en.status.lower()), zh.detail, en.detail)

    def test_charge(self, code: str, actor: str) -> Result:
        """Charge ``code`` 1 fen on a test order, then refund it; both recorded and audited."""
        s = self.parts.settings
        if s.payments.gateway == "none":
            return result("test charge", Status.FAIL, "diag.charge.no_gateway")
        classified = classify(code)
        if not classified.is_payment or classified.text != code:
            return result("test charge", Status.FAIL, "diag.charge.not_paid", reason="not a payment code")
        store, gateway = self.parts.store, self.parts.gateway
        product = Product(
            DIAGNOSTIC_SKU, "诊断测试收款", "Diagnostic test charge", TEST_CHARGE_FEN, None, "test"
        )
        order_id = store.open_order(Cart().add(product))
        store.audit(actor, "diagnostic_charge", f"test order {order_id}: charge {TEST_CHARGE_FEN} fen")
        charged = charge_order(
            store,
            gateway,
            order_id,
            classified.kind.value,
            code,
            f"{s.kiosk.store_name} test",
            self.parts.clock,
        )
        if charged.status is not ChargeStatus.PAID or not charged.recorded:
            if charged.status in (ChargeStatus.FAILED, ChargeStatus.CANCELLED) or charged.code_used:
                store.cancel_order(order_id)
            store.audit(
                actor, "diagnostic_charge", f"{order_id}: {charged.status.value} {charged.reason}"[:500]
            )
            data = {"order_id": order_id, "status": charged.status.value}
            return result(
                "test charge", Status.FAIL, "diag.charge.not_paid", data, reason=charged.reason[:200]
            )
        refund = refund_order(
            store,
            gateway,
            order_id,
            actor,
            reason="diagnostic test charge",
            rules=self.parts.refund_rules,
            clock=self.parts.clock,
        )
        data = {"order_id": order_id, "out_trade_no": charged.out_trade_no, "refund": refund.status}
        if refund.status != "refunded":
            store.audit(actor, "diagnostic_charge", f"{order_id}: paid, refund {refund.status}")
            return result(
                "test charge",
                Status.FAIL,
                "diag.charge.not_refunded",
                data,
                out_trade_no=charged.out_trade_no,
                reason=refund.reason[:200],
            )
        store.audit(actor, "diagnostic_charge", f"{order_id}: paid and refunded ({refund.out_refund_no})")
        return result(
            "test charge",
            Status.OK,
            "diag.charge.ok",
            data,
            out_trade_no=charged.out_trade_no,
            out_refund_no=refund.out_refund_no,
        )

    # --- storage and versions ---------------------------------------------------------------------

    def disk(self) -> Result:
        folder = self.parts.settings.store_path.parent
        usage = shutil.disk_usage(folder)
        free_mb, total_mb = usage.free // 2**20, usage.total // 2**20
        data = {"free_mb": free_mb, "total_mb": total_mb}
        low = free_mb < LOW_DISK_MB or usage.free < usage.total * LOW_DISK_FRACTION
        key = "diag.disk.low" if low else "diag.disk.ok"
        return result(
            "disk",
            Status.WARN if low else Status.OK,
            key,
            data,
            path=folder,
            free_mb=free_mb,
            total_mb=total_mb,
        )

    def sd_card(self) -> Result:
        """eMMC/SD wear as the kernel reports it (``life_time``, ``pre_eol_info``); most SD cards do
        not report it, and then the result says "unknown" (not a fault)."""
        device = self.parts.sys_block / "mmcblk0" / "device"
        reading = sd_wear(_read_text(device / "life_time"), _read_text(device / "pre_eol_info"))
        if reading is None:
            return result("sd card", Status.OK, "diag.sd.unknown", {"known": False})
        worn, detail = reading
        key = "diag.sd.worn" if worn else "diag.sd.ok"
        return result(
            "sd card",
            Status.WARN if worn else Status.OK,
            key,
            {"known": True},
            device="mmcblk0",
            detail=detail,
        )

    def versions(self) -> Result:
        app, os_name = self.parts.app_version, self.parts.os_version()
        return result(
            "versions", Status.OK, "diag.versions", {"app": app, "os": os_name}, app=app, os=os_name
        )

    def run_all(self) -> list[Result]:
        """Every check that needs no one at the kiosk (no test page, no charge)."""
        checks = (self.printer, self.camera, self.gpio, self.network, self.hq, self.gateway, self.disk)
        out = []
        for check in (*checks, self.sd_card, self.versions):
            try:
                out.append(check())
            except Exception as exc:  # a diagnostic reports, never crashes the screen
                name = getattr(check, "__name__", "check")
                out.append(
                    Result(
                        name,
                        Status.FAIL,
                        f"{name} 检查出错：{type(exc).__name__}",
                        f"{name} check failed: {type(exc).__name__}",
                    )
                )
        return out


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def sd_wear(life_time: str | None, pre_eol: str | None) -> tuple[bool, str] | None:
    """(worn, detail) from the kernel's eMMC wear fields, or None when they are missing or unreadable.

    ``life_time`` is two hex values (type A and B cells), each 0x01 = 0-10 % of life used ... 0x0A =
    90-100 %, 0x0B = exceeded; ``pre_eol_info`` 0x01 normal, 0x02 warning (80 % of reserve), 0x03 urgent.
    """
    try:
        used = [int(v, 16) for v in (life_time or "").split()]
        eol = int(pre_eol, 16) if pre_eol else None
    except ValueError:
        return None
    if not used and eol is None:
        return None
    worst = max(used, default=0)
    parts = []
    if used:
        parts.append(
            f"{min(worst, 11) * 10 - 10}-{min(worst * 10, 100)}% of life used"
            if worst <= 10
            else "life exceeded"
        )
    if eol is not None:
        parts.append({1: "reserve normal", 2: "reserve low", 3: "reserve urgent"}.get(eol, f"pre-EOL {eol}"))
    return (worst >= 9 or (eol or 0) >= 2), "; ".join(parts)
