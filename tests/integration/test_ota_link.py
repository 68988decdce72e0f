"""The kiosk's side of an update: HOLD/RELEASE on the real socket, the health file, the heartbeat field."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ota_link import HEALTH_PARTS, HealthWatch, OtaLink, heartbeat_field
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from kiosk.sync.heartbeat import Readings, heartbeat_body
from ota.agent import OS_UPDATE_HOLDER, SocketKioskLink
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

_T = TypeVar("_T")
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


def _controller(tmp_path: Path) -> CheckoutController:
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    return CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店", idle_timeout_s=60, done_timeout_s=5),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=False,
    )


def _meanwhile(controller: CheckoutController, fn: Callable[[], _T]) -> _T:
    """``fn()`` on another thread (an updater's process) while this thread (the UI) pumps."""
    result: list[_T] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    for _ in range(6000):
        if result:
            break
        controller.pump(timeout=0.01)
    thread.join(timeout=30)
    return result[0]


def _ask(controller: CheckoutController, link: SocketKioskLink, command: str) -> str:
    """Send ``command`` from another thread (the agent) while this thread (the UI) pumps."""
    return _meanwhile(controller, lambda: link.ask(command))


@dataclass
class Live:
    """A kiosk's checkout with its update link serving on a real socket; ``ask`` sends one line."""

    controller: CheckoutController
    ota: OtaLink

    def link(self, holder: str | None = None) -> SocketKioskLink:
        return SocketKioskLink(self.ota.socket_path, timeout_s=60, holder=holder)

    def ask(self, command: str) -> str:
        return _ask(self.controller, self.link(), command)

    def meanwhile(self, fn: Callable[[], _T]) -> _T:
        return _meanwhile(self.controller, fn)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.0.0", answer_timeout_s=60)
    ota.start()
    try:
        yield Live(controller, ota)
    finally:
        ota.stop()


def test_hold_is_refused_with_a_cart_and_granted_when_idle_then_released(live: Live) -> None:
    controller = live.controller
    controller.dispatch(co.StartTapped())
    controller.dispatch(co.ProductTapped(controller.catalog()[0]))
    assert live.ask("HOLD") == "busy"  # a customer with a cart
    controller.dispatch(co.CancelTapped())
    assert controller.state.phase is co.Phase.ATTRACT
    assert live.ask("HOLD") == "held"
    controller.dispatch(co.StartTapped())
    assert controller.state.phase is co.Phase.ATTRACT  # no sale while held
    assert live.ask("RELEASE") == "released"
    controller.dispatch(co.StartTapped())
    assert controller.state.phase is co.Phase.CART
    assert live.ask("NONSENSE") == "unknown"
    live.ota.stop()
    assert not live.ota.socket_path.exists()


def test_the_health_file_is_written_once_every_part_answered(tmp_path: Path) -> None:
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.2.0")
    answered = {"printer": False, "camera": True, "hq": True}
    watch = HealthWatch(lambda: answered["printer"], lambda: answered["camera"], lambda: answered["hq"])
    ota.healthy("store")
    ota.healthy("ui")
    watch.check(ota)
    assert not ota.health_path.exists()  # the printer has not answered yet
    answered["printer"] = True
    watch.check(ota)
    assert ota.health_path == tmp_path / "data" / "ota" / "health" / "1.2.0.ok"
    assert json.loads(ota.health_path.read_text())["parts"] == sorted(HEALTH_PARTS)


def test_the_heartbeat_carries_the_agents_state_when_there_is_one(tmp_path: Path) -> None:
    readings = Readings(None, "ok", 1, None)

    def body(ota: dict[str, object] | None) -> dict[str, object]:
        from datetime import UTC, datetime

        return heartbeat_body(
            readings,
            at=datetime.now(UTC),
            app_version="1",
            outbox_depth=0,
            parked=0,
            catalog_version=0,
            clock_offset_s=0.0,
            ota=ota,
        )

    assert heartbeat_field(tmp_path) is None
    assert "ota" not in body(heartbeat_field(tmp_path))
    (tmp_path / "ota").mkdir()
    (tmp_path / "ota" / "state.json").write_text(
        json.dumps(
            {
                "state": "switched",
                "version": "1.1.0",
                "running": "1.1.0",
                "at": "2026-12-02T00:00:00Z",
                "detail": "x" * 900,
                "unsent": [{"version": "1.1.0"}] * 50,
            }
        )
    )
    field = heartbeat_field(tmp_path)
    # HQ's report body (hq.ota.ReportIn): exactly these fields, the detail cut to its 500 characters
    assert field == {"version": "1.1.0", "state": "switched", "detail": "x" * 500}
    assert body(field)["ota"] == field
    # an idle agent has nothing to report about a release: no field, so HQ refuses no heartbeat
    (tmp_path / "ota" / "state.json").write_text(json.dumps({"state": "idle", "version": None}))
    assert heartbeat_field(tmp_path) is None


def test_hq_takes_a_heartbeat_with_the_agents_state(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from hq.events import HeartbeatIn

    (tmp_path / "ota").mkdir()
    (tmp_path / "ota" / "state.json").write_text(
        json.dumps(
            {
                "state": "rolled_back",
                "version": "1.1.0",
                "running": "1.0.0",
                "at": "2026-12-02T00:00:00Z",
                "detail": "release 1.1.0 did not report healthy within 180 s",
            }
        )
    )
    body = heartbeat_body(
        Readings(None, "ok", 1, None),
        at=datetime.now(UTC),
        app_version="1.0.0",
        outbox_depth=0,
        parked=0,
        catalog_version=0,
        clock_offset_s=0.0,
        ota=heartbeat_field(tmp_path),
    )
    beat = HeartbeatIn.model_validate(body)
    assert beat.ota is not None and beat.ota.state == "rolled_back"


def test_hold_outside_the_maintenance_window_is_busy_and_inside_it_held(tmp_path: Path) -> None:
    """GIVEN [ota] maintenance_window 02:00-05:00 and an idle kiosk WHEN the agent asks HOLD at 14:30
    THEN busy (no hold); at 02:10 it is held. The clock is the link's injected local time."""
    from datetime import time

    from kiosk.core.window import parse_window

    controller = _controller(tmp_path)
    now = [time(14, 30)]
    ota = OtaLink(
        tmp_path / "data",
        controller,
        "1.0.0",
        answer_timeout_s=60,
        window=parse_window("02:00-05:00"),
        local_time=lambda: now[0],
    )
    ota.start()
    try:
        link = SocketKioskLink(ota.socket_path, timeout_s=60)
        assert link.ask("HOLD") == "busy outside window"  # answered without the UI thread
        assert not link.hold() and not controller.update_hold
        now[0] = time(2, 10)
        assert _ask(controller, link, "HOLD") == "held"
        assert controller.update_hold
    finally:
        ota.stop()


def test_the_os_update_giving_its_hold_back_leaves_the_agents_hold(live: Live) -> None:
    """GIVEN the update agent and the OS update both hold an idle kiosk WHEN the OS update gives its
    hold back (its reboot failed, or it was stopped) THEN the kiosk stays held for the agent, which
    is about to restart it, and starts no sale; once the agent releases too, it sells again.
    Found: the kiosk had one hold, so the OS update's RELEASE freed the agent's mid-switch."""
    controller = live.controller
    agent, os_update = live.link(), live.link(OS_UPDATE_HOLDER)
    assert live.meanwhile(agent.hold)
    assert live.meanwhile(os_update.hold)
    assert live.meanwhile(os_update.release) == "still held by agent"
    assert controller.update_hold
    controller.dispatch(co.StartTapped())
    assert controller.state.phase is co.Phase.ATTRACT  # still no sale
    assert live.meanwhile(agent.release) == "released"
    assert not controller.update_hold
    controller.dispatch(co.StartTapped())
    assert controller.state.phase is co.Phase.CART


def test_each_holder_gives_back_only_its_own_hold_in_either_order(live: Live) -> None:
    assert live.ask("HOLD os-update") == "held"
    assert live.ask("HOLD agent") == "held"  # the agent by name is the bare HOLD's
    assert live.ask("RELEASE") == "still held by os-update"
    assert live.ask("RELEASE") == "still held by os-update"  # twice: still one hold
    assert live.controller.update_hold
    assert live.ask("RELEASE os-update") == "released"
    assert not live.controller.update_hold
    # a holder that holds nothing gives back nothing, and the kiosk says it sells
    assert live.ask("RELEASE os-update") == "released"


def test_a_holder_that_is_no_short_lower_case_name_is_unknown(tmp_path: Path) -> None:
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.0.0", answer_timeout_s=60)
    for line in ("HOLD OS-Update", "HOLD os update", "HOLD " + "a" * 33, "HOLD -x", "RELEASE a;b", "HOLDx"):
        assert ota.answer(line) == "unknown", line
    assert not controller.update_hold  # answered without asking the checkout


def test_the_os_update_asks_a_kiosk_from_before_holders_without_a_name(tmp_path: Path) -> None:
    """A kiosk release from before holders answers ``HOLD os-update`` with ``unknown``; the OS update
    then asks plain ``HOLD``, as it did before, rather than waiting 30 minutes for nothing."""
    heard: list[str] = []
    old = {"HOLD": "held", "RELEASE": "released"}
    path = tmp_path / "kiosk.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(60)  # ends a failing test's accept (one question fewer than expected)

    def serve(count: int) -> None:
        for _ in range(count):
            conn, _ = server.accept()
            with conn:
                line = conn.recv(64).decode("ascii").strip()
                heard.append(line)
                conn.sendall(old.get(line, "unknown").encode("ascii") + b"\n")

    thread = threading.Thread(target=serve, args=(4,), daemon=True)
    thread.start()
    try:
        os_update = SocketKioskLink(path, timeout_s=60, holder=OS_UPDATE_HOLDER)
        assert os_update.hold()
        assert os_update.release() == "released"
    finally:
        thread.join(timeout=90)
        server.close()
    assert heard == ["HOLD os-update", "HOLD", "RELEASE os-update", "RELEASE"]


def test_ota_hold_kiosk_release_says_when_the_agent_still_holds(
    live: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ota hold-kiosk --release`` (kiosk-os-update's give-back) tells the journal the truth: the
    kiosk sells again only when nobody else holds it."""
    from ota.cli import main

    data = str(live.ota.folder.parent)
    assert live.meanwhile(lambda: main(["hold-kiosk", "--data", data, "--wait-s", "0"])) == 0
    assert live.ask("HOLD") == "held"
    assert live.meanwhile(lambda: main(["hold-kiosk", "--data", data, "--release"])) == 0
    assert "hold given back; the kiosk is still held by agent" in capsys.readouterr().out
    assert live.controller.update_hold
    assert live.ask("RELEASE") == "released"
    assert live.meanwhile(lambda: main(["hold-kiosk", "--data", data, "--release"])) == 0
    assert "hold given back; the kiosk sells again" in capsys.readouterr().out


def test_a_hold_the_ui_thread_did_not_answer_in_time_never_takes_effect_later(tmp_path: Path) -> None:
    """GIVEN a UI thread too busy to answer HOLD within the link's time WHEN it gets to the question
    later THEN it does not hold: the updater was told busy and will never give that hold back, so the
    kiosk would have sold nothing until its restart. Found in review: the late HOLD held the kiosk.
    A timeout of 0 and a pump afterwards make "later" certain, without a clock."""
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.0.0", answer_timeout_s=0)
    assert ota.answer("HOLD os-update") == "busy"
    controller.pump(timeout=0)  # the UI thread gets to the question now
    assert not controller.update_hold
    controller.dispatch(co.StartTapped())
    assert controller.state.phase is co.Phase.CART


def test_a_release_the_ui_thread_did_not_answer_in_time_still_ends_the_hold(tmp_path: Path) -> None:
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.0.0", answer_timeout_s=60)
    assert _meanwhile(controller, lambda: ota.answer("HOLD os-update")) == "held"
    ota.answer_timeout_s = 0  # the UI thread is too slow from now on
    assert ota.answer("RELEASE os-update") == "unanswered"
    assert controller.update_hold  # not yet
    controller.pump(timeout=0)
    assert not controller.update_hold  # given back once the UI thread got to it


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ("released", "hold given back; the kiosk sells again"),
        (None, "the kiosk did not answer; it holds nothing once it restarts"),
        ("unanswered", "the kiosk sells again once its screen answers"),
        ("still held by agent", "hold given back; the kiosk is still held by agent"),
        ("still held by agent\nkiosk-os-update: forged", "which this release does not know"),
        ("x" * 300, "'" + "x" * 40 + "', which"),
    ],
)
def test_ota_hold_kiosk_release_repeats_only_answers_it_knows(answer: str | None, said: str) -> None:
    """The kiosk's app runs as another user than the OS update: its answer reaches the root unit's
    journal only when it is one the CLI knows, never a line of its own making."""
    from ota.cli import _release_said

    line = _release_said(answer)
    assert said in line
    assert "\n" not in line and len(line) < 120
