"""HQ's signed "check now" reaches a kiosk's update agent within one sync round (docs/ota.md).

The admin asks with ``ota rollout check-now --device K`` on a real HQ on 127.0.0.1; the kiosk's next
events push (its real signed client, as ``kiosk.bootstrap.build_hq_client`` builds it, and its real
outbox) gets the signed notice, verifies it and writes ``<data>/ota/check-now``; the agent, whose
poll interval is an hour, asks HQ at once and HQ clears the flag. The notices a kiosk must refuse
(another kiosk's, a wrong signature, expired, replayed, malformed) come from an HTTP server at the
network edge that answers what the test tells it, with the kiosk's clock injected. Nothing sleeps:
the test waits on events the agent's HQ edge sets, with a bounded timeout.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hq_fixtures import LiveHq, running_hq
from kiosk_enrolment import enrol_kiosk

from hq import rollouts
from hq.db import connected
from kiosk.bootstrap import build_hq_client
from kiosk.ota_link import CHECK_NOW_FILE as KIOSK_CHECK_NOW_FILE
from kiosk.ota_link import STATE_FILE as KIOSK_STATE_FILE
from kiosk.ota_link import request_check_now
from kiosk.ports import OutEvent
from kiosk.settings import Settings, load_settings
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.hq_client import HttpHqClient
from kiosk.sync.pusher import OutboxPusher
from kiosk.sync.signed import HqSigner
from kiosk_common import signing
from ota.agent import CHECK_NOW_FILE, STATE_FILE, Agent, AgentConfig, Assignment
from ota.cli import main as ota_main
from ota.edges import SignedHq
from ota.slots import Slots
from tests.fakes.clock import SetTime
from tests.fakes.ota_release import FakeInstaller, make_bundle

KIOSK = "k-check-1"
OTHER = "k-check-2"
#: how long the test waits for the agent's thread before it calls the run a failure (never reached)
WAIT_S = 60.0


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


def _settings(tmp_path: Path, hq: LiveHq, kiosk_id: str) -> Settings:
    data = tmp_path / kiosk_id
    data.mkdir()
    enrol_kiosk(hq, data, kiosk_id)
    config = tmp_path / f"{kiosk_id}.toml"
    config.write_text(
        f'[kiosk]\nid = "{kiosk_id}"\ndata_dir = "{data}"\n[hq]\nurl = "{hq.url}"\n', encoding="utf-8"
    )
    return load_settings(config, environ={})


def _check_now_flag(kiosk_id: str) -> bool:
    with connected():
        found = [k for k in rollouts.status()["kiosks"] if k["kiosk_id"] == kiosk_id]
    return bool(found and found[0]["check_now"])


def _admin_check_now(hq: LiveHq, kiosk_id: str) -> None:
    assert ota_main(["rollout", "check-now", "--device", kiosk_id, "--db", hq.db_url]) == 0


class WatchedHq:
    """The agent's real HQ edge (``ota.edges.SignedHq``); each assignment answer is kept and signalled."""

    def __init__(self, inner: SignedHq) -> None:
        self.inner = inner
        self.answers: list[Assignment] = []
        self.asked = threading.Condition()

    def assignment(self) -> Assignment:
        answer = self.inner.assignment()
        with self.asked:
            self.answers.append(answer)
            self.asked.notify_all()
        return answer

    def report(self, version: str, state: str, detail: str) -> None:
        self.inner.report(version, state, detail)

    def wait_for(self, count: int) -> bool:
        with self.asked:
            return self.asked.wait_for(lambda: len(self.answers) >= count, timeout=WAIT_S)


class NoFetch:
    """No release is assigned in these tests: a download would be a failure."""

    def fetch(self, version: str, target_name: str) -> Path:
        raise AssertionError(f"nothing should be fetched, asked for {target_name}")


class HeldLink:
    def hold(self) -> bool:
        return True

    def release(self) -> None:
        pass


def _agent(tmp_path: Path, settings: Settings, hq: WatchedHq) -> Agent:
    clock = SetTime(3_000_000.0)
    data = settings.kiosk.data_dir
    slots = Slots(tmp_path / "opt", data / "ota" / "health", installer=FakeInstaller(), now=clock)
    slots.install(make_bundle(tmp_path / "seed", "1.0.0"))
    slots.switch("1.0.0")
    slots.confirm("1.0.0")
    return Agent(
        slots=slots,
        fetch=NoFetch(),
        hq=hq,
        link=HeldLink(),
        state_path=data / "ota" / STATE_FILE,
        restart=lambda: None,
        store_schema=lambda: 6,
        # an hour between polls: only the check-now file can make the agent ask again in this test
        config=AgentConfig(poll_s=3600, check_file_s=0.02),
        now=clock,
    )


