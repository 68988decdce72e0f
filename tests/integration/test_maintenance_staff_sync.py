"""Staff accounts from HQ to the kiosk's maintenance unlock, on the real HQ (127.0.0.1, SQLite and
PostgreSQL) and the kiosk's real store, puller and pusher: ``hq staff add`` -> catalog pull -> the
PIN and a badge unlock; ``hq staff disable`` -> next pull -> they no longer do; 1,000 wrong PINs
give no unlock, and after a push HQ holds the lockout (audit event and fleet alert)."""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hq_fixtures import LiveHq, running_hq
from kiosk_enrolment import enrol_kiosk

from hq import fleet
from hq.catalog import seed_demo
from hq.cli import main
from hq.db import connected
from hq.models import AuditEvent, utc_now
from hq.staff import staff_for_store
from hq.versioning import current_version
from kiosk.maintenance.attempts import LimiterConfig
from kiosk.maintenance.roles import Role
from kiosk.maintenance.session import MaintenanceConfig, MaintenanceLock, Refusal
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog
from kiosk.store.sales import SaleStore
from kiosk.store.staff import StaffStore
from kiosk.sync.credentials import load_credentials
from kiosk.sync.heartbeat import Heartbeats, Readings
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import CatalogPuller, OutboxPusher
from kiosk.sync.signed import HqSigner

KIOSK = "kiosk-001"
ANA_PIN = "135790"
BOB_PIN = "246813"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Probe:
    def read(self) -> Readings:
        return Readings(None, "ok", 10_000_000_000, 40.0)


