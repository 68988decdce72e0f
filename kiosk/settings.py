"""Settings: one frozen, validated object built from the defaults, a --config file and KIOSK_* variables.

The defaults (``kiosk/defaults/kiosk.toml``, every key with a comment) ship inside the package, so an
installed kiosk starts without a checkout of the repository; ``config/`` holds documented examples.

Later sources override earlier ones key by key. Each value remembers where it came from, so an error
names the file (or variable), the key, the value and what is allowed, and start-up stops there:
a kiosk that starts with a wrong baud rate or gateway address fails quietly in front of a customer.

Environment variables use a double underscore between levels: ``KIOSK_PRINTER__BAUDRATE=115200``,
``KIOSK_PAYMENTS__WECHAT__GATEWAY_URL=http://127.0.0.1:8090``. Values are parsed as TOML when they can be
(numbers, booleans), else taken as strings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kiosk_common.settings import SettingsError, load_layered, packaged_file
from kiosk_common.toml_text import shorten

__all__ = ["Settings", "SettingsError", "default_config_path", "defaults_dir", "load_settings"]

ENV_PREFIX = "KIOSK_"


def defaults_dir() -> Path:
    """The folder of packaged defaults: ``kiosk.toml`` and the receipt template ``receipt.toml``."""
    return packaged_file("kiosk", "defaults")


def default_config_path() -> Path:
    """``kiosk.toml`` with every key and its default, the first layer of the settings."""
    return defaults_dir() / "kiosk.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KioskSection(_Section):
    id: str = Field("kiosk-001", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    store_name: str = Field("自助收银 Self-checkout", min_length=1, max_length=64)
    language: Literal["zh_CN", "en"] = "zh_CN"
    data_dir: Path = Path("/var/lib/kiosk")
    timezone: str = "Asia/Shanghai"
    idle_timeout_s: float = Field(60.0, gt=0, le=3600)
    #: how long "still there?" counts down before a quiet cart (or unpaid order) is cleared
    still_there_s: float = Field(20.0, gt=0, le=600)
    done_timeout_s: float = Field(6.0, gt=0, le=600)
    #: on SIGTERM (systemctl stop), how long to let a charge or receipt in flight finish before it is
    #: parked for the next start's recovery (one deadline for all the checkout's workers); with the
    #: rest of the stop it must fit in the unit's TimeoutStopSec (tests/image/test_image_units.py)
    stop_timeout_s: float = Field(3.0, gt=0, le=30)
    #: no payment before network time set the clock (the gateways check signed timestamps): "auto"
    #: requires it once systemd-timesyncd is seen running (the folder of ``time_sync_file`` exists;
    #: asked on every check, never switched off again), "yes" (the image), "no"
    require_time_sync: Literal["auto", "yes", "no"] = "auto"
    #: the file whose existence says the clock is synced (systemd-timesyncd's)
    time_sync_file: Path = Path("/run/systemd/timesync/synchronized")


class StoreSection(_Section):
    #: relative paths are taken inside kiosk.data_dir
    path: Path = Path("kiosk.sqlite3")


#: the shape of every http(s) URL in the settings; ``_host_and_port`` checks what a pattern cannot
_HTTP_URL = r"^https?://[^\s/]+(:\d+)?(/.*)?$"


def _host_and_port(url: str) -> str:
    """The parts the pattern cannot check: a host, and a port (when given) from 1 to 65535. The
    kiosk, its firewall (``kiosk firewall-hosts``) and the update agent all read these URLs; one that
    fails here would fail each of them later, the firewall at every boot. No user name or password
    either: they would be logged wherever the URL is."""
    if not url:
        return url
    parts = urlsplit(url)
    if "@" in parts.netloc:
        raise ValueError("http(s)://host[:port][/path] with no user name or password (user@) in it")
    if not parts.hostname:
        raise ValueError("http(s)://host[:port][/path] with a host name or address")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise ValueError("http(s)://host[:port][/path] with a port from 1 to 65535")
    return url


def _hide_url_password(value: Any) -> Any:
    """A refused value as the settings error shows it: a URL's ``user:password@`` part hidden."""
    if isinstance(value, str) and "://" in value:
        scheme, _, rest = value.partition("://")
        # up to the query or fragment, everything before the last "@" may be a user and password,
        # even one with a "/" in it: hiding too much in an error message costs nothing
        cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
        at = rest.rfind("@", 0, cut)
        if at >= 0:
            return f"{scheme}://(hidden)@{rest[at + 1 :]}"
    return value