def test_the_kiosk_and_the_agent_agree_on_the_request_file() -> None:
    assert KIOSK_CHECK_NOW_FILE == CHECK_NOW_FILE
    assert KIOSK_STATE_FILE == STATE_FILE


def test_an_admins_check_now_reaches_the_agent_with_the_next_sync_push(hq: LiveHq, tmp_path: Path) -> None:
    """GIVEN an agent that polled and now waits an hour WHEN the admin asks this kiosk to check now
    and the kiosk pushes its outbox THEN the notice arrives with the events answer, the kiosk writes
    the check-now file, the agent asks HQ at once and gets ``check_now``, and HQ's flag is cleared."""
    settings = _settings(tmp_path, hq, KIOSK)
    data = settings.kiosk.data_dir
    store = SaleStore(open_store(data / "kiosk.sqlite3"), KIOSK)
    kiosk_client = build_hq_client(settings)
    written: list[Path] = []
    wired = kiosk_client.on_check_now
    assert wired is not None

    def record() -> None:
        wired()  # bootstrap's wiring: request_check_now(<data>)
        written.append(data / "ota" / CHECK_NOW_FILE)

    kiosk_client.on_check_now = record
    pusher = OutboxPusher(store, kiosk_client)
    watched = WatchedHq(SignedHq(build_hq_client(settings)))
    agent = _agent(tmp_path, settings, watched)
    thread = threading.Thread(target=agent.run, name="ota-agent", daemon=True)
    thread.start()
    try:
        assert watched.wait_for(1), "the agent never asked HQ"
        assert watched.answers[0].check_now is False

        store.audit("it", "nothing_to_do")  # a push with no check-now pending carries no notice
        assert pusher.push_once().pushed == 1
        assert written == [] and len(watched.answers) == 1

        _admin_check_now(hq, KIOSK)
        assert _check_now_flag(KIOSK)
        store.audit("it", "after_check_now")
        assert pusher.push_once().pushed == 1
        assert len(written) == 1  # verified and handed to the agent in the same push

        assert watched.wait_for(2), "the agent did not ask HQ after the check-now file appeared"
        assert watched.answers[1].check_now is True  # the flag was still set: the poll delivered it
        assert watched.wait_for(3)  # HQ's check_now makes the agent ask once more, at once
        assert watched.answers[2].check_now is False
        assert not _check_now_flag(KIOSK)  # and delivering it cleared it
        assert not (data / "ota" / CHECK_NOW_FILE).exists()  # the agent took the request

        store.audit("it", "after_delivery")
        assert pusher.push_once().pushed == 1
        assert len(written) == 1  # the flag is cleared: no more notices
    finally:
        agent.stop()
        thread.join(WAIT_S)
        kiosk_client.close()
        store.db.close()
    assert not thread.is_alive()
    assert len(watched.answers) == 3  # the first poll, the one the file made, the one check_now made


def test_the_flag_waits_for_the_assignment_poll_so_a_lost_sync_answer_costs_nothing(
    hq: LiveHq, tmp_path: Path
) -> None:
    """Every events answer carries a notice (a new nonce each time) until the agent's poll takes the
    flag; a kiosk whose sync answer was lost still hears at its next poll. Another kiosk hears nothing."""
    settings = _settings(tmp_path, hq, KIOSK)
    other = _settings(tmp_path, hq, OTHER)
    client, other_client = build_hq_client(settings), build_hq_client(other)
    _admin_check_now(hq, KIOSK)
    event = OutEvent(str(uuid.uuid4()), "audit", "2026-12-02T08:00:00Z", _audit_body())
    request = settings.kiosk.data_dir / "ota" / CHECK_NOW_FILE
    try:
        assert client.push_events([event])[0].status == "stored"
        assert request.exists()
        request.unlink()  # as if the answer had been lost, or the agent had taken the file
        again = OutEvent(str(uuid.uuid4()), "audit", "2026-12-02T08:00:01Z", _audit_body())
        assert client.push_events([again])[0].status == "stored"
        assert request.exists() and _check_now_flag(KIOSK)

        theirs = OutEvent(str(uuid.uuid4()), "audit", "2026-12-02T08:00:02Z", _audit_body())
        assert other_client.push_events([theirs])[0].status == "stored"
        assert not (other.kiosk.data_dir / "ota" / CHECK_NOW_FILE).exists()

        assert SignedHq(client).assignment().check_now is True
        assert not _check_now_flag(KIOSK)
        assert SignedHq(client).assignment().check_now is False
    finally:
        client.close()
        other_client.close()


