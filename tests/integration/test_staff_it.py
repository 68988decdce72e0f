"""IT's maintenance actions on a real kiosk (``build_kiosk``: real SQLite, the real staff console,
a real HQ on 127.0.0.1): the settings without secrets, scrubbed logs, network and version, a support
bundle and a verified backup to a "USB stick" (a folder the fake mount table reports) and to HQ, and
a restore that is refused when it would lose unsent sales, or staged and applied across a restart,
or, when it fails at start, leaves the current store in place and says so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from drivers.camera.sources import HeldImageSource
from kiosk import __version__
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.core.cart import Cart, Product
from kiosk.maintenance.bundle import BundleSources
from kiosk.maintenance.it_info import EXIT_TO_DESKTOP
from kiosk.maintenance.roles import Action
from kiosk.ports import CatalogUpdate, StaffItem
from kiosk.settings import Settings, load_settings
from kiosk.staff_it import FAILED_MARKER, PENDING_MARKER, ItConsole, SystemReaders
from kiosk.store.models import AuditLog
from kiosk.sync.credentials import load_credentials

KIOSK = "kiosk-001"
WECHAT_KEY = "Zx81QmT4pL0aWc7vRb2nK9sD3fG6hJ5y"
PAYMENT_CODE = "134567890123456789"
HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
IT_PIN, CASHIER_PIN = "314159", "246813"
STAFF = (
    StaffItem(3, "Wang", "cashier", HASHER.hash(CASHIER_PIN), True),
    StaffItem(9, "Zhao", "it", HASHER.hash(IT_PIN), True),
)


@pytest.fixture
def hq(tmp_path: Path) -> Iterator[LiveHq]:
    with running_hq(sqlite_url(tmp_path / "hq" / "hq.sqlite3")) as live:
        yield live


@pytest.fixture
def settings(tmp_path: Path, hq: LiveHq) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    enrol_kiosk(hq, data, KIOSK)
    (tmp_path / "media" / "STICK").mkdir(parents=True)
    return load_settings(
        environ={},
        overrides={
            "kiosk": {"id": KIOSK, "data_dir": str(data), "language": "en"},
            "hq": {"url": hq.url, "timeout_s": 5.0},
            "printer": {"transport": "none"},
            "gpio": {"enabled": False},
            "maintenance": {"usb_roots": [str(tmp_path / "media")]},
            "payments": {
                "gateway": "wechat",
                "wechat": {
                    "gateway_url": "http://127.0.0.1:9",
                    "appid": "wx0000000000000001",
                    "mch_id": "1900000001",
                    "api_key": WECHAT_KEY,
                },
            },
        },
    )


def stick(s: Settings) -> Path:
    return Path(s.maintenance.usb_roots[0]) / "STICK"


def start(s: Settings, *, mounted: bool = True) -> Kiosk:
    """The kiosk as ``kiosk run`` builds it, with an IT account from HQ and the stick in the mount table."""
    kiosk = build_kiosk(s, overrides=Overrides(source=HeldImageSource(640, 480)), background=False)
    kiosk.store.apply_catalog(CatalogUpdate("snapshot", 0, 1, (), {}, staff=STAFF))
    it = it_console(kiosk)
    table = f"/dev/sda1 {stick(s)} vfat rw,nosuid 0 0\n" if mounted else "/dev/root / ext4 rw 0 0\n"
    secret = load_credentials(s.hq_credentials_path).secret.hex()
    log = f"INFO charging {PAYMENT_CODE}\nDEBUG secret={secret}\nDEBUG key {WECHAT_KEY}\nINFO plain line\n"
    it.readers = SystemReaders(
        mounts=lambda: table,
        routes=lambda: (
            "Iface Destination Gateway Flags RefCnt Use Metric Mask\neth0 00000000 0101A8C0 0003 0 0 0 00000000\n"
        ),
        resolv=lambda: "nameserver 192.168.1.1\n",
        addresses=lambda: "2: eth0    inet 192.168.1.20/24 brd 192.168.1.255 scope global eth0\n",
        logs=lambda n: log,
    )
    # the doctor's child process is the CLI's concern (tests/integration/test_support_bundle.py)
    it.bundle_sources = lambda: BundleSources(s, __version__, logs=lambda: log, doctor=lambda: "{}")
    return kiosk


def it_console(kiosk: Kiosk) -> ItConsole:
    console = kiosk.controller.console
    assert console is not None and isinstance(console.it, ItConsole)
    return console.it


@pytest.fixture
def kiosk(settings: Settings) -> Iterator[Kiosk]:
    kiosk = start(settings)
    assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
    yield kiosk
    kiosk.stop()


def secrets(s: Settings) -> list[str]:
    return [WECHAT_KEY, load_credentials(s.hq_credentials_path).secret.hex(), PAYMENT_CODE]


def audited(action: str) -> list[dict[str, object]]:
    return [
        json.loads(r.detail) for r in AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id)
    ]


def sell(kiosk: Kiosk) -> None:
    """A paid sale whose event has not reached HQ yet (the sync thread is not running)."""
    store = kiosk.store
    order_id = store.open_order(Cart().add(Product("SKU1", "水", "Water", 300, None, "drink")))
    payment = store.begin_payment(order_id, "wechat", "sim", PAYMENT_CODE)
    store.record_paid(payment.out_trade_no, "T1")


def test_settings_are_shown_read_only_without_any_secret(kiosk: Kiosk, settings: Settings) -> None:
    answer = kiosk.controller.maintenance_run(Action.CONFIGURE)
    assert answer.ok and "Read-only" in answer.message
    assert "[payments.wechat]" in answer.text and 'api_key = "[removed]"' in answer.text
    assert not any(secret in answer.text for secret in secrets(settings))
    assert audited("configure")[0]["after"] == {"shown": "settings, secrets removed"}


def test_logs_are_scrubbed_and_more_asks_for_more_lines(kiosk: Kiosk, settings: Settings) -> None:
    answer = kiosk.controller.maintenance_run(Action.LOGS, lines=400)
    assert answer.ok and "INFO plain line" in answer.text
    assert not any(secret in answer.text for secret in secrets(settings))
    assert audited("logs")[0]["after"] == {"lines": 400}


def test_network_shows_addresses_route_dns_and_that_hq_answers(kiosk: Kiosk) -> None:
    answer = kiosk.controller.maintenance_run(Action.NETWORK)
    text = answer.text
    assert "eth0: 192.168.1.20/24" in text and "via 192.168.1.1 (eth0)" in text
    assert "DNS servers: 192.168.1.1" in text
    hq_line = next(line for line in text.splitlines() if "] hq:" in line)
    assert hq_line.startswith("[OK]") and KIOSK in hq_line
    assert audited("network")[0]["after"]["route"] == "192.168.1.1"  # type: ignore[index]


def test_updates_show_the_agents_state_and_check_now_reaches_it(kiosk: Kiosk, settings: Settings) -> None:
    """IT's update screen reads <data>/ota/state.json; "check now" leaves the request file the
    agent's loop takes (the kiosk user may not signal the agent's service); both audited."""
    folder = settings.kiosk.data_dir / "ota"
    answer = kiosk.controller.maintenance_run(Action.OTA_CHECK)
    assert answer.ok and __version__ in answer.text
    assert "No update agent record" in answer.text and "no maintenance window" in answer.text
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_text(
        json.dumps(
            {
                "state": "waiting_idle",
                "version": "1.5.0",
                "running": "1.4.0",
                "detail": "download failed: mismatch",
                "failed": ["1.4.1"],
                "at": "2026-03-01T02:00:00Z",
                "unsent": [{"version": "1.5.0", "state": "installed", "detail": ""}],
            }
        )
    )
    answer = kiosk.controller.maintenance_run(Action.OTA_CHECK)
    text = answer.text
    assert (
        "Update agent: waiting for no customer to switch, running 1.4.0, as of 2026-03-01T02:00:00Z" in text
    )
    assert "Updating to: 1.5.0" in text and "Last message: download failed: mismatch" in text
    assert "not tried again: 1.4.1" in text and "1 report(s) waiting to reach HQ" in text
    assert not (folder / "check-now").exists()
    asked = kiosk.controller.maintenance_run(Action.OTA_CHECK, check="now")
    assert asked.ok and "check with HQ now" in asked.message
    assert (folder / "check-now").is_file()
    rows = audited("ota_check")
    assert [r["after"]["check_now"] for r in rows] == [False, False, True]  # type: ignore[index]
    assert rows[1]["after"]["agent_state"] == "waiting_idle"  # type: ignore[index]


def test_a_verified_backup_goes_to_the_stick_with_name_size_and_checksum(
    kiosk: Kiosk, settings: Settings
) -> None:
    choices = kiosk.controller.maintenance_run(Action.BACKUP)
    assert [i.key for i in choices.items] == [f"usb:{stick(settings)}", "hq"]
    done = kiosk.controller.maintenance_run(Action.BACKUP, to=f"usb:{stick(settings)}")
    assert done.ok and done.message == "backup done and verified", done.message
    files = sorted(p.name for p in stick(settings).iterdir())
    assert len(files) == 2 and files[1].endswith(".manifest.json")
    manifest = json.loads((stick(settings) / files[1]).read_text())
    assert manifest["sha256"] in done.text and files[0] in done.text and "test restore passed" in done.text
    assert audited("backup")[0]["after"]["verified"] is True  # type: ignore[index]


def test_a_stick_that_is_not_mounted_is_refused_and_no_stick_says_insert_one(settings: Settings) -> None:
    kiosk = start(settings, mounted=False)
    try:
        assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
        choices = kiosk.controller.maintenance_run(Action.SUPPORT_BUNDLE)
        assert [i.key for i in choices.items] == ["hq"] and "insert a USB stick" in choices.message
        refused = kiosk.controller.maintenance_run(Action.SUPPORT_BUNDLE, to="usb:/etc")
        assert not refused.ok and "is gone" in refused.message
    finally:
        kiosk.stop()


def test_a_bundle_and_a_backup_go_to_hq(kiosk: Kiosk, settings: Settings, hq: LiveHq) -> None:
    bundle = kiosk.controller.maintenance_run(Action.SUPPORT_BUNDLE, to="hq")
    assert bundle.ok, bundle.message
    backup = kiosk.controller.maintenance_run(Action.BACKUP, to="hq")
    assert backup.ok, backup.message
    assert "SHA-256" in backup.text and "test restore passed" in backup.text
    on_stick = kiosk.controller.maintenance_run(Action.SUPPORT_BUNDLE, to=f"usb:{stick(settings)}")
    assert on_stick.ok
    (written,) = stick(settings).iterdir()
    assert not any(secret in written.read_bytes().decode("latin-1") for secret in secrets(settings))


def test_a_cashier_may_not_and_exit_to_desktop_is_audited(settings: Settings) -> None:
    kiosk = start(settings)
    try:
        assert kiosk.controller.maintenance_unlock_pin(CASHIER_PIN).ok
        assert not kiosk.controller.maintenance_run(Action.BACKUP).ok
        kiosk.controller.maintenance_lock()
        assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
        answer = kiosk.controller.maintenance_run(Action.EXIT_TO_DESKTOP)
        assert answer.ok and audited("exit_to_desktop")[0]["after"] == {"exit_code": EXIT_TO_DESKTOP}
    finally:
        kiosk.stop()


def test_a_restore_that_would_lose_unsent_sales_is_refused(kiosk: Kiosk, settings: Settings) -> None:
    assert kiosk.controller.maintenance_run(Action.BACKUP, to=f"usb:{stick(settings)}").ok
    sell(kiosk)  # after the backup: HQ has not got it, the backup lacks it
    (listed,) = kiosk.controller.maintenance_run(Action.RESTORE).items
    refused = kiosk.controller.maintenance_run(Action.RESTORE, file=listed.key)
    assert not refused.ok and "1 sale(s)" in refused.message
    assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
    not_listed = kiosk.controller.maintenance_run(Action.RESTORE, file=str(settings.store_path))
    assert not not_listed.ok and "not a backup listed" in not_listed.message


def test_a_staged_restore_is_applied_at_the_next_start_keeping_the_old_store(settings: Settings) -> None:
    kiosk = start(settings)
    assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
    assert kiosk.controller.maintenance_run(Action.BACKUP, to=f"usb:{stick(settings)}").ok
    kiosk.store.audit("kiosk", "after_the_backup", "only in the current store")
    (listed,) = kiosk.controller.maintenance_run(Action.RESTORE).items
    staged = kiosk.controller.maintenance_run(Action.RESTORE, file=listed.key)
    assert staged.ok and "staged" in staged.message
    assert (settings.kiosk.data_dir / PENDING_MARKER).exists()
    assert audited("restore")[0]["after"]["applied"] == "at the next start"  # type: ignore[index]
    kiosk.stop()

    again = start(settings)  # the restart: restore first, then the store opens
    try:
        assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
        actions = [r.action for r in AuditLog.select()]
        assert "store_restored" in actions and "restore_applied" in actions
        assert "after_the_backup" not in actions  # the store is the backup's
        kept = list(settings.store_path.parent.glob(settings.store_path.name + ".before-restore-*"))
        assert len(kept) == 1 and kept[0].stat().st_size > 0  # the old store is kept, never deleted
        assert not list((settings.kiosk.data_dir / "restore-staged").glob("*.sqlite3"))
    finally:
        again.stop()


def test_a_staged_restore_that_fails_at_start_keeps_the_current_store_and_says_so(settings: Settings) -> None:
    kiosk = start(settings)
    assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
    assert kiosk.controller.maintenance_run(Action.BACKUP, to=f"usb:{stick(settings)}").ok
    (listed,) = kiosk.controller.maintenance_run(Action.RESTORE).items
    assert kiosk.controller.maintenance_run(Action.RESTORE, file=listed.key).ok
    kiosk.store.audit("kiosk", "after_staging", "only in the current store")
    kiosk.stop()
    (staged,) = (settings.kiosk.data_dir / "restore-staged").glob("*.sqlite3")
    with staged.open("r+b") as f:  # the staged copy is damaged before the restart
        f.seek(200)
        f.write(b"\x00garbage\x00")

    again = start(settings)
    try:
        actions = [r.action for r in AuditLog.select()]
        assert "after_staging" in actions and "restore_failed" in actions and "store_restored" not in actions
        assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
        assert (settings.kiosk.data_dir / FAILED_MARKER).exists()
        assert again.controller.maintenance_unlock_pin(IT_PIN).ok
        listing = again.controller.maintenance_run(Action.RESTORE)
        assert "The last restore did not happen" in listing.message and "SHA-256" in listing.message
    finally:
        again.stop()
