"""The kiosk's side of an update: the idle question on a local socket, and the health file.

The update agent (``ota agent``, another process) switches releases only when the kiosk says it is
idle. It connects to ``<data>/ota/kiosk.sock`` and sends one line:

- ``HOLD [HOLDER]``: answered ``held`` when the checkout is idle (attract phase, empty cart, no
  payment or receipt job in flight, nobody in maintenance mode), and from then on the attract screen
  starts no sale and says "updating" until every holder has sent ``RELEASE`` or the kiosk restarts;
  ``busy`` otherwise. The question is answered on the UI thread (``controller.post``), which owns
  the checkout state: the socket thread never reads it itself.
- ``RELEASE [HOLDER]``: that holder's hold ends: ``released`` when nobody holds the kiosk any more,
  ``still held by NAME[,NAME]`` when another holder does, ``unanswered`` when the UI thread did not
  answer in time (the hold ends once it gets to the release).

A HOLD the UI thread did not answer in time is answered ``busy`` and never takes effect later.

Two updaters hold the kiosk: the update agent (which sends no holder: ``agent``, as it always has)
and the image's OS updates (``os-update``). Each hold is the holder's own, so one that gives its
hold back (its update failed, or it was stopped) never frees the other's in the middle of its
switch or reboot. A holder is a short lower-case name (``HOLDER_NAME``); anything else is answered
``unknown``, as a kiosk from before holders answers ``HOLD os-update``: the client then asks again
without one.

With ``[ota] maintenance_window`` set (``"02:00-05:00"``, the kiosk's local time), HOLD outside it
is answered ``busy outside window`` without asking the checkout: the agent keeps waiting (and
keeps asking HQ), so a release never restarts a kiosk during opening hours.

The health report: once the UI is up, the store opened and migrated, the printer and the camera
answered and HQ was reached (or HQ is not configured), the app writes ``<data>/ota/health/<V>.ok``;
a new release that never writes it is rolled back by the agent.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as Time
from pathlib import Path
from typing import Any, Protocol, TypeVar

from kiosk.core.checkout import Phase
from kiosk.core.window import Window, in_window
from kiosk_common.ota_states import REPORT_STATES

log = logging.getLogger(__name__)
_T = TypeVar("_T")

#: how long the socket thread waits for the UI thread to answer HOLD before saying busy
ANSWER_TIMEOUT_S = 5.0
#: how long stop() waits for the link's thread (it polls for the stop every 0.5 s)
STOP_JOIN_S = 2.0
MAX_LINE = 64
#: who holds the kiosk when HOLD or RELEASE names nobody: the update agent, which never names itself
AGENT_HOLDER = "agent"
#: a holder's name on the socket: short, lower-case, so it is safe in a log line
HOLDER_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")


#: the request file the update agent looks for between polls (``ota.agent.CHECK_NOW_FILE``)
CHECK_NOW_FILE = "check-now"
#: the agent's state, which the heartbeat and IT's update screen read (``ota.agent.STATE_FILE``)
STATE_FILE = "state.json"


def ota_dir(data_dir: Path) -> Path:
    return data_dir / "ota"


def request_check_now(data_dir: Path) -> Path:
    """Ask the update agent to poll HQ at once: write ``<data>/ota/check-now``, which it takes (removes)
    within seconds. The kiosk user may not signal the agent's root service, but it may write its own
    data folder. Called for IT's "Check now" and for HQ's signed check-now that came with sync."""
    folder = ota_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECK_NOW_FILE
    path.write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")
    return path


class Holdable(Protocol):
    """What the link needs of the checkout controller."""

    update_hold: bool

    @property
    def state(self) -> Any: ...

    def busy(self) -> bool: ...

    def post(self, fn: Callable[[], None]) -> None: ...


def idle(controller: Holdable, maintenance_open: Callable[[], bool] = lambda: False) -> bool:
    """Is the checkout idle enough to restart under it? Call on the UI thread only."""
    state = controller.state
    return (
        state.phase is Phase.ATTRACT
        and state.cart.item_count == 0
        and state.order_id is None
        and not state.charging
        and not controller.busy()
        and not maintenance_open()
    )


class OtaLink:
    """The socket server (a thread of its own) and the health report. ``start``/``stop`` from the wiring."""

    def __init__(
        self,
        data_dir: Path,
        controller: Holdable,
        version: str,
        *,
        maintenance_open: Callable[[], bool] = lambda: False,
        notify: Callable[[], None] = lambda: None,
        answer_timeout_s: float = ANSWER_TIMEOUT_S,
        window: Window | None = None,
        local_time: Callable[[], Time] = lambda: datetime.now().time(),
    ) -> None:
        self.folder = ota_dir(data_dir)
        self.socket_path = self.folder / "kiosk.sock"
        self.health_path = self.folder / "health" / f"{version}.ok"
        self.controller = controller
        self.version = version
        self._maintenance_open = maintenance_open
        self._notify = notify
        #: how long the socket thread waits for the UI thread's answer
        self.answer_timeout_s = answer_timeout_s
        #: the maintenance window (None: any time) and the kiosk's local time of day
        self.window = window
        self._local_time = local_time
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        #: health parts seen so far: ui, store, printer, camera, hq
        self._healthy: set[str] = set()
        self._health_lock = threading.Lock()
        #: probes for the parts that answer in the background; checked on the socket thread's ticks
        self.watch: HealthWatch | None = None
        #: who holds the kiosk now (``controller.update_hold`` is "anyone"); read and written on the
        #: UI thread only
        self._holders: set[str] = set()

    # --- the socket --------------------------------------------------------------------------------

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # left by a kiosk that did not stop cleanly
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.socket_path))
        os.chmod(self.socket_path, 0o660)
        server.listen(4)
        server.settimeout(0.5)  # so stop() is seen; each answer is on its own connection
        self._server = server
        self._thread = threading.Thread(target=self._serve, name="ota-link", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_JOIN_S)
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def _serve(self) -> None:
        assert self._server is not None
        while not self._stopping.is_set():
            if self.watch is not None and not self.is_healthy():
                self.watch.check(self)
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                if not self._stopping.is_set():
                    log.exception("update link: accept failed")
                return
            with conn:
                try:
                    conn.settimeout(self.answer_timeout_s)
                    line = conn.recv(MAX_LINE).decode("ascii", "replace").strip()
                    conn.sendall(self.answer(line).encode("ascii") + b"\n")
                except OSError as exc:
                    log.info("update link: %s", exc)

    def answer(self, command: str) -> str:
        """The reply to one command line (on the socket thread; the state is read on the UI thread)."""
        verb, _, holder = command.partition(" ")
        holder = holder or AGENT_HOLDER
        if verb not in ("HOLD", "RELEASE") or not HOLDER_NAME.fullmatch(holder):
            return "unknown"
        if verb == "HOLD":
            if not in_window(self.window, self._local_time()):
                log.info(
                    "update link: HOLD by %s outside the maintenance window %s: busy", holder, self.window
                )
                return "busy outside window"
            # a HOLD answered busy for want of time must not hold later: its holder would never
            # give back a hold it was told it did not get
            return "held" if self._ask_ui("HOLD", lambda: self._hold(holder), late=False) else "busy"
        others = self._ask_ui("RELEASE", lambda: self._release(holder), late=True)
        if others is None:
            # the UI thread is slow or stuck: the hold ends once it runs the release (or at a
            # restart, the watchdog's if it is stuck)
            return "unanswered"
        return f"still held by {others}" if others else "released"

    def _ask_ui(self, verb: str, question: Callable[[], _T], *, late: bool) -> _T | None:
        """``question()`` run on the UI thread; None when it did not answer in time, and then,
        unless ``late``, it is not run at all once the UI thread gets to it."""
        lock = threading.Lock()
        answered = threading.Event()
        result: list[_T] = []
        gave_up: list[bool] = []

        def ask() -> None:
            try:
                with lock:
                    if not gave_up:
                        result.append(question())
            finally:
                answered.set()

        self.controller.post(ask)
        answered.wait(self.answer_timeout_s)
        with lock:  # either the question has run, or it never will (late=False)
            if result:
                return result[0]
            if not late:
                gave_up.append(True)
        log.info(
            "update link: the UI thread did not answer %s in time; %s",
            verb,
            "it runs once the UI thread gets to it" if late else "said busy",
        )
        return None

    def _hold(self, holder: str) -> bool:
        if not idle(self.controller, self._maintenance_open):
            return False
        if not self._holders:
            log.info("update link: %s holds the kiosk for an update (no new sale until it restarts)", holder)
        elif holder not in self._holders:
            log.info(
                "update link: %s holds the kiosk too (held by %s)", holder, ", ".join(sorted(self._holders))
            )
        self._holders.add(holder)
        self.controller.update_hold = True
        self._notify()
        return True

    def _release(self, holder: str) -> str:
        """Ends ``holder``'s hold; returns who still holds the kiosk (``""``: nobody, it sells)."""
        self._holders.discard(holder)
        others = ",".join(sorted(self._holders))
        if others:
            log.info("update link: %s gave its hold back; still held by %s", holder, others)
        else:
            if self.controller.update_hold:
                log.info("update link: hold released by %s, selling again", holder)
            self.controller.update_hold = False
        self._notify()
        return others

    # --- health ------------------------------------------------------------------------------------

    def is_healthy(self) -> bool:
        with self._health_lock:
            return self._healthy >= HEALTH_PARTS

    def healthy(self, part: str) -> None:
        """One part of the health report is in (``ui``, ``store``, ``printer``, ``camera``, ``hq``);
        the file is written once all are. Safe from any thread."""
        with self._health_lock:
            if part in self._healthy:
                return
            self._healthy.add(part)
            missing = HEALTH_PARTS - self._healthy
        if missing:
            log.debug("health: %s ok; waiting for %s", part, ", ".join(sorted(missing)))
            return
        self._write_health()

    def _write_health(self) -> None:
        folder = self.health_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{self.health_path.name}.tmp"
        with tmp.open("w", encoding="utf-8") as f:
            f.write(json.dumps({"version": self.version, "parts": sorted(HEALTH_PARTS)}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.health_path)
        log.info("release %s is healthy: %s", self.version, self.health_path)


HEALTH_PARTS = frozenset({"ui", "store", "printer", "camera", "hq"})


@dataclass(frozen=True, slots=True)
class HealthWatch:
    """Reads the parts the app learns about in the background (printer, camera, HQ) until each has
    answered once; ``check`` is called by the sync thread's heartbeat or a timer."""

    printer_answered: Callable[[], bool]
    camera_answered: Callable[[], bool]
    hq_reached: Callable[[], bool]

    def check(self, link: OtaLink) -> None:
        for part, probe in (
            ("printer", self.printer_answered),
            ("camera", self.camera_answered),
            ("hq", self.hq_reached),
        ):
            try:
                if probe():
                    link.healthy(part)
            except Exception:
                log.exception("health probe %s", part)


def heartbeat_field(data_dir: Path) -> dict[str, Any] | None:
    """The agent's last report (``<data>/ota/state.json``) as the heartbeat carries it: the body of
    HQ's ``POST /api/v1/ota/report`` (``version``, ``state``, ``detail``; docs/ota.md). None while
    the agent has nothing to report about a release (idle, or no agent on this kiosk)."""
    try:
        data = json.loads((ota_dir(data_dir) / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, Mapping):
        return None
    state, version, detail = data.get("state"), data.get("version"), data.get("detail")
    if state not in REPORT_STATES or not isinstance(version, str) or not version:
        return None
    return {
        "version": version[:64],
        "state": state,
        "detail": detail[:500] if isinstance(detail, str) else "",
    }
