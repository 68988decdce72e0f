"""Staged OTA rollouts on a real HQ over HTTP, on SQLite and PostgreSQL: kiosks signed as enrolled,
admins through the admin API and the ``ota`` command on HQ's database (docs/ota.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from sync_helpers import event, heartbeat, post_events, results, rows

from hq import admins, ota
from hq.db import connected
from hq.devices import revoke_device
from ota.cli import main as ota_main

TIMEOUT = 10.0
PASSWORD = "correct horse battery staple"
ADMIN = "/api/v1/admin/ota"
ASSIGNMENT = "/api/v1/ota/assignment"
REPORT = "/api/v1/ota/report"
FLEET = [f"kiosk-{n:03d}" for n in range(20)]


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        with connected():
            admins.add_admin("alice", PASSWORD)
        yield live


@pytest.fixture
def kiosks(hq: LiveHq) -> dict[str, requests.Session]:
    return {k: hq.session(hq.enrol(k, store="s01" if n < 10 else "s02")) for n, k in enumerate(FLEET)}


@pytest.fixture
def admin(hq: LiveHq) -> requests.Session:
    reply = requests.post(
        f"{hq.url}/api/v1/admin/login", json={"name": "alice", "password": PASSWORD}, timeout=TIMEOUT
    )
    assert reply.status_code == 200, reply.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return session


def ota_cli(hq: LiveHq, *args: str) -> int:
    return ota_main(
        [*args[:2], "--db", hq.db_url, *args[2:]] if args[0] != "status" else [*args, "--db", hq.db_url]
    )


def assignment(hq: LiveHq, kiosk: requests.Session) -> dict[str, Any]:
    reply = kiosk.get(f"{hq.url}{ASSIGNMENT}", timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def report(hq: LiveHq, kiosk: requests.Session, version: str, state: str, detail: str = "") -> dict[str, Any]:
    reply = kiosk.post(
        f"{hq.url}{REPORT}", json={"version": version, "state": state, "detail": detail}, timeout=TIMEOUT
    )
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def register(admin: requests.Session, hq: LiveHq, version: str) -> None:
    body = {"version": version, "channel": "stable", "target": f"kiosk-{version}.tar", "min_store_schema": 3}
    reply = admin.post(f"{hq.url}{ADMIN}/releases", json=body, timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text


def start(
    admin: requests.Session, hq: LiveHq, version: str, stages: list[int], rate: float
) -> dict[str, Any]:
    body = {"version": version, "stages": stages, "max_failure_rate": rate}
    reply = admin.post(f"{hq.url}{ADMIN}/rollouts", json=body, timeout=TIMEOUT)
    assert reply.status_code == 201, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def rollout(admin: requests.Session, hq: LiveHq) -> dict[str, Any]:
    reply = admin.get(f"{hq.url}{ADMIN}/status", timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()["rollout"]
    return answer


def fleet_runs(
    admin: requests.Session, hq: LiveHq, kiosks: dict[str, requests.Session], version: str
) -> None:
    """Register ``version`` and roll it out to the whole fleet at once, every kiosk healthy."""
    register(admin, hq, version)
    start(admin, hq, version, [100], 0.5)
    for kiosk in kiosks.values():
        assert assignment(hq, kiosk)["version"] == version
        report(hq, kiosk, version, "healthy")
    assert rollout(admin, hq)["state"] == "done"


def test_a_rollout_advances_stage_by_stage_as_kiosks_report_healthy(
    hq: LiveHq, kiosks: dict[str, requests.Session], admin: requests.Session
) -> None:
    fleet_runs(admin, hq, kiosks, "1.2.0")
    register(admin, hq, "1.3.0")
    stages = [10, 50, 100]
    started = start(admin, hq, "1.3.0", stages, 0.2)
    rollout_id = started["id"]
    assert started["previous_version"] == "1.2.0" and started["created_by"] == "admin:alice"
    seen_stages = []
    reported: set[str] = set()
    for _ in range(len(stages) + 1):
        now = rollout(admin, hq)
        if now["state"] == "done":
            break
        assert now["state"] == "running"
        stage = now["current_stage"]
        seen_stages.append(stage)
        expected = set(ota.members(FLEET, rollout_id, stages, stage))
        told = {k for k, s in kiosks.items() if assignment(hq, s)["version"] == "1.3.0"}
        assert told == expected  # only the started stages' kiosks are told to update
        new = sorted(expected - reported)
        assert new, "a running stage with nothing to wait for should have advanced by itself"
        for kiosk_id in new[:-1]:
            assert report(hq, kiosks[kiosk_id], "1.3.0", "healthy")["counted"] is True
            reported.add(kiosk_id)
        assert rollout(admin, hq)["current_stage"] == stage  # one kiosk of the stage is still out
        report(hq, kiosks[new[-1]], "1.3.0", "healthy")
        reported.add(new[-1])
    final = rollout(admin, hq)
    assert final["state"] == "done" and reported == set(FLEET)
    assert seen_stages == sorted(set(seen_stages)) and seen_stages[-1] == len(stages) - 1
    assert all(p["started"] and p["pending"] == 0 for p in final["progress"])
    assert {assignment(hq, s)["version"] for s in kiosks.values()} == {"1.3.0"}
    actions = [a for (a,) in rows(hq, "SELECT action FROM audit_event WHERE kiosk_id = '@hq' ORDER BY id")]
    assert actions.count("ota.rollout.start") == 2 and actions.count("ota.rollout.done") == 2
    assert "ota.release.register" in actions and "ota.rollout.advance" in actions


def test_a_failure_rate_over_the_threshold_pauses_the_rollout(
    hq: LiveHq, kiosks: dict[str, requests.Session], admin: requests.Session
) -> None:
    fleet_runs(admin, hq, kiosks, "1.2.0")
    register(admin, hq, "1.3.0")
    stages = [50, 100]
    rollout_id = start(admin, hq, "1.3.0", stages, 0.2)["id"]
    first = ota.members(FLEET, rollout_id, stages, 0)
    assert len(first) >= 4
    report(hq, kiosks[first[0]], "1.3.0", "healthy")
    report(hq, kiosks[first[1]], "1.3.0", "rolled_back", "health check: camera did not answer")
    assert rollout(admin, hq)["state"] == "running"  # two reports are below the minimum sample
    report(hq, kiosks[first[2]], "1.3.0", "failed", "pip install failed")
    paused = rollout(admin, hq)
    assert paused["state"] == "paused" and paused["current_stage"] == 0
    assert "2 of 3 kiosks failed or rolled back (66.7 %), over the limit of 20.0 %" in paused["reason"]
    later = [k for k in FLEET if k not in first]
    assert {assignment(hq, kiosks[k])["version"] for k in later} == {"1.2.0"}  # no new stage started
    assert assignment(hq, kiosks[first[3]])["version"] == "1.3.0"  # a started stage keeps the release
    with connected():
        assert rows(hq, "SELECT actor FROM audit_event WHERE action = 'ota.rollout.auto_pause'") == [("hq",)]
    # resuming with the rate still over the threshold pauses again at once
    again = admin.post(f"{hq.url}{ADMIN}/rollouts/1.3.0/resume", json={}, timeout=TIMEOUT)
    assert again.status_code == 200 and again.json()["state"] == "paused"
    wrong = admin.post(f"{hq.url}{ADMIN}/rollouts/1.3.0/pause", timeout=TIMEOUT)
    assert wrong.status_code == 409 and "paused" in wrong.json()["error"]


def test_abort_assigns_the_previous_release_to_every_kiosk(
    hq: LiveHq,
    kiosks: dict[str, requests.Session],
    admin: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fleet_runs(admin, hq, kiosks, "1.2.0")
    assert (
        ota_cli(
            hq,
            "release",
            "register",
            "1.3.0",
            "--channel",
            "stable",
            "--target",
            "kiosk-1.3.0.tar",
            "--min-store-schema",
            "4",
        )
        == 0
    )
    assert ota_cli(hq, "rollout", "start", "1.3.0", "--stages", "50,100", "--max-failure-rate", "0.1") == 0
    assert "1.3.0" in capsys.readouterr().out
    assert "1.3.0" in {assignment(hq, s)["version"] for s in kiosks.values()}
    assert ota_cli(hq, "rollout", "abort", "1.3.0") == 0
    answers = [assignment(hq, s) for s in kiosks.values()]
    assert {(a["version"], a["target"], a["channel"]) for a in answers} == {
        ("1.2.0", "kiosk-1.2.0.tar", "stable")
    }
    # a second abort, or one of another version, is refused with the reason
    assert ota_cli(hq, "rollout", "abort", "1.3.0") == 2
    assert ota_cli(hq, "rollout", "pause", "9.9.9") == 2
    assert "9.9.9" in capsys.readouterr().err
    actors = rows(hq, "SELECT actor FROM audit_event WHERE action = 'ota.rollout.abort'")
    assert len(actors) == 1 and actors[0][0].startswith("cli:")


def test_assignment_is_stable_across_calls(
    hq: LiveHq, kiosks: dict[str, requests.Session], admin: requests.Session
) -> None:
    assert {assignment(hq, s)["version"] for s in kiosks.values()} == {None}  # no rollout yet
    register(admin, hq, "1.3.0")
    start(admin, hq, "1.3.0", [30, 100], 0.1)
    first = {k: assignment(hq, s) for k, s in kiosks.items()}
    second = {k: assignment(hq, s) for k, s in kiosks.items()}
    assert first == second
    assert {a["version"] for a in first.values()} <= {"1.3.0", None}


def test_check_now_is_delivered_once(
    hq: LiveHq,
    kiosks: dict[str, requests.Session],
    admin: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert ota_cli(hq, "rollout", "check-now", "--device", "kiosk-003") == 0
    assert "1" in capsys.readouterr().out
    assert assignment(hq, kiosks["kiosk-003"])["check_now"] is True
    assert assignment(hq, kiosks["kiosk-003"])["check_now"] is False
    assert assignment(hq, kiosks["kiosk-004"])["check_now"] is False
    reply = admin.post(f"{hq.url}{ADMIN}/check-now", json={"store": "s02"}, timeout=TIMEOUT)
    assert reply.status_code == 200 and reply.json() == {"kiosks": 10}
    flagged = {k for k, s in kiosks.items() if assignment(hq, s)["check_now"]}
    assert flagged == set(FLEET[10:])
    assert not any(assignment(hq, s)["check_now"] for s in kiosks.values())
    unknown = admin.post(f"{hq.url}{ADMIN}/check-now", json={"store": "s99"}, timeout=TIMEOUT)
    assert unknown.status_code == 422 and "s99" in unknown.json()["error"]


def test_a_revoked_kiosk_is_refused(hq: LiveHq, kiosks: dict[str, requests.Session]) -> None:
    with connected():
        revoke_device("kiosk-001")
    for reply in (
        kiosks["kiosk-001"].get(f"{hq.url}{ASSIGNMENT}", timeout=TIMEOUT),
        kiosks["kiosk-001"].post(
            f"{hq.url}{REPORT}", json={"version": "1.3.0", "state": "healthy"}, timeout=TIMEOUT
        ),
    ):
        assert reply.status_code == 401 and reply.json()["detail"] == {"reason": "revoked"}
    unsigned = requests.get(f"{hq.url}{ASSIGNMENT}", timeout=TIMEOUT)
    assert unsigned.status_code == 401 and unsigned.json()["detail"] == {"reason": "missing"}


@pytest.mark.parametrize(
    ("body", "field", "problem"),
    [
        ({"version": "1.3.0", "state": "exploded"}, "state", "'downloading'"),
        ({"version": "1.3.0", "state": "failed", "detail": "x" * 501}, "detail", "at most 500"),
        ({"version": "1.3.0", "state": "failed", "detail": "bad\x00byte"}, "detail", "pattern"),
        ({"state": "healthy"}, "version", "required"),
        ({"version": "../etc", "state": "healthy"}, "version", "pattern"),
        ({"version": "1.3.0", "state": "healthy", "extra": 1}, "extra", "not permitted"),
        ({"version": 130, "state": "healthy"}, "version", "string"),
    ],
)
def test_bad_report_bodies_are_refused_with_the_field_named(
    hq: LiveHq, kiosks: dict[str, requests.Session], body: dict[str, Any], field: str, problem: str
) -> None:
    reply = kiosks["kiosk-000"].post(f"{hq.url}{REPORT}", json=body, timeout=TIMEOUT)
    assert reply.status_code == 422, reply.text
    answer = reply.json()
    assert "update report is not valid" in answer["error"] and answer["error_zh"]
    assert any(p["field"] == field and problem in p["problem"] for p in answer["detail"]), answer["detail"]
    assert rows(hq, "SELECT count(*) FROM ota_device_status WHERE state IS NOT NULL") == [(0,)]


def test_a_heartbeat_carries_the_agents_state_and_old_heartbeats_still_work(
    hq: LiveHq, kiosks: dict[str, requests.Session], admin: requests.Session
) -> None:
    register(admin, hq, "1.3.0")
    start(admin, hq, "1.3.0", [100], 0.5)
    kiosk = kiosks["kiosk-005"]
    old = post_events(kiosk, hq, [event("heartbeat", heartbeat())])
    assert results(old)[0][1] == "stored"
    ota_state = {"version": "1.3.0", "state": "rolled_back", "detail": "UI did not come up"}
    new = post_events(kiosk, hq, [event("heartbeat", heartbeat(at="2026-11-24T12:05:00Z", ota=ota_state))])
    assert results(new)[0][1] == "stored"
    status = admin.get(f"{hq.url}{ADMIN}/status", timeout=TIMEOUT).json()
    mine = next(k for k in status["kiosks"] if k["kiosk_id"] == "kiosk-005")
    assert (mine["version"], mine["state"], mine["outcome"]) == ("1.3.0", "rolled_back", "rolled_back")
    assert mine["detail"] == "UI did not come up" and mine["reported_at"] == "2026-11-24T12:05:00Z"
    # an older heartbeat arriving late does not overwrite the newer state
    late = {"version": "1.3.0", "state": "downloading"}
    post_events(kiosk, hq, [event("heartbeat", heartbeat(at="2026-11-24T12:01:00Z", ota=late))])
    status = admin.get(f"{hq.url}{ADMIN}/status", timeout=TIMEOUT).json()
    mine = next(k for k in status["kiosks"] if k["kiosk_id"] == "kiosk-005")
    assert mine["state"] == "rolled_back"
    bad = post_events(kiosk, hq, [event("heartbeat", heartbeat(ota={"version": "1.3.0", "state": "nope"}))])
    assert results(bad)[0][1] == "rejected"
    stored = rows(hq, "SELECT body FROM heartbeat ORDER BY id")
    assert "ota" not in json.loads(stored[0][0]) and json.loads(stored[1][0])["ota"]["state"] == "rolled_back"


def test_ota_status_json_shows_each_kiosk_and_the_stages(
    hq: LiveHq,
    kiosks: dict[str, requests.Session],
    admin: requests.Session,
    capsys: pytest.CaptureFixture[str],
) -> None:
    register(admin, hq, "1.3.0")
    rollout_id = start(admin, hq, "1.3.0", [50, 100], 0.5)["id"]
    first = ota.members(FLEET, rollout_id, [50, 100], 0)
    report(hq, kiosks[first[0]], "1.3.0", "downloading")
    report(hq, kiosks[first[1]], "1.3.0", "healthy")
    capsys.readouterr()
    assert ota_cli(hq, "status", "--json") == 0
    printed = json.loads(capsys.readouterr().out)
    assert [k["kiosk_id"] for k in printed["kiosks"]] == FLEET
    by_id = {k["kiosk_id"]: k for k in printed["kiosks"]}
    assert by_id[first[0]]["state"] == "downloading" and by_id[first[0]]["outcome"] is None
    assert by_id[first[1]]["outcome"] == "healthy" and by_id[first[1]]["reported_at"].endswith("Z")
    assert by_id["kiosk-012"]["store"] == "s02"
    assert {k["stage"] for k in printed["kiosks"]} == {0, 1}
    progress = printed["rollout"]["progress"]
    assert [(p["percent"], p["started"], p["kiosks"], p["healthy"]) for p in progress] == [
        (50, True, len(first), 1),
        (100, False, 20, 1),
    ]
    assert ota_cli(hq, "status") == 0
    text = capsys.readouterr().out
    assert "1.3.0" in text and first[1] in text


def test_admin_endpoints_need_a_session_and_releases_are_checked(
    hq: LiveHq, kiosks: dict[str, requests.Session], admin: requests.Session
) -> None:
    for method, path in (("GET", "/status"), ("POST", "/releases"), ("POST", "/rollouts/1.3.0/abort")):
        reply = requests.request(method, f"{hq.url}{ADMIN}{path}", json={}, timeout=TIMEOUT)
        assert reply.status_code == 401
    register(admin, hq, "1.3.0")
    register(admin, hq, "1.3.0")  # the same again changes nothing
    body = {"version": "1.3.0", "channel": "stable", "target": "other.tar", "min_store_schema": 3}
    clash = admin.post(f"{hq.url}{ADMIN}/releases", json=body, timeout=TIMEOUT)
    assert clash.status_code == 409 and "registered already" in clash.json()["error"]
    missing = admin.post(
        f"{hq.url}{ADMIN}/rollouts",
        json={"version": "2.0.0", "stages": [100], "max_failure_rate": 0.1},
        timeout=TIMEOUT,
    )
    assert missing.status_code == 404 and "ota release" in missing.json()["error"]
    stages = admin.post(
        f"{hq.url}{ADMIN}/rollouts",
        json={"version": "1.3.0", "stages": [10, 50], "max_failure_rate": 0.1},
        timeout=TIMEOUT,
    )
    assert stages.status_code == 422 and "100" in stages.json()["error"]
    start(admin, hq, "1.3.0", [100], 0.1)
    register(admin, hq, "1.4.0")
    busy = admin.post(
        f"{hq.url}{ADMIN}/rollouts",
        json={"version": "1.4.0", "stages": [100], "max_failure_rate": 0.1},
        timeout=TIMEOUT,
    )
    assert busy.status_code == 409 and "abort" in busy.json()["error"]
    assert len(admin.get(f"{hq.url}{ADMIN}/releases", timeout=TIMEOUT).json()) == 2