def _audit_body() -> dict[str, Any]:
    return {"at": "2026-12-02T08:00:00Z", "actor": "it", "action": "x", "detail": ""}


# --- notices a kiosk must refuse: an HTTP server at the network edge answers what the test says ------------

SECRET = bytes(range(32))
NOW = 1_900_000_000.0


class _Canned(BaseHTTPRequestHandler):
    notices: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        reply: dict[str, Any] = {
            "results": [{"key": e["key"], "status": "stored"} for e in body["events"]],
            "hq_time": "2030-03-17T17:46:40.000Z",
        }
        if self.notices:
            reply["ota_check_now"] = self.notices.pop(0)
        raw = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Edge:
    url: str
    notices: list[Any]


@pytest.fixture
def edge() -> Iterator[Edge]:
    notices: list[Any] = []
    handler = type("Handler", (_Canned,), {"notices": notices})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Edge(f"http://127.0.0.1:{server.server_address[1]}", notices)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _edge_client(edge: Edge, data: Path) -> HttpHqClient:
    """The kiosk's client with its clock fixed at ``NOW`` (the edge sends no X-HQ-Time: offset 0)."""
    return HttpHqClient(
        edge.url,
        HqSigner(KIOSK, SECRET, wall_clock=SetTime(NOW)),
        timeout_s=5,
        on_check_now=lambda: request_check_now(data),
    )


def _push(client: HttpHqClient) -> str:
    event = OutEvent(str(uuid.uuid4()), "audit", "2026-12-02T08:00:00Z", _audit_body())
    results = client.push_events([event])
    assert [(r.key, r.status) for r in results] == [(event.key, "stored")]  # a notice never costs these
    return event.key


def _notice(secret: bytes = SECRET, kiosk_id: str = KIOSK, age_s: float = 5) -> dict[str, Any]:
    return dict(signing.check_now_notice(secret, kiosk_id, int(NOW - age_s)).as_json())


def _forged_signature() -> dict[str, Any]:
    notice = _notice()
    notice["sig"] = ("0" if notice["sig"][0] != "0" else "1") + notice["sig"][1:]
    return notice


@pytest.mark.parametrize(
    "notice",
    [
        pytest.param(_notice(secret=bytes(32)), id="signed with another secret"),
        pytest.param(_forged_signature(), id="one digit of the signature changed"),
        pytest.param(_notice(kiosk_id=OTHER), id="for another kiosk"),
        pytest.param(_notice(age_s=signing.CHECK_NOW_TTL_S + 1), id="expired"),
        pytest.param(_notice(age_s=-3600), id="from the future"),
        pytest.param({**_notice(), "issued_at": str(int(NOW))}, id="time as text"),
        pytest.param({"kiosk_id": KIOSK}, id="fields missing"),
        pytest.param("check now!", id="not an object"),
    ],
)
def test_a_notice_the_kiosk_cannot_trust_writes_no_request(
    edge: Edge, tmp_path: Path, notice: Any, caplog: pytest.LogCaptureFixture
) -> None:
    edge.notices.append(notice)
    client = _edge_client(edge, tmp_path)
    with caplog.at_level("WARNING", logger="kiosk.sync.hq_client"):
        _push(client)
    client.close()
    assert not (tmp_path / "ota" / CHECK_NOW_FILE).exists()
    assert "check-now notice ignored" in caplog.text
    if isinstance(notice, dict) and isinstance(notice.get("sig"), str):
        assert notice["sig"] not in caplog.text  # nothing of the signature in the log


def test_a_genuine_notice_writes_the_request_once_and_a_replay_is_ignored(edge: Edge, tmp_path: Path) -> None:
    genuine = _notice(age_s=signing.CHECK_NOW_TTL_S - 1)  # nearly ten minutes old: still good
    edge.notices.extend([genuine, genuine])
    client = _edge_client(edge, tmp_path)
    request = tmp_path / "ota" / CHECK_NOW_FILE
    _push(client)
    assert request.is_file()
    request.unlink()  # the agent took it
    _push(client)  # the same notice again: someone on the network replays it
    assert not request.exists()
    edge.notices.append(_notice())  # HQ's next notice has a new nonce
    _push(client)
    assert request.is_file()
    client.close()


def test_a_client_with_no_agent_to_tell_takes_the_answer_as_before(edge: Edge, tmp_path: Path) -> None:
    """``on_check_now`` None (the default): the notice is verified and dropped, the results kept."""
    edge.notices.append(_notice())
    client = HttpHqClient(edge.url, HqSigner(KIOSK, SECRET, wall_clock=SetTime(NOW)), timeout_s=5)
    _push(client)
    client.close()
    assert not (tmp_path / "ota").exists()