#: an http(s) URL: its shape, then its host and port
_Url = Annotated[str, Field(pattern=_HTTP_URL), AfterValidator(_host_and_port)]
#: the same, or "" (not set)
_UrlOrEmpty = Annotated[str, Field(pattern=r"^$|" + _HTTP_URL), AfterValidator(_host_and_port)]


class HqSection(_Section):
    url: _Url = "http://127.0.0.1:8080"
    #: the enrolment's secret, written by ``kiosk enroll`` (0600, outside the database); a relative
    #: path is taken in the store's folder
    credentials_file: Path = Path("hq-credentials.json")
    #: the address phones reach HQ's e-receipts at (the receipt's QR); "" means ``url``
    public_url: _UrlOrEmpty = ""
    timeout_s: float = Field(5.0, gt=0, le=120)
    sync_interval_s: float = Field(10.0, gt=0, le=3600)
    heartbeat_s: float = Field(60.0, gt=0, le=3600)
    #: HQ takes at most 1000 events in one request
    batch_size: int = Field(500, ge=1, le=1000)

    @property
    def receipt_base_url(self) -> str:
        return (self.public_url or self.url).rstrip("/")


def _credential_file(value: str, private: bool) -> str:
    """A credential file must exist and be readable; a private one must not be readable by others."""
    if not value:
        return value
    path = Path(value)
    try:
        st = path.stat()
    except OSError as exc:
        raise ValueError(
            f"cannot read {shorten(value)} ({exc.strerror}); give the full path of the file"
        ) from None
    if not path.is_file():
        raise ValueError(f"{shorten(value)} is not a file")
    if private and st.st_mode & 0o077:
        raise ValueError(
            f"{value} is readable by other users (mode {st.st_mode & 0o777:o}); run chmod 600 {value}"
        )
    return value


class WechatPaySection(_Section):
    #: base address: https://api.mch.weixin.qq.com, the sandbox, or the simulator; paths are appended
    gateway_url: _Url = "https://api.mch.weixin.qq.com"
    appid: str = Field("", max_length=32)
    mch_id: str = Field("", max_length=32, pattern=r"^[0-9]*$")
    api_key: str = Field("", max_length=32)
    sign_type: Literal["HMAC-SHA256", "MD5"] = "HMAC-SHA256"
    #: the merchant API certificate and its key (apiclient_cert.pem / apiclient_key.pem) for secapi calls
    cert_file: str = ""
    key_file: str = ""
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("cert_file")
    @classmethod
    def _cert_readable(cls, v: str) -> str:
        return _credential_file(v, private=False)

    @field_validator("key_file")
    @classmethod
    def _key_private(cls, v: str) -> str:
        return _credential_file(v, private=True)

    def __repr__(self) -> str:  # the API key never reaches a log through a repr
        return f"WechatPaySection(gateway_url={self.gateway_url!r}, appid={self.appid!r}, mch_id={self.mch_id!r})"


class AlipaySection(_Section):
    #: base address: https://openapi.alipay.com, the sandbox, or the simulator; /gateway.do is appended
    gateway_url: _Url = "https://openapi.alipay.com"
    app_id: str = Field("", max_length=32, pattern=r"^[0-9]*$")
    app_private_key_file: str = ""
    alipay_public_key_file: str = ""
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("app_private_key_file")
    @classmethod
    def _private_key(cls, v: str) -> str:
        return _credential_file(v, private=True)

    @field_validator("alipay_public_key_file")
    @classmethod
    def _public_key(cls, v: str) -> str:
        return _credential_file(v, private=False)


