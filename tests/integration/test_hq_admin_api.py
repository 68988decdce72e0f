"""The admin API on a real HQ: sign-in with argon2-hashed passwords, bearer tokens, stores, enrolment
codes, revocation and fleet status; sign-in failures held back like any authentication failure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq

from hq import admins
from hq.db import connected
from hq.models import Admin, AdminSession, Device, utc_now
from hq.settings import AuthSection
from kiosk.sync.signed import HqSigner

TIMEOUT = 10.0
PASSWORD = "correct horse battery staple"
ADMIN = "/api/v1/admin"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    # room for the 21 refusals of the first test; the limit itself is tested below
    with running_hq(hq_db_url, auth=AuthSection(max_failures=100)) as live:
        with connected():
            admins.add_admin("alice", PASSWORD)
        yield live


def login(hq: LiveHq, name: str = "alice", password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{hq.url}{ADMIN}/login", json={"name": name, "password": password}, timeout=TIMEOUT)


def signed_in(hq: LiveHq) -> requests.Session:
    reply = login(hq)
    assert reply.status_code == 200, reply.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return session


def test_every_admin_endpoint_refuses_a_missing_or_bad_token(hq: LiveHq) -> None:
    endpoints: list[tuple[str, str, Any]] = [
        ("GET", "/stores", None),
        ("POST", "/stores", {"code": "s09", "name": "Nine"}),
        ("POST", "/enrol-codes", {"store": "s01"}),
        ("GET", "/devices", None),
        ("POST", "/devices/kiosk-001/revoke", None),
        ("GET", "/fleet", None),
        ("POST", "/logout", None),
    ]
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
        for method, path, body in endpoints:
            reply = requests.request(
                method, f"{hq.url}{ADMIN}{path}", json=body, headers=headers, timeout=TIMEOUT
            )
            assert reply.status_code == 401, (method, path, headers)
            assert reply.headers["WWW-Authenticate"] == "Bearer"
            assert "POST /api/v1/admin/login" in reply.json()["error"] and reply.json()["detail"] is None
    with connected():
        assert Device.select().count() == 0  # nothing was done on the refused requests


def test_a_wrong_password_an_unknown_name_and_a_disabled_admin_get_the_same_401(hq: LiveHq) -> None:
    with connected():
        admins.add_admin("bob", PASSWORD)
        admins.disable_admin("bob")
    answers = [login(hq, "alice", PASSWORD + "x"), login(hq, "mallory", PASSWORD), login(hq, "bob", PASSWORD)]
    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.text for a in answers}) == 1


def test_passwords_are_stored_as_argon2id_and_tokens_as_their_sha256(hq: LiveHq) -> None:
    reply = login(hq)
    token = reply.json()["token"]
    with connected():
        stored = Admin.get(Admin.name == "alice").password_hash
        sessions = [s.token_sha256 for s in AdminSession.select()]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert sessions == [admins.token_hash(token)] and token not in sessions


def test_an_admin_makes_a_store_and_a_code_a_kiosk_enrols_and_is_revoked(hq: LiveHq) -> None:
    session = signed_in(hq)
    made = session.post(
        f"{hq.url}{ADMIN}/stores", json={"code": "s01", "name": "Main street"}, timeout=TIMEOUT
    )
    assert made.status_code == 201 and made.json()["kiosks"] == 0
    again = session.post(f"{hq.url}{ADMIN}/stores", json={"code": "s01", "name": "Other"}, timeout=TIMEOUT)
    assert again.status_code == 409 and "exists already" in again.json()["error"]
    missing = session.post(f"{hq.url}{ADMIN}/enrol-codes", json={"store": "s99"}, timeout=TIMEOUT)
    assert missing.status_code == 404 and "s99" in missing.json()["error"]

    code = session.post(
        f"{hq.url}{ADMIN}/enrol-codes",
        json={"store": "s01", "kiosk_id": "kiosk-001", "ttl_minutes": 5},
        timeout=TIMEOUT,
    )
    assert code.status_code == 201 and code.json()["kiosk_id"] == "kiosk-001"
    enrolled = requests.post(f"{hq.url}/api/v1/enrol", json={"code": code.json()["code"]}, timeout=TIMEOUT)
    assert enrolled.status_code == 201
    kiosk = hq.session(HqSigner("kiosk-001", bytes.fromhex(enrolled.json()["secret"])))
    assert kiosk.get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT).status_code == 200

    assert code.json()["payload"] is None  # no hq_url asked for: no payload

    with_url = session.post(
        f"{hq.url}{ADMIN}/enrol-codes",
        json={"store": "s01", "kiosk_id": "kiosk-002", "hq_url": hq.url + "/"},
        timeout=TIMEOUT,
    )
    assert with_url.status_code == 201
    assert with_url.json()["payload"] == f"KIOSKENROL1:{hq.url}:{with_url.json()['code']}"
    unsafe = session.post(
        f"{hq.url}{ADMIN}/enrol-codes",
        json={"store": "s01", "hq_url": "http://hq.example.cn"},
        timeout=TIMEOUT,
    )
    assert unsafe.status_code == 422 and "https" in json.dumps(unsafe.json())

    [device] = session.get(f"{hq.url}{ADMIN}/devices", timeout=TIMEOUT).json()
    assert device["kiosk_id"] == "kiosk-001" and device["store"] == "s01" and device["revoked_at"] is None
    assert "secret" not in json.dumps(device)
    assert session.get(f"{hq.url}{ADMIN}/stores", timeout=TIMEOUT).json()[0]["kiosks"] == 1
    revoked = session.post(f"{hq.url}{ADMIN}/devices/kiosk-001/revoke", timeout=TIMEOUT)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    refused = kiosk.get(f"{hq.url}/api/v1/whoami", timeout=TIMEOUT)
    assert refused.status_code == 401 and refused.json()["detail"] == {"reason": "revoked"}
    unknown = session.post(f"{hq.url}{ADMIN}/devices/kiosk-404/revoke", timeout=TIMEOUT)
    assert unknown.status_code == 404


def test_fleet_status_over_the_api(hq: LiveHq) -> None:
    session = signed_in(hq)
    hq.enrol("kiosk-001")
    beat = {"at": "2026-12-02T08:00:00Z", "app_version": "0.9.0", "printer": {"ready": False, "paper": "out", "cover": "closed"},
            "camera": "ok", "disk_free_bytes": 10**10, "temperature_c": None, "outbox_depth": 4, "parked": 0,
            "catalog_version": 42, "clock_offset_s": 0.2}  # fmt: skip
    with connected():
        Device.update(
            last_heartbeat=json.dumps(beat), last_heartbeat_at=utc_now(), app_version="0.9.0"
        ).execute()
    reply = session.get(f"{hq.url}{ADMIN}/fleet", timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    [kiosk] = reply.json()["kiosks"]
    assert (kiosk["kiosk_id"], kiosk["store"], kiosk["app_version"], kiosk["outbox_depth"]) == (
        "kiosk-001",
        "s01",
        "0.9.0",
        4,
    )
    assert [a["code"] for a in kiosk["alerts"]] == ["paper_out"]


def test_a_session_ends_on_logout_on_disable_and_after_12_hours(hq: LiveHq) -> None:
    session = signed_in(hq)
    assert session.get(f"{hq.url}{ADMIN}/stores", timeout=TIMEOUT).status_code == 200
    assert session.post(f"{hq.url}{ADMIN}/logout", timeout=TIMEOUT).status_code == 204
    assert session.get(f"{hq.url}{ADMIN}/stores", timeout=TIMEOUT).status_code == 401

    session = signed_in(hq)
    with connected():
        admins.disable_admin("alice")
    assert session.get(f"{hq.url}{ADMIN}/stores", timeout=TIMEOUT).status_code == 401

    with connected():
        admins.add_admin("carol", PASSWORD)
        started = admins.sign_in("carol", PASSWORD)
        assert started is not None
        assert admins.session_admin(started.token, started.expires_at - timedelta(seconds=1)) == "carol"
        assert admins.session_admin(started.token, started.expires_at) is None


def test_guessing_passwords_is_held_back_with_429_even_for_the_right_one(hq_db_url: str) -> None:
    clock = Clock()
    with running_hq(hq_db_url, auth=AuthSection(max_failures=3, window_s=60), clock=clock) as hq:
        with connected():
            admins.add_admin("alice", PASSWORD)
        for n in range(3):
            assert login(hq, password=f"guess number {n}").status_code == 401
        held = login(hq)
        assert held.status_code == 429 and held.headers["Retry-After"] == "60"
        clock.now += 60
        assert login(hq).status_code == 200


def test_guessing_tokens_is_held_back_too(hq_db_url: str) -> None:
    clock = Clock()
    with running_hq(hq_db_url, auth=AuthSection(max_failures=2, window_s=30), clock=clock) as hq:
        for _ in range(2):
            reply = requests.get(
                f"{hq.url}{ADMIN}/stores", headers={"Authorization": "Bearer guess"}, timeout=TIMEOUT
            )
            assert reply.status_code == 401
        reply = requests.get(
            f"{hq.url}{ADMIN}/stores", headers={"Authorization": "Bearer guess"}, timeout=TIMEOUT
        )
        assert reply.status_code == 429 and reply.headers["Retry-After"] == "30"


def test_the_openapi_document_lists_every_answer_of_the_new_endpoints(hq: LiveHq) -> None:
    paths = requests.get(f"{hq.url}/openapi.json", timeout=TIMEOUT).json()["paths"]
    enrol = paths["/api/v1/enrol"]["post"]["responses"]
    assert {"201", "401", "409", "411", "413", "422", "429", "500", "503"} <= set(enrol)
    assert {"200", "401", "429", "500", "503"} <= set(paths["/api/v1/whoami"]["get"]["responses"])
    for path, operations in paths.items():
        if not path.startswith(ADMIN):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"401", "429", "500", "503"} <= set(responses), (method, path)
            assert "WWW-Authenticate" in responses["401"]["headers"]
            if method == "post" and path != f"{ADMIN}/logout" and "{" not in path:
                assert {"411", "413", "422"} <= set(responses), (method, path)
