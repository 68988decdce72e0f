"""IT's maintenance actions on a real kiosk (``build_kiosk``: real SQLite, the real staff console,
a real HQ on 127.0.0.1): the settings without secrets, scrubbed logs, network and version, a support
bundle and a verified backup to a "USB stick" (a folder the fake mount table reports) and to HQ, and
a restore that is refused when it would lose unsent sales, or staged and applied across a restart,
or, when it fails at start, leaves the current store in place and says so. A backup at HQ is listed
beside the stick's and restored the same way; HQ shows a kiosk only its own backups (or one an admin
granted it for replaced hardware), and a download that does not match stages nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher
from hq_fixtures import LiveHq, closed_port, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk

from drivers.camera.sources import HeldImageSource
from hq.cli import main as hq_main
from hq.db import connected
from hq.models import HqAudit
from kiosk import __version__
from kiosk.bootstrap import Kiosk, Overrides, build_kiosk
from kiosk.core.cart import Cart, Product
from kiosk.maintenance.backup import read_counts
from kiosk.maintenance.bundle import BundleSources
from kiosk.maintenance.it_info import EXIT_TO_DESKTOP
from kiosk.maintenance.roles import Action
from kiosk.ports import CatalogUpdate, StaffItem
from kiosk.settings import Settings, load_settings
from kiosk.staff_it import FAILED_MARKER, PENDING_MARKER, ItConsole, SystemReaders
from kiosk.store.models import AuditLog
from kiosk.sync.credentials import load_credentials
from kiosk.sync.hq_client import HttpHqClient

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
    return kiosk_settings(tmp_path, hq, KIOSK)


def kiosk_settings(tmp_path: Path, hq: LiveHq, kiosk_id: str, store: str = "s01") -> Settings:
    """A kiosk enrolled at ``hq`` with its own data folder (``data`` for the first kiosk)."""
    data = tmp_path / ("data" if kiosk_id == KIOSK else f"data-{kiosk_id}")
    data.mkdir()
    enrol_kiosk(hq, data, kiosk_id, store)
    (tmp_path / "media" / "STICK").mkdir(parents=True, exist_ok=True)
    return load_settings(
        environ={},
        overrides={
            "kiosk": {"id": kiosk_id, "data_dir": str(data), "language": "en"},
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


# --- restore from HQ -----------------------------------------------------------------------------


def hq_uploads(hq: LiveHq, kiosk_id: str) -> Path:
    return hq.identity_file.parent / "kiosk-uploads" / kiosk_id


def hq_items(kiosk: Kiosk) -> list[str]:
    return [i.key for i in kiosk.controller.maintenance_run(Action.RESTORE).items if i.key.startswith("hq:")]


def test_a_backup_at_hq_is_listed_and_restored_across_a_restart(settings: Settings, hq: LiveHq) -> None:
    kiosk = start(settings)
    assert kiosk.controller.maintenance_unlock_pin(IT_PIN).ok
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    kiosk.store.audit("kiosk", "after_the_backup", "only in the current store")
    listing = kiosk.controller.maintenance_run(Action.RESTORE)
    (item,) = listing.items  # nothing on the stick: HQ's backup alone
    assert item.key.startswith("hq:") and "HQ backup" in item.label and "0 sales" in item.label
    name = item.key.removeprefix("hq:")
    record = json.loads((hq_uploads(hq, KIOSK) / (name + ".json")).read_text())
    assert record["manifest"]["kiosk_id"] == KIOSK and record["sha256"] == record["manifest"]["sha256"]
    assert (hq_uploads(hq, KIOSK) / name).stat().st_mode & 0o777 == 0o600
    staged = kiosk.controller.maintenance_run(Action.RESTORE, file=item.key)
    assert staged.ok and "staged" in staged.message, staged.message
    row = audited("restore")[-1]
    assert row["source"] == "hq" and row["after"]["applied"] == "at the next start"  # type: ignore[index]
    assert not list((settings.kiosk.data_dir / "restore-download").iterdir())  # the scratch copy is gone
    kiosk.stop()

    again = start(settings)
    try:
        actions = [r.action for r in AuditLog.select()]
        assert "store_restored" in actions and "after_the_backup" not in actions
        kept = list(settings.store_path.parent.glob(settings.store_path.name + ".before-restore-*"))
        assert len(kept) == 1 and kept[0].stat().st_size > 0
        assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
    finally:
        again.stop()


def test_another_kiosk_can_neither_list_nor_fetch_a_kiosks_backup(kiosk: Kiosk, hq: LiveHq) -> None:
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    (key,) = hq_items(kiosk)
    name = key.removeprefix("hq:")
    other = hq.session(hq.enrol("kiosk-002"))
    assert other.get(f"{hq.url}/api/v1/support/backups").json() == {"backups": []}
    assert other.get(f"{hq.url}/api/v1/support/backups/{name}").status_code == 404
    for bad in ("..%2F..%2Fhq.sqlite3", "backup-x.sqlite3", f"{name}.json"):
        assert other.get(f"{hq.url}/api/v1/support/backups/{bad}").status_code == 404
    unsigned = requests.get(f"{hq.url}/api/v1/support/backups/{name}", timeout=5.0)
    assert unsigned.status_code == 401


def test_a_tampered_backup_at_hq_is_refused_and_nothing_is_staged(
    kiosk: Kiosk, settings: Settings, hq: LiveHq
) -> None:
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    (key,) = hq_items(kiosk)
    stored = hq_uploads(hq, KIOSK) / key.removeprefix("hq:")
    with stored.open("r+b") as f:  # same size, other bytes
        f.seek(200)
        f.write(b"\x00garbage\x00")
    refused = kiosk.controller.maintenance_run(Action.RESTORE, file=key)
    assert not refused.ok and "does not match the size or SHA-256" in refused.message, refused.message
    assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
    assert (
        not list((settings.kiosk.data_dir / "restore-staged").glob("*"))
        if (settings.kiosk.data_dir / "restore-staged").exists()
        else True
    )
    assert not list((settings.kiosk.data_dir / "restore-download").iterdir())
    assert audited("restore")[-1]["source"] == "hq"


def test_a_backup_at_hq_whose_manifest_lies_is_refused_by_the_test_restore(
    kiosk: Kiosk, settings: Settings, hq: LiveHq
) -> None:
    """HQ's record (manifest and digest) rewritten to match a damaged file: the download matches,
    the test restore (counts) does not."""
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    (key,) = hq_items(kiosk)
    name = key.removeprefix("hq:")
    record_file = hq_uploads(hq, KIOSK) / (name + ".json")
    record = json.loads(record_file.read_text())
    record["manifest"]["counts"]["orders"] += 5
    record_file.write_text(json.dumps(record))
    refused = kiosk.controller.maintenance_run(Action.RESTORE, file=key)
    assert not refused.ok and "test restore" in refused.message, refused.message
    assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()


def test_hq_takes_only_a_manifest_that_describes_the_upload(hq: LiveHq) -> None:
    session = hq.session(hq.enrol("kiosk-009"))
    body = b"SQLite format 3\x00" + b"\x00" * 100
    digest = hashlib.sha256(body).hexdigest()
    good = {
        "file": "kiosk-009-store-20261201T000000Z.sqlite3",
        "sha256": digest,
        "size": len(body),
        "kiosk_id": "kiosk-009",
        "created_at": "2026-12-01T00:00:00Z",
        "app_version": "1.0",
        "counts": {"schema_version": 7, "sales_recorded": 0, "orders": 0, "paid": 0, "outbox_pending": 0},
    }

    def post(kind: str, manifest: object) -> requests.Response:
        header = base64.b64encode(json.dumps(manifest).encode()).decode()
        return session.post(
            f"{hq.url}/api/v1/support/{kind}",
            data=body,
            headers={"X-Content-SHA256": digest, "X-Backup-Manifest": header},
        )

    for bad in (
        {**good, "size": len(body) + 1},
        {**good, "kiosk_id": "kiosk-001"},
        {**good, "extra": 1},
        {**good, "counts": {**good["counts"], "orders": "1"}},  # type: ignore[dict-item]
        [good],
    ):
        answer = post("backup", bad)
        assert answer.status_code == 422 and "X-Backup-Manifest" in answer.json()["error"], answer.text
    assert post("bundle", good).status_code == 422
    huge = session.post(
        f"{hq.url}/api/v1/support/backup",
        data=body,
        headers={"X-Content-SHA256": digest, "X-Backup-Manifest": "A" * 5000},
    )
    assert huge.status_code == 422
    assert session.get(f"{hq.url}/api/v1/support/backups").json() == {"backups": []}
    assert post("backup", good).status_code == 200
    (listed,) = session.get(f"{hq.url}/api/v1/support/backups").json()["backups"]
    assert listed["sha256"] == digest and listed["manifest"] == good and listed["granted_from"] is None


def test_a_replacement_kiosk_restores_the_old_kiosks_backup_granted_by_an_admin(
    kiosk: Kiosk, tmp_path: Path, hq: LiveHq, capsys: pytest.CaptureFixture[str]
) -> None:
    sell(kiosk)  # not yet sent when the old kiosk backed up: the grant says what becomes of it
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    (key,) = hq_items(kiosk)
    name = key.removeprefix("hq:")
    kiosk.stop()
    new = kiosk_settings(tmp_path, hq, "kiosk-002")
    hq.enrol("kiosk-777", store="s02")
    db = ["--db", hq.db_url]
    assert hq_main(["support", "grant-backup", name, "--from", KIOSK, "--to", "kiosk-777", *db]) == 2
    assert "not kiosks of one store" in capsys.readouterr().err
    assert hq_main(["support", "grant-backup", "../x", "--from", KIOSK, "--to", "kiosk-002", *db]) == 2
    assert hq_main(["support", "grant-backup", name, "--from", KIOSK, "--to", "kiosk-002", *db]) == 0
    said = capsys.readouterr()
    assert f"granted backup {name} of {KIOSK} to kiosk-002" in said.out
    assert "were not yet sent when it was made" in said.err
    assert hq_main(["support", "backups", "kiosk-002", *db]) == 0
    assert f"granted from {KIOSK}" in capsys.readouterr().out
    with connected():
        (row,) = HqAudit.select().where(HqAudit.action == "backup_granted")
        assert row.target == "kiosk-002" and row.actor.startswith("cli:")
        assert json.loads(row.detail)["from"] == KIOSK and json.loads(row.detail)["backup"] == name
    assert (hq_uploads(hq, "kiosk-002") / name).stat().st_mode & 0o777 == 0o600

    replacement = start(new)
    try:
        assert replacement.controller.maintenance_unlock_pin(IT_PIN).ok
        (item,) = [i for i in replacement.controller.maintenance_run(Action.RESTORE).items if i.key == key]
        assert f"(from {KIOSK})" in item.label
        assert replacement.controller.maintenance_run(Action.RESTORE, file=key).ok
    finally:
        replacement.stop()
    again = start(new)
    try:
        assert "store_restored" in [r.action for r in AuditLog.select()]
        assert read_counts(new.store_path).paid == 1  # the old kiosk's sale is in the new kiosk's store
    finally:
        again.stop()


def test_a_restore_from_hq_that_would_lose_unsent_sales_is_refused(kiosk: Kiosk, settings: Settings) -> None:
    assert kiosk.controller.maintenance_run(Action.BACKUP, to="hq").ok
    sell(kiosk)  # after the backup, not yet at HQ
    (key,) = hq_items(kiosk)
    refused = kiosk.controller.maintenance_run(Action.RESTORE, file=key)
    assert not refused.ok and "1 sale(s)" in refused.message, refused.message
    assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
    row = audited("restore")[-1]
    assert row["source"] == "hq" and row["after"]["refused"] is True  # type: ignore[index]
    unknown = kiosk.controller.maintenance_run(
        Action.RESTORE, file="hq:backup-20260101T000000000000Z-000000000000.sqlite3"
    )
    assert not unknown.ok and "not a backup listed" in unknown.message


def test_when_hq_cannot_be_reached_the_sticks_backups_are_still_listed(
    kiosk: Kiosk, settings: Settings
) -> None:
    assert kiosk.controller.maintenance_run(Action.BACKUP, to=f"usb:{stick(settings)}").ok
    it = it_console(kiosk)
    signer = it.hq_client().signer
    it.hq_client = lambda: HttpHqClient(f"http://127.0.0.1:{closed_port()}", signer, 2.0)
    listing = kiosk.controller.maintenance_run(Action.RESTORE)
    assert [i.key.startswith(str(stick(settings))) for i in listing.items] == [True]
    assert "HQ's backups could not be listed" in listing.message, listing.message
    down = kiosk.controller.maintenance_run(
        Action.RESTORE, file="hq:backup-20260101T000000000000Z-000000000000.sqlite3"
    )
    assert not down.ok and "could not get the backup from HQ" in down.message, down.message
    assert not (settings.kiosk.data_dir / PENDING_MARKER).exists()
