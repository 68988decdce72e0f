"""Settings: one frozen, validated object built from config/kiosk.toml, a --config file and KIOSK_* variables.

Later sources override earlier ones key by key. Each value remembers where it came from, so an error
names the file (or variable), the key, the value and what is allowed, and start-up stops there:
a kiosk that starts with a wrong baud rate or gateway address fails quietly in front of a customer.

Environment variables use a double underscore between levels: ``KIOSK_PRINTER__BAUDRATE=115200``,
``KIOSK_PAYMENTS__SIMULATOR__URL=http://127.0.0.1:8090``. Values are parsed as TOML when they can be
(numbers, booleans), else taken as strings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kiosk.layered_settings import SettingsError, load_layered

__all__ = ["Settings", "SettingsError", "load_settings"]

REPO_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENV_PREFIX = "KIOSK_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field("kiosk-001", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    store_name: str = Field("自助收银 Self-checkout", min_length=1, max_length=64)
    language: Literal["zh_CN", "en"] = "zh_CN"
    data_dir: Path = Path("/var/lib/kiosk")
    timezone: str = "Asia/Shanghai"
    idle_timeout_s: float = Field(60.0, gt=0, le=3600)
    done_timeout_s: float = Field(6.0, gt=0, le=600)


class StoreSection(_Section):
    #: relative paths are taken inside kiosk.data_dir
    path: Path = Path("kiosk.sqlite3")


class HqSection(_Section):
    url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://[^\s/]+(:\d+)?(/.*)?$")
    api_key: str = ""
    timeout_s: float = Field(5.0, gt=0, le=120)
    sync_interval_s: float = Field(10.0, gt=0, le=3600)
    batch_size: int = Field(500, ge=1, le=5000)


class SimulatorGatewaySection(_Section):
    url: str = Field("http://127.0.0.1:8090", pattern=r"^https?://[^\s/]+(:\d+)?(/.*)?$")
    timeout_s: float = Field(10.0, gt=0, le=120)


class PaymentsSection(_Section):
    gateway: Literal["simulator"] = "simulator"
    #: how long the kiosk keeps asking the gateway about a "user paying" charge before it gives up
    max_wait_s: float = Field(45.0, gt=0, le=300)
    poll_interval_s: float = Field(5.0, gt=0, le=60)
    simulator: SimulatorGatewaySection = SimulatorGatewaySection()


class PrinterSection(_Section):
    transport: Literal["serial", "file", "none"] = "serial"
    device: str = "/dev/serial0"
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    profile: str = "default"
    encoding: str = "gb18030"
    paper_width_mm: Literal[58, 80] = 58
    status_timeout_ms: int = Field(500, ge=10, le=10000)

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        from escpos.capabilities import CAPABILITIES

        if v not in CAPABILITIES["profiles"]:
            raise ValueError("a python-escpos printer profile such as default, TM-T88V, NT-5890K or ZJ-5870")
        return v

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError as exc:
            raise ValueError("a Python codec name such as gb18030, cp437 or utf-8") from exc
        return v


class ReceiptSection(_Section):
    #: relative paths are taken inside the config folder of the repository / image
    template: Path = Path("receipt.toml")


class CameraSection(_Section):
    #: a device index ("0"), a video file, or a folder of images
    source: str = "0"
    backend: Literal["zxing", "pyzbar"] = "zxing"
    width: int = Field(640, ge=160, le=3840)
    height: int = Field(480, ge=120, le=2160)
    fps: int = Field(15, ge=1, le=60)
    #: loop a file or folder source forever (the demo), instead of reporting the end as a fault
    loop: bool = False


class GpioSection(_Section):
    enabled: bool = True
    #: "" lets gpiozero choose (lgpio on a Pi); "mock" for tests and machines without pins
    pin_factory: Literal["", "mock", "lgpio", "rpigpio", "pigpio", "native"] = ""
    status_led: int | None = Field(17, ge=0, le=27)
    buzzer: int | None = Field(27, ge=0, le=27)


class UiSection(_Section):
    fullscreen: bool = True
    width: int = Field(1024, ge=320, le=3840)
    height: int = Field(600, ge=240, le=2160)
    #: a TTF/TTC with CJK glyphs; "" searches the usual Debian font paths
    font: str = ""
    #: offer the buttons that hold sample payment codes to the camera (demo only)
    demo_buttons: bool = False


class Settings(_Section):
    kiosk: KioskSection = KioskSection()
    store: StoreSection = StoreSection()
    hq: HqSection = HqSection()
    payments: PaymentsSection = PaymentsSection()
    printer: PrinterSection = PrinterSection()
    receipt: ReceiptSection = ReceiptSection()
    camera: CameraSection = CameraSection()
    gpio: GpioSection = GpioSection()
    ui: UiSection = UiSection()

    @property
    def store_path(self) -> Path:
        p = self.store.path
        return p if p.is_absolute() else self.kiosk.data_dir / p

    @property
    def receipt_template_path(self) -> Path:
        p = self.receipt.template
        return p if p.is_absolute() else REPO_CONFIG_DIR / p


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from defaults, an optional file, KIOSK_* variables and in-process overrides."""
    return load_layered(
        Settings,
        defaults=defaults or REPO_CONFIG_DIR / "kiosk.toml",
        config=config,
        environ=os.environ if environ is None else environ,
        env_prefix=ENV_PREFIX,
        overrides=overrides,
    )
