"""The kiosk's side of an update: HOLD/RELEASE on the real socket, the health file, the heartbeat field."""

from __future__ import annotations

import json
import threading
from pathlib import Path

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
from ota.agent import SocketKioskLink
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway

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


def _ask(controller: CheckoutController, link: SocketKioskLink, command: str) -> str:
    """Send ``command`` from another thread (the agent) while this thread (the UI) pumps."""
    answer: list[str] = []
    thread = threading.Thread(target=lambda: answer.append(link.ask(command)))
    thread.start()
    for _ in range(6000):
        if answer:
            break
        controller.pump(timeout=0.01)
    thread.join(timeout=30)
    return answer[0]


def test_hold_is_refused_with_a_cart_and_granted_when_idle_then_released(tmp_path: Path) -> None:
    controller = _controller(tmp_path)
    ota = OtaLink(tmp_path / "data", controller, "1.0.0", answer_timeout_s=60)
    ota.start()
    try:
        link = SocketKioskLink(ota.socket_path, timeout_s=60)
        controller.dispatch(co.StartTapped())
        controller.dispatch(co.ProductTapped(controller.catalog()[0]))
        assert _ask(controller, link, "HOLD") == "busy"  # a customer with a cart
        controller.dispatch(co.CancelTapped())
        assert controller.state.phase is co.Phase.ATTRACT
        assert _ask(controller, link, "HOLD") == "held"
        controller.dispatch(co.StartTapped())
        assert controller.state.phase is co.Phase.ATTRACT  # no sale while held
        assert _ask(controller, link, "RELEASE") == "released"
        controller.dispatch(co.StartTapped())
        assert controller.state.phase is co.Phase.CART
        assert _ask(controller, link, "NONSENSE") == "unknown"
    finally:
        ota.stop()
    assert not ota.socket_path.exists()


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