class PaymentsSection(_Section):
    #: none (the shipped default: payment refused until commissioned), or the channels this kiosk takes:
    #: wechat, alipay, wechat+alipay (the demo points them at the gateway simulator)
    gateway: Literal["none", "wechat", "alipay", "wechat+alipay"] = "none"
    #: how long the kiosk keeps asking the gateway about a "user paying" charge before it gives up
    max_wait_s: float = Field(45.0, gt=0, le=300)
    poll_interval_s: float = Field(5.0, gt=0, le=60)
    #: seconds between reachability probes of the gateway (an HTTP HEAD, nothing charged); 0 = none
    probe_interval_s: float = Field(30.0, ge=0, le=3600)
    #: out of service only after this many failed probes in a row...
    unreachable_probes: int = Field(3, ge=1, le=100)
    #: ...the first of them at least this many seconds ago; one success clears them
    unreachable_after_s: float = Field(60.0, ge=0, le=3600)
    wechat: WechatPaySection = WechatPaySection()
    alipay: AlipaySection = AlipaySection()

    @model_validator(mode="after")
    def _channels_complete(self) -> PaymentsSection:
        missing: list[str] = []
        if "wechat" in self.gateway:
            w = self.wechat
            missing += [f"payments.wechat.{k}" for k in ("appid", "mch_id", "api_key") if not getattr(w, k)]
            if w.api_key and len(w.api_key) != 32:
                raise ValueError(
                    "payments.wechat.api_key must be the 32-character API key (API密钥) set on pay.weixin.qq.com"
                )
            if w.gateway_url.startswith("https://") and not (w.cert_file and w.key_file):
                missing += ["payments.wechat.cert_file", "payments.wechat.key_file"]
        if "alipay" in self.gateway:
            a = self.alipay
            missing += [
                f"payments.alipay.{k}"
                for k in ("app_id", "app_private_key_file", "alipay_public_key_file")
                if not getattr(a, k)
            ]
        if missing:
            raise ValueError(
                f"payments.gateway = {self.gateway!r} needs {', '.join(missing)}; set them in the config file"
            )
        return self


class PrinterSection(_Section):
    #: serial: device is a port; usb: "/dev/usb/lp0" or "VID:PID" in hex; network: "host:port";
    #: file: a folder receipts are written to as text; none: no printer (never ready)
    transport: Literal["serial", "usb", "network", "file", "none"] = "serial"
    device: str = "/dev/serial0"
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    profile: str = "default"
    encoding: str = "gb18030"
    paper_width_mm: Literal[58, 80] = 58
    status_timeout_ms: int = Field(500, ge=10, le=10000)
    #: the logo stored in the printer's NV memory (``kiosk printer logo``): its key 1..255; 0 = none
    nv_logo: int = Field(0, ge=0, le=255)
    #: a printer not ready this many minutes, on a kiosk with no e-receipt (not enrolled with HQ),
    #: puts the kiosk out of service (PRINTER_GONE); 0 = never
    gone_after_min: float = Field(10.0, ge=0, le=1440)

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
    #: relative paths are taken inside the packaged defaults folder (``defaults_dir()``); give your own
    #: template as an absolute path, e.g. /etc/kiosk/receipt.toml
    template: Path = Path("receipt.toml")


