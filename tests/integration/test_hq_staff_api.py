"""Staff accounts through the admin API on a real HQ (127.0.0.1, SQLite and PostgreSQL) down to the
kiosk's real store and unlock: add, change role, reset PIN, issue a badge, disable; each change is
audited at HQ under the admin's name and reaches the kiosk at its next catalog pull. Also
``hq staff pin`` (alias ``reset-pin``) and ``hq staff role`` on the command line."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from test_maintenance_staff_sync import Clock, kiosk_parts, unlock

from hq import admins
from hq.catalog import seed_demo
from hq.cli import main
from hq.db import connected
from hq.devices import add_store
from hq.models import HqAudit, Staff
from hq.settings import AuthSection
from hq.staff import audit_of, pin_hasher
from hq.versioning import current_version
from kiosk.maintenance.roles import Role
from kiosk.maintenance.session import Refusal
from kiosk.sync.pusher import CatalogPuller

TIMEOUT = 10.0
PASSWORD = "correct horse battery staple"
STAFF = "/api/v1/admin/staff"
ANA_PIN = "135790"
ANA_NEW_PIN = "864209"
BOB_PIN = "246813"


@pytest.fixture
def hq(hq_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveHq]:
    with running_hq(hq_db_url, auth=AuthSection(max_failures=100)) as live:
        monkeypatch.setenv("HQ_AUTH__IDENTITY_FILE", str(live.identity_file))
        with connected():
            seed_demo()
            add_store("s01", "One")
            add_store("s02", "Other")
            admins.add_admin("alice", PASSWORD)
        yield live


def signed_in(hq: LiveHq) -> requests.Session:
    reply = requests.post(
        f"{hq.url}/api/v1/admin/login", json={"name": "alice", "password": PASSWORD}, timeout=TIMEOUT
    )
    assert reply.status_code == 200, reply.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return session


def call(
    session: requests.Session, hq: LiveHq, method: str, path: str, body: Any = None
) -> requests.Response:
    return session.request(method, f"{hq.url}{STAFF}{path}", json=body, timeout=TIMEOUT)


def test_every_staff_endpoint_refuses_a_missing_or_bad_token(hq: LiveHq) -> None:
    with connected():
        version = current_version()
    endpoints: list[tuple[str, str, Any]] = [
        ("GET", "", None),
        ("GET", "?store=s01", None),
        ("POST", "", {"name": "eve", "role": "it", "pin": ANA_PIN}),
        ("POST", "/ana/disable", None),
        ("POST", "/ana/role", {"role": "it"}),
        ("POST", "/ana/pin", {"pin": ANA_PIN}),
        ("POST", "/ana/badge", {}),
    ]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
        for method, path, body in endpoints:
            reply = requests.request(
                method, f"{hq.url}{STAFF}{path}", json=body, headers=headers, timeout=TIMEOUT
            )
            assert reply.status_code == 401, (method, path, headers)
            assert reply.headers["WWW-Authenticate"] == "Bearer"
    # HQ's admins have no scopes: a session of a disabled admin is gone, so it is refused the same way
    session = signed_in(hq)
    with connected():
        admins.disable_admin("alice")
    assert call(session, hq, "POST", "", {"name": "eve", "role": "it", "pin": ANA_PIN}).status_code == 401
    with connected():
        assert Staff.select().count() == 0 and HqAudit.select().count() == 0
        assert current_version() == version


def test_an_admin_manages_staff_and_each_change_reaches_the_kiosk_at_its_next_pull(
    hq: LiveHq, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # what HQ and the kiosk log at their default level: another test in this worker process may
    # have left the root logger at DEBUG, where peewee logs every SQL statement with its values
    caplog.set_level(logging.INFO)
    session = signed_in(hq)
    store, client = kiosk_parts(hq, tmp_path)
    try:
        made = call(
            session, hq, "POST", "", {"name": "ana", "role": "cashier", "stores": ["s01"], "pin": ANA_PIN}
        )
        assert made.status_code == 201, made.text
        assert made.json() == {
            "name": "ana",
            "role": "cashier",
            "stores": ["s01"],
            "active": True,
            "created_at": made.json()["created_at"],
            "disabled_at": None,
        }
        bob = call(
            session, hq, "POST", "", {"name": "bob", "role": "manager", "stores": ["s02"], "pin": BOB_PIN}
        )
        assert bob.status_code == 201, bob.text
        # per store: a kiosk of s01 receives ana, not bob, who works in s02
        here = call(session, hq, "GET", "?store=s01").json()
        assert [s["name"] for s in here] == ["ana"]
        assert [s["name"] for s in call(session, hq, "GET", "?store=s02").json()] == ["bob"]
        assert [s["name"] for s in call(session, hq, "GET", "").json()] == ["ana", "bob"]
        assert call(session, hq, "GET", "?store=nowhere").status_code == 404

        puller = CatalogPuller(store, client)
        assert puller.pull_once().error == ""
        clock = Clock(time.time())
        lock = unlock(store, clock)
        opened = lock.unlock_pin(ANA_PIN)
        assert opened.session is not None and opened.session.role is Role.CASHIER
        lock.lock()
        assert lock.unlock_pin(BOB_PIN).refusal is Refusal.WRONG_PIN  # another store's account

        role = call(session, hq, "POST", "/ana/role", {"role": "manager"})
        assert role.status_code == 200 and role.json()["role"] == "manager"
        pin = call(session, hq, "POST", "/ana/pin", {"pin": ANA_NEW_PIN})
        assert pin.status_code == 200, pin.text
        assert puller.pull_once().error == ""
        clock.now += lock.wait_s()
        assert lock.unlock_pin(ANA_PIN).refusal is Refusal.WRONG_PIN
        clock.now += lock.wait_s()
        opened = lock.unlock_pin(ANA_NEW_PIN)
        assert opened.session is not None and opened.session.role is Role.MANAGER
        lock.lock()

        badge = call(session, hq, "POST", "/ana/badge", {"ttl_minutes": 10})
        assert badge.status_code == 201, badge.text
        assert badge.json()["role"] == "manager" and badge.json()["badge"].startswith("KB1.")
        assert lock.unlock_badge(badge.json()["badge"]).ok
        lock.lock()

        gone = call(session, hq, "POST", "/ana/disable")
        assert gone.status_code == 200 and gone.json()["active"] is False
        assert puller.pull_once().error == ""
        clock.now += lock.wait_s()
        assert lock.unlock_pin(ANA_NEW_PIN).refusal is Refusal.WRONG_PIN

        with connected():
            trail = audit_of("ana")
            stored = [r.detail for r in HqAudit.select()]
        assert [(actor, action) for _, actor, action, _ in trail] == [
            ("alice", "staff.add"),
            ("alice", "staff.role"),
            ("alice", "staff.pin"),
            ("alice", "staff.badge"),
            ("alice", "staff.disable"),
        ]
        # the PINs, their hashes and the badge are in no answer, no audit line and no log line
        badge_text = badge.json()["badge"]
        seen = " ".join([made.text, pin.text, role.text, gone.text, *stored, caplog.text])
        for secret in (ANA_PIN, ANA_NEW_PIN, BOB_PIN, "$argon2", badge_text):
            assert secret not in seen
    finally:
        client.close()
        store.db.close()


def test_the_api_applies_the_same_rules_as_the_cli(hq: LiveHq) -> None:
    session = signed_in(hq)

    def add(body: dict[str, Any]) -> requests.Response:
        return call(session, hq, "POST", "", {"name": "cy", "role": "it", "pin": ANA_PIN} | body)

    for weak in ("123456", "000000", "987654", "12345", "12ab56", "1234567890123"):
        reply = add({"pin": weak})
        assert reply.status_code == 422, (weak, reply.text)
        assert weak not in reply.text
    assert add({"role": "owner"}).status_code == 422
    assert add({"name": "no spaces"}).status_code == 422
    assert add({"extra": 1}).status_code == 422
    assert add({"stores": ["nowhere"]}).status_code == 404
    assert add({}).status_code == 201
    assert add({}).status_code == 409  # the name is taken
    taken = call(session, hq, "POST", "", {"name": "di", "role": "it", "pin": ANA_PIN})
    assert taken.status_code == 409 and ANA_PIN not in taken.text  # another active account's PIN
    assert call(session, hq, "POST", "", {"name": "di", "role": "it", "pin": BOB_PIN}).status_code == 201
    assert call(session, hq, "POST", "/di/pin", {"pin": ANA_PIN}).status_code == 409
    assert call(session, hq, "POST", "/di/pin", {"pin": BOB_PIN}).status_code == 200  # its own: fine
    assert call(session, hq, "POST", "/nobody/pin", {"pin": "975310"}).status_code == 404
    assert call(session, hq, "POST", "/nobody/disable").status_code == 404
    assert call(session, hq, "POST", "/cy/badge", {"ttl_minutes": 0}).status_code == 422
    assert call(session, hq, "POST", "/cy/disable").status_code == 200
    with connected():
        version = current_version()
    for path, body in (("/cy/role", {"role": "manager"}), ("/cy/pin", {"pin": "975310"}), ("/cy/badge", {})):
        assert call(session, hq, "POST", path, body).status_code == 409, path
    with connected():
        assert current_version() == version  # refused changes take no version and no audit line
        assert [a for _, _, a, _ in audit_of("cy")] == ["staff.add", "staff.disable"]


def hq_cli(
    hq: LiveHq,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    try:
        code = main([*argv, "--db", hq.db_url])
    except SystemExit as exc:  # argparse refusing the command line
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_cli_resets_a_pin_from_stdin_never_from_the_command_line(
    hq: LiveHq, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    add = ("staff", "add", "ana", "--role", "cashier", "--pin-stdin")
    assert hq_cli(hq, capsys, monkeypatch, *add, stdin=ANA_PIN + "\n")[0] == 0
    # a PIN on the command line is refused before anything is done
    code, _, err = hq_cli(hq, capsys, monkeypatch, "staff", "pin", "ana", ANA_NEW_PIN)
    assert code == 2 and "unrecognized arguments" in err
    code, out, err = hq_cli(
        hq, capsys, monkeypatch, "staff", "pin", "ana", "--pin-stdin", stdin=ANA_NEW_PIN + "\n"
    )
    assert code == 0 and "ana" in out and ANA_NEW_PIN not in out + err
    code, _, err = hq_cli(
        hq, capsys, monkeypatch, "staff", "reset-pin", "ana", "--pin-stdin", stdin="111111\n"
    )
    assert code == 2 and err
    code, out, err = hq_cli(hq, capsys, monkeypatch, "staff", "role", "ana", "it")
    assert code == 0 and "it" in out
    code, out, _ = hq_cli(hq, capsys, monkeypatch, "staff", "list", "--store", "s01")
    assert code == 0 and "ana\tit\t*" in out
    with connected():
        row = Staff.get(Staff.name == "ana")
        trail = audit_of("ana")
    assert pin_hasher().verify(row.pin_hash, ANA_NEW_PIN)
    assert [a for _, _, a, _ in trail] == ["staff.add", "staff.pin", "staff.role"]
    assert all(actor.startswith("cli:") for _, actor, _, _ in trail)