@pytest.fixture
def hq(hq_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        # `hq staff badge` finds HQ's badge key beside the identity file the server uses
        monkeypatch.setenv("HQ_AUTH__IDENTITY_FILE", str(live.identity_file))
        with connected():
            seed_demo()
        yield live


def hq_cli(
    hq: LiveHq,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main([*argv, "--db", hq.db_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def kiosk_parts(hq: LiveHq, tmp_path: Path) -> tuple[SaleStore, HttpHqClient]:
    creds = load_credentials(enrol_kiosk(hq, tmp_path / "kiosk", KIOSK))
    client = HttpHqClient(hq.url, HqSigner(creds.kiosk_id, creds.secret), timeout_s=5)
    return SaleStore(open_store(tmp_path / "kiosk" / "kiosk.sqlite3"), KIOSK), client


def unlock(store: SaleStore, clock: Clock, **config: object) -> MaintenanceLock:
    return MaintenanceLock(
        MaintenanceConfig(**config),  # type: ignore[arg-type]
        StaffStore(store.db, store.audit),
        clock,
        lambda: False,
    )


def test_staff_added_at_hq_unlock_the_kiosk_and_disabled_staff_no_longer_do(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, client = kiosk_parts(hq, tmp_path)
    try:
        code, _, err = hq_cli(hq, capsys, monkeypatch, "store", "add", "s02", "--name", "Other")
        assert code == 0, err
        code, out, err = hq_cli(
            hq,
            capsys,
            monkeypatch,
            "staff",
            "add",
            "ana",
            "--role",
            "manager",
            "--pin-stdin",
            stdin=ANA_PIN + "\n",
        )
        assert code == 0 and "ana" in out and ANA_PIN not in out + err
        code, _, err = hq_cli(
            hq,
            capsys,
            monkeypatch,
            "staff",
            "add",
            "bob",
            "--role",
            "cashier",
            "--store",
            "s02",
            "--pin-stdin",
            stdin=BOB_PIN + "\n",
        )
        assert code == 0, err
        puller = CatalogPuller(store, client)
        assert puller.pull_once().error == ""
        clock = Clock(time.time())
        lock = unlock(store, clock)
        opened = lock.unlock_pin(ANA_PIN)
        assert opened.ok and opened.session is not None
        assert (opened.session.name, opened.session.role) == ("ana", Role.MANAGER)
        lock.lock()
        # bob works in store s02, not in this kiosk's s01
        assert lock.unlock_pin(BOB_PIN).refusal is Refusal.WRONG_PIN
        # a delta names another store's account only as one to drop, without its hash
        with connected():
            version = current_version()
        code, _, err = hq_cli(
            hq,
            capsys,
            monkeypatch,
            "staff",
            "add",
            "cy",
            "--role",
            "it",
            "--store",
            "s02",
            "--pin-stdin",
            stdin="975310\n",
        )
        assert code == 0, err
        with connected():
            [cy] = staff_for_store("s01", version, snapshot=False)
        assert (cy["name"], cy["active"], cy["pin_hash"]) == ("cy", False, "")

        code, badge, err = hq_cli(hq, capsys, monkeypatch, "staff", "badge", "ana", "--ttl", "10")
        assert code == 0, err
        text = badge.strip()
        assert text.startswith("KB1.") and text.count(".") == 2
        assert lock.unlock_badge(text).ok
        lock.lock()
        assert lock.unlock_badge(text).detail.startswith("replay")

        code, _, err = hq_cli(hq, capsys, monkeypatch, "staff", "disable", "ana")
        assert code == 0, err
        assert puller.pull_once().error == ""
        clock.now += lock.wait_s()
        assert lock.unlock_pin(ANA_PIN).refusal is Refusal.WRONG_PIN
        assert AuditLog.select().where(AuditLog.action == "maintenance.unlock").count() == 2
        code, _, err = hq_cli(hq, capsys, monkeypatch, "staff", "badge", "ana")
        assert code == 2 and "disabled" in err
    finally:
        client.close()
        store.db.close()


def test_hq_refuses_weak_pins_and_unknown_stores(
    hq: LiveHq, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ("staff", "add", "cy", "--role", "it", "--pin-stdin")
    for pin in ("123456", "000000", "12345", "12ab56"):
        code, _, err = hq_cli(hq, capsys, monkeypatch, *add, stdin=pin + "\n")
        assert code == 2 and err and pin not in err
    code, _, err = hq_cli(hq, capsys, monkeypatch, *add, "--store", "nowhere", stdin="135790\n")
    assert code == 2 and "nowhere" in err
    assert hq_cli(hq, capsys, monkeypatch, *add, stdin="135790\n")[0] == 0
    code, _, err = hq_cli(
        hq, capsys, monkeypatch, "staff", "add", "di", "--role", "it", "--pin-stdin", stdin="135790\n"
    )
    assert code == 2  # the same PIN as an active account would say nothing about who unlocks
    code, out, _ = hq_cli(hq, capsys, monkeypatch, "staff", "list")
    assert code == 0 and "cy\tit\t*" in out and "$argon2" not in out


def test_a_thousand_wrong_pins_unlock_nothing_and_hq_holds_the_lockout(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, client = kiosk_parts(hq, tmp_path)
    try:
        code, _, err = hq_cli(
            hq,
            capsys,
            monkeypatch,
            "staff",
            "add",
            "ana",
            "--role",
            "manager",
            "--pin-stdin",
            stdin=ANA_PIN + "\n",
        )
        assert code == 0, err
        assert CatalogPuller(store, client).pull_once().error == ""
        clock = Clock(1_900_000_000.0)
        limits = LimiterConfig(backoff_from=5, lockout_after=10, base_delay_s=5.0, lockout_s=900.0)
        lock = unlock(store, clock, limiter=limits)
        rng = random.Random(10)
        unlocked = checked = 0
        for _ in range(1000):
            pin = f"{rng.randrange(10**6):06d}"
            if pin == ANA_PIN:
                pin = "999990"
            result = lock.unlock_pin(pin)
            unlocked += result.ok
            checked += result.refusal is Refusal.WRONG_PIN
            clock.now += 60  # a guess a minute, for 1,000 minutes
        assert unlocked == 0
        # 4 free, 5 backing off, the 10th locks; then one guess is checked per 15-minute lockout
        assert 10 < checked < 10 + 1000 * 60 / 900 + 2
        assert lock.lockouts() == checked - 9
        lockouts = AuditLog.select().where(AuditLog.action == "maintenance.lockout").count()
        assert lockouts == lock.lockouts()

        Heartbeats(
            store, Probe(), "1.0.0", lambda: client.clock_offset_s, maintenance_lockouts=lock.lockouts
        ).beat()
        pusher = OutboxPusher(store, client, batch_size=500)
        for _ in range(10):  # bounded: a few batches of audit rows
            report = pusher.push_once()
            if not report.pending or report.error:
                break
        assert report.error == "" and report.parked == 0 and report.pending == 0
        with connected():
            held = AuditEvent.select().where(
                AuditEvent.kiosk_id == KIOSK, AuditEvent.action == "maintenance.lockout"
            )
            assert held.count() == lockouts
            [status] = [s for s in fleet.fleet_status(fleet.load_rows(), utc_now()) if s.kiosk_id == KIOSK]
        assert fleet.AlertCode.MAINTENANCE_LOCKOUT in {a.code for a in status.alerts}
        # and staff with the right PIN get in once the lockout has run out, which clears the alert
        clock.now += lock.wait_s()
        assert lock.unlock_pin(ANA_PIN).ok and lock.lockouts() == 0
    finally:
        client.close()
        store.db.close()