class CameraSection(_Section):
    #: a device index ("0"), a video file, or a folder of images
    source: str = "0"
    #: zxing (zxing-cpp with retries, the default), zxing-plain (its single call) or pyzbar (the baseline)
    backend: Literal["zxing", "zxing-plain", "pyzbar"] = "zxing"
    width: int = Field(640, ge=160, le=3840)
    height: int = Field(480, ge=120, le=2160)
    fps: int = Field(15, ge=1, le=60)
    #: loop a file or folder source forever (the demo), instead of reporting the end as a fault
    loop: bool = False
    #: the part of the frame to decode: left, top, right, bottom as fractions of the frame (0..1)
    roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    #: how long no frames, the same frame, or a black frame must last before staff are told
    fault_after_s: float = Field(2.0, gt=0, le=60)
    #: a code that stays in view is reported again only after it was out of view this long
    repeat_after_s: float = Field(1.0, gt=0, le=60)

    @field_validator("roi")
    @classmethod
    def _roi_inside_frame(cls, v: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        left, top, right, bottom = v
        if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
            raise ValueError(
                "[left, top, right, bottom] fractions of the frame with 0 <= left < right <= 1 and 0 <= top < bottom <= 1"
            )
        return v


class ScannersSection(_Section):
    #: a USB "keyboard wedge" scanner's input device, e.g. /dev/input/by-id/usb-...-event-kbd; "" = none
    hid_device: str = ""
    #: key presses further apart than this are a person typing, not a scanner
    hid_max_gap_ms: float = Field(40.0, gt=0, le=500)
    #: a serial scanner's port, e.g. /dev/ttyACM0 or /dev/serial/by-id/...; "" = none
    serial_port: str = ""
    serial_baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600


class GpioSection(_Section):
    enabled: bool = True
    #: "" lets gpiozero choose (lgpio on a Pi); "mock" for tests and machines without pins
    pin_factory: Literal["", "mock", "lgpio", "rpigpio", "pigpio", "native"] = ""
    status_led: int | None = Field(17, ge=0, le=27)
    buzzer: int | None = Field(27, ge=0, le=27)
    #: inputs (closed = pulled to GND); None leaves the feature off
    maintenance_key: int | None = Field(None, ge=0, le=27)
    paper_low_sensor: int | None = Field(None, ge=0, le=27)
    #: the printer's busy/DTR output: high while it cannot take data
    printer_busy: int | None = Field(None, ge=0, le=27)
    #: a relay output (printer power or a gate), active high
    relay: int | None = Field(None, ge=0, le=27)


class UiSection(_Section):
    fullscreen: bool = True
    width: int = Field(1024, ge=320, le=3840)
    height: int = Field(600, ge=240, le=2160)
    #: a TTF/TTC with CJK glyphs; "" searches the usual Debian font paths
    font: str = ""
    #: offer the buttons that hold sample payment codes to the camera (demo only)
    demo_buttons: bool = False
    #: the touchscreen's diagonal in inches (the official 7" Pi touchscreen by default): with the
    #: screen's pixels it gives the pixels in 9 mm, the smallest touch target (kiosk.ui.theme)
    screen_diagonal_in: float = Field(7.0, ge=3.0, le=100.0)


class MaintenanceSection(_Section):
    """How staff unlock maintenance mode (kiosk.maintenance); see docs/configuration.md."""

    #: the GPIO key switch: "off" only audits it, "alone" unlocks by itself, "with_pin" must be on
    #: for a PIN to unlock
    key_switch: Literal["off", "alone", "with_pin"] = "off"
    #: the role of a session the key switch opens alone
    key_role: Literal["cashier", "manager", "it"] = "manager"
    #: maintenance mode locks itself after this long without staff activity
    idle_lock_s: float = Field(120.0, gt=0, le=3600)
    #: failed unlocks before the wait starts doubling, and before the lockout
    backoff_from: int = Field(5, ge=1, le=100)
    lockout_after: int = Field(10, ge=1, le=100)
    #: the first back-off wait; each further failure doubles it
    base_delay_s: float = Field(5.0, gt=0, le=3600)
    lockout_s: float = Field(900.0, gt=0, le=86400)
    #: where USB sticks are mounted: IT's backup, restore and support bundle list the removable
    #: media mounted under these folders (kiosk.maintenance.it_info.usb_mounts)
    usb_roots: tuple[str, ...] = ("/media", "/run/media")
    #: how many lines of the kiosk's log IT's "Logs" shows at first ("more" doubles it)
    log_lines: int = Field(200, ge=10, le=5000)
    #: IT's SSH switch (kiosk.staff_it, the image's kiosk-ssh): the request file ("on" and
    #: "until=<epoch>") and the public keys; relative paths are inside kiosk.data_dir, so the
    #: defaults are /var/lib/kiosk/it/ssh and /var/lib/kiosk/it/authorized_keys on the image
    ssh_switch: Path = Path("it/ssh")
    ssh_keys: Path = Path("it/authorized_keys")
    #: IT's list of keys (root's, 0644; the image's --it-keys): the image's kiosk-ssh lets in only
    #: keys on it, so the SSH screen reads it too: it marks each key on or not on it, writes only the
    #: listed ones, and without the list (or unable to read it) refuses to turn SSH on, up front
    ssh_allow_list: Path = Path("/etc/kiosk/it-ssh-keys")
    #: SSH turned on from maintenance mode turns itself off after this many minutes
    ssh_limit_min: int = Field(240, ge=15, le=1440)

    @model_validator(mode="after")
    def _order(self) -> MaintenanceSection:
        if self.backoff_from > self.lockout_after:
            raise ValueError("backoff_from must not be larger than lockout_after")
        return self


class OtaSection(_Section):
    """Signed updates (docs/ota.md): where the update agent finds its trust anchor and the TUF
    repository, which releases it takes, and when the kiosk may be restarted into one."""

    #: the release channel this kiosk follows; a release whose signed channels omit it is refused
    channel: str = Field("stable", min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")
    #: the TUF root the image ships (``ota repo init`` prints it): installed once, then TUF rotates it
    trusted_root: Path = Path("/etc/kiosk/ota-root.json")
    #: a mirror of HQ's TUF repository; "" = HQ's ``[hq] url`` + /tuf/metadata/ and /tuf/targets/
    metadata_url: _UrlOrEmpty = ""
    targets_url: _UrlOrEmpty = ""
    #: local time of day in which an update may restart the kiosk, "02:00-05:00"; "" = any time
    maintenance_window: str = ""
    #: seconds between the agent's questions to HQ (also while it waits for the kiosk to be idle)
    poll_s: float = Field(300.0, ge=5, le=86400)

    @field_validator("maintenance_window")
    @classmethod
    def _window(cls, v: str) -> str:
        from kiosk.core.window import parse_window

        parse_window(v)
        return v.strip()


class MembersSection(_Section):
    """The member sign-in screen (the seam for the members release): hidden unless ``enabled``. Until
    the kiosk has a member directory, signing in answers "membership is not offered here yet"."""

    enabled: bool = False


class Settings(_Section):
    kiosk: KioskSection = KioskSection()
    store: StoreSection = StoreSection()
    hq: HqSection = HqSection()
    payments: PaymentsSection = PaymentsSection()
    printer: PrinterSection = PrinterSection()
    receipt: ReceiptSection = ReceiptSection()
    camera: CameraSection = CameraSection()
    scanners: ScannersSection = ScannersSection()
    gpio: GpioSection = GpioSection()
    ui: UiSection = UiSection()
    maintenance: MaintenanceSection = MaintenanceSection()
    ota: OtaSection = OtaSection()
    members: MembersSection = MembersSection()

    @property
    def store_path(self) -> Path:
        p = self.store.path
        return p if p.is_absolute() else self.kiosk.data_dir / p

    @property
    def hq_credentials_path(self) -> Path:
        """``[hq] credentials_file``; a relative path is beside the store (its folder)."""
        p = self.hq.credentials_file
        return p if p.is_absolute() else self.store_path.parent / p

    @property
    def ssh_switch_path(self) -> Path:
        p = self.maintenance.ssh_switch
        return p if p.is_absolute() else self.kiosk.data_dir / p

    @property
    def ssh_keys_path(self) -> Path:
        p = self.maintenance.ssh_keys
        return p if p.is_absolute() else self.kiosk.data_dir / p

    @property
    def receipt_template_path(self) -> Path:
        p = self.receipt.template
        return p if p.is_absolute() else defaults_dir() / p


#: settings that are secrets: a config file that sets one must be readable by its owner only
SECRET_KEYS = (("payments", "wechat", "api_key"),)


def load_settings(
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
    defaults: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings from defaults, an optional file, KIOSK_* variables and in-process overrides."""
    settings = load_layered(
        Settings,
        defaults=defaults or default_config_path(),
        config=config,
        environ=os.environ if environ is None else environ,
        env_prefix=ENV_PREFIX,
        overrides=overrides,
        redact=_hide_url_password,
    )
    if config is not None:
        check_secret_file(config)
    return settings


def group_is_private(gid: int, groups: Any = None, accounts: Any = None) -> bool:
    """Whether group ``gid`` is one account's own: nobody is added to it and at most one account has it
    as its primary group (the image's ``kiosk`` group). A file of such a group that the group may read
    is readable by its owner and that account alone. ``groups`` and ``accounts`` stand for the
    ``grp`` and ``pwd`` modules (their ``getgrgid`` and ``getpwall``)."""
    import grp
    import pwd

    groups = grp if groups is None else groups
    accounts = pwd if accounts is None else accounts
    try:
        members = groups.getgrgid(gid).gr_mem
    except KeyError:  # a group with no name: nobody can say who is in it
        return False
    return not members and sum(1 for a in accounts.getpwall() if a.pw_gid == gid) <= 1


def check_secret_file(path: Path, private_group: Callable[[int], bool] = group_is_private) -> None:
    """Refuse a config file that holds an API key while other users may read it.

    Its group may read it when that group is one account's own: the image's settings are
    ``root:kiosk 0640``, so that the kiosk reads them and only root changes them (the firewall's hosts
    come from them; ``kiosk firewall-hosts``)."""
    import stat

    from kiosk_common.settings import read_toml

    info = path.stat()
    mode = info.st_mode
    shared_with_group = bool(mode & stat.S_IRWXG) and not private_group(info.st_gid)
    if not mode & stat.S_IRWXO and not shared_with_group:
        return
    data = read_toml(path)
    held = []
    for keys in SECRET_KEYS:
        node: Any = data
        for k in keys:
            node = node.get(k) if isinstance(node, dict) else None
        if node:
            held.append(".".join(keys))
    if held:
        raise SettingsError(
            f"{path}: holds {', '.join(held)} but other users can read it (mode {stat.S_IMODE(mode):04o}); "
            f"on the image make it root:kiosk 0640 (chown root:kiosk {path} && chmod 640 {path}); "
            f"elsewhere chmod 600 {path}, owned by the user the kiosk runs as"
        )
