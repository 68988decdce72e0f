"""The update agent on the kiosk (``ota agent``, ``kiosk-ota.service``): the loop around ``ota.agent_core``.

Every poll it asks HQ which release this kiosk should run, and runs the core's effects: fetch the
bundle (``Fetch``: TUF download and verification, ``ota.updater``), install it into a new slot
(``ota.slots``), wait until the kiosk answers HOLD with ``held`` (``KioskLink``: the kiosk's
socket, ``kiosk.ota_link``), switch ``current``, restart the kiosk, and wait for the health file the
new release writes. No health by the deadline: switch back, restart, report.

The edges are small protocols so the loop runs for real in tests: ``Fetch`` (version, target name ->
a verified bundle file), ``Hq`` (assignment, report), ``KioskLink`` (hold, release), and the restart
command, the wall clock and the sleeper, all injected. The state is written to the agent's own
folder (``state_path``: root's alone, ``ota.kiosk_files``) after every step, atomically, and a copy
is published to ``<data>/ota/state.json`` for the kiosk, whose heartbeat carries it to HQ.
Reports that cannot reach HQ wait in that file and are sent before the next poll: reaching HQ
is never a reason to stop an update or a rollback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sqlite3
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ota import agent_core as core
from ota.bundle import BundleError, parse_version, read_manifest
from ota.kiosk_files import connect, present, publish, take
from ota.slots import SlotError, Slots, write_durable

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
SOCKET_FILE = "kiosk.sock"
#: the OS update's name on the kiosk's socket (``ota hold-kiosk``; the agent names nobody)
OS_UPDATE_HOLDER = "os-update"
#: written by the kiosk (IT's "check now"): the agent polls HQ at once and removes it
CHECK_NOW_FILE = "check-now"
HEALTH_DIR = "health"
#: reports kept for HQ while it cannot be reached (the oldest are dropped beyond this)
MAX_UNSENT = 50
MAX_DETAIL = 500


class AgentError(RuntimeError):
    """Outside input the agent cannot use (a malformed assignment); the message says what."""


@dataclass(frozen=True, slots=True)
class Assignment:
    """HQ's answer to ``GET /api/v1/ota/assignment`` (docs/ota.md), validated."""

    version: str | None
    target: str | None = None
    channel: str | None = None
    rollout: int | None = None
    check_now: bool = False

    @classmethod
    def from_json(cls, data: Any) -> Assignment:
        if not isinstance(data, Mapping):
            raise AgentError("HQ's assignment is not a JSON object")
        version, target = data.get("version"), data.get("target")
        if version is not None:
            if not isinstance(version, str):
                raise AgentError("HQ's assignment: version must be a string or null")
            try:
                parse_version(version)
            except BundleError as exc:
                raise AgentError(f"HQ's assignment: {exc}") from None
        if target is not None and (not isinstance(target, str) or not target or len(target) > 200):
            raise AgentError("HQ's assignment: target must be a short string or null")
        channel, rollout = data.get("channel"), data.get("rollout")
        if channel is not None and not isinstance(channel, str):
            raise AgentError("HQ's assignment: channel must be a string or null")
        if rollout is not None and (not isinstance(rollout, int) or isinstance(rollout, bool)):
            raise AgentError("HQ's assignment: rollout must be a whole number or null")
        return cls(version, target, channel, rollout, data.get("check_now") is True)


class Fetch(Protocol):
    """Download and verify a release's bundle (TUF); the returned file is what TUF proved."""

    def fetch(self, version: str, target_name: str) -> Path: ...


class Hq(Protocol):
    """HQ's kiosk API for updates (signed like sync): errors are raised, the agent retries."""

    def assignment(self) -> Assignment: ...

    def report(self, version: str, state: str, detail: str) -> None: ...


class KioskLink(Protocol):
    def hold(self) -> bool:
        """True when the kiosk is idle and now refuses new sales; False when busy or not answering."""

    def release(self) -> str | None:
        """Gives this holder's hold back: the kiosk's answer (``released``, or ``still held by
        NAME`` while another updater holds it); None when it did not answer."""


class SocketKioskLink:
    """The kiosk's socket ``<data>/ota/kiosk.sock``: one line out, one line back.

    ``holder`` names who holds (``kiosk.ota_link``: each holder's hold is its own). The agent names
    nobody, as it always has, which the kiosk takes as ``agent``; the OS update names
    ``os-update``, and asks again without a name should the kiosk be from before holders
    (``unknown``): then it shares the agent's hold, as it did then."""

    def __init__(self, path: Path, timeout_s: float = 10.0, holder: str | None = None) -> None:
        self.path = path
        self.timeout_s = timeout_s
        self.holder = holder

    def ask(self, command: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(self.timeout_s)
            connect(sock, self.path)  # the kiosk user owns its folder: no link is followed
            sock.sendall(command.encode("ascii") + b"\n")
            data = b""
            while not data.endswith(b"\n") and len(data) < 200:
                chunk = sock.recv(200)
                if not chunk:
                    break
                data += chunk
        return data.decode("ascii", "replace").strip()

    def _ask_as_holder(self, verb: str) -> str:
        if self.holder is None:
            return self.ask(verb)
        answer = self.ask(f"{verb} {self.holder}")
        if answer == "unknown":
            log.info("the kiosk takes no holder's name (a release from before holders): %s without one", verb)
            answer = self.ask(verb)
        return answer

    def hold(self) -> bool:
        try:
            answer = self._ask_as_holder("HOLD")
        except OSError as exc:
            log.info("the kiosk did not answer HOLD (%s): waiting", exc)
            return False
        return answer == "held"

    def release(self) -> str | None:
        try:
            return self._ask_as_holder("RELEASE")
        except OSError as exc:
            log.info("the kiosk did not take RELEASE (%s); a restart ends the hold anyway", exc)
            return None


def systemctl_restart(unit: str = "kiosk.service") -> Callable[[], None]:
    """The default restart: ``systemctl restart kiosk.service`` (its ExecStartPre runs the boot check)."""

    def restart() -> None:
        subprocess.run(["systemctl", "restart", unit], check=True, timeout=120)

    return restart


def store_schema(store_path: Path) -> int:
    """The kiosk store's schema version (``PRAGMA user_version``), read-only; 0 when there is none."""
    if not store_path.is_file():
        return 0
    uri = f"file:{store_path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def store_needs(store_path: Path) -> int:
    """The lowest schema a release must know to use the kiosk store, read-only: the store's
    ``schema_readable_from`` record (kiosk.store.migrations: a store migrated only additively
    past a release can still be used by it), else its ``PRAGMA user_version``; 0 without a store."""
    if not store_path.is_file():
        return 0
    uri = f"file:{store_path}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5.0)) as db:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        try:
            row = db.execute("SELECT value FROM setting WHERE key = 'schema_readable_from'").fetchone()
        except sqlite3.Error:
            return version
    try:
        return min(version, int(row[0])) if row is not None else version
    except (TypeError, ValueError):
        return version


@dataclass(frozen=True, slots=True)
class AgentConfig:
    poll_s: float = 300.0
    #: how long to wait before asking a busy kiosk again
    idle_retry_s: float = 15.0
    #: how long the new release has to write its health file after the switch
    health_deadline_s: float = 180.0
    health_poll_s: float = 2.0
    #: how often the loop looks for the kiosk's check-now request file between polls
    check_file_s: float = 5.0


@dataclass(slots=True)
class _Outbox:
    reports: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=MAX_UNSENT))


class Agent:
    """One kiosk's update agent. ``start()`` once, then ``poll_once()`` per interval (``run`` does both)."""

    def __init__(
        self,
        *,
        slots: Slots,
        fetch: Fetch,
        hq: Hq,
        link: KioskLink,
        state_path: Path,
        restart: Callable[[], None],
        kiosk_dir: Path | None = None,
        store_schema: Callable[[], int],
        config: AgentConfig | None = None,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.slots = slots
        self.fetch = fetch
        self.hq = hq
        self.link = link
        self.state_path = state_path
        self.restart = restart
        self.store_schema = store_schema
        self.config = config or AgentConfig()
        self.now = now
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.sleep = sleep or self._sleep
        self.state = core.AgentState()
        self._outbox = _Outbox()
        self._bundle: Path | None = None
        #: every state entered, in order (for logs and tests)
        self.history: list[core.Phase] = []
        #: the kiosk's folder (``<data>/ota``): its check-now request (IT's update screen) and the
        #: copy of the state it reads; the kiosk user owns it, so no link there is followed
        self.kiosk_dir = kiosk_dir or state_path.parent
        #: when HQ was last asked for the assignment (the agent's clock); while it waits for the
        #: kiosk to be idle it asks again every ``poll_s`` so a newer release or an abort reaches it
        self._polled_at: float | None = None

    # --- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Repair the slots (boot check), read the saved state, and finish what a restart cut short."""
        result = self.slots.boot_check()
        if result.action != "ok":
            log.warning("boot check: %s (%s) %s", result.action, result.current, result.detail)
        self._load()
        target = self.state.target
        healthy = target is not None and self.slots.health_ok(target)
        self._feed(core.Started(self.slots.current(), self.slots.previous(), healthy))

    def poll_once(self) -> Assignment | None:
        """Send what waits for HQ, ask HQ what to run, and carry the update as far as it goes now."""
        self._flush()
        assignment = self._ask_hq()
        if assignment is None:
            return None
        self._feed(core.Assigned(assignment.version, assignment.target))
        self._flush()
        return assignment

    def _ask_hq(self) -> Assignment | None:
        self._polled_at = self.now()
        self._take_check_request()
        try:
            return self.hq.assignment()
        except Exception as exc:
            log.warning("HQ's assignment could not be read: %s", exc)
            return None

    def run(self) -> None:
        """Poll until ``stop()``; HQ's ``check_now``, ``check_now()`` (SIGUSR1) or the kiosk's
        check-now file (IT's update screen) polls again at once."""
        self.start()
        while not self._stopping.is_set():
            assignment = self.poll_once()
            if assignment is not None and assignment.check_now:
                continue
            self._wait_for_next_poll()

    def _wait_for_next_poll(self) -> None:
        """Wait ``poll_s``, looking for the kiosk's check-now file every ``check_file_s``."""
        left = self.config.poll_s
        while left > 0 and not self._stopping.is_set():
            step = min(left, self.config.check_file_s)
            if self._wake.wait(step):
                break
            if present(self.kiosk_dir, CHECK_NOW_FILE):
                log.info("the kiosk asked for an update check now")
                break
            left -= step
        self._wake.clear()

    def _take_check_request(self) -> bool:
        try:
            return take(self.kiosk_dir, CHECK_NOW_FILE)
        except OSError as exc:
            log.warning("cannot remove %s: %s", self.kiosk_dir / CHECK_NOW_FILE, exc)
            return present(self.kiosk_dir, CHECK_NOW_FILE)

    def check_now(self) -> None:
        """Poll HQ now instead of at the end of the interval (the service's signal thread calls
        this on SIGUSR1; never call it from a signal handler: ``Event.set`` takes a lock)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        self._wake.wait(seconds)

    # --- the core's effects ----------------------------------------------------------------------

    def _feed(self, event: core.Event) -> None:
        pending: core.Event | None = event
        steps = 0
        while steps < 1000:  # every chain ends in a resting phase long before this
            if pending is None:
                return
            if not (isinstance(pending, core.IdleAnswered) and not pending.held):
                steps += 1  # waiting for a busy kiosk may take all night: it is ended by stop()
            before = self.state.phase
            self.state, effects = core.transition(self.state, pending)
            if self.state.phase is not before or not self.history:
                self.history.append(self.state.phase)
            queued = self._queue_reports(effects)
            self._save()
            pending = None
            for n, effect in enumerate(effects):
                if n < queued and isinstance(effect, core.Report):
                    self._flush()  # queued (and saved) above: sent now
                    continue
                pending = self._run(effect)
                if pending is not None:
                    break  # an effect with a result ends its batch (agent_core.transition)
        raise RuntimeError("the update agent's steps did not settle")  # pragma: no cover

    def _queue_reports(self, effects: tuple[core.Effect, ...]) -> int:
        """Queue the reports that come before the batch's first step that may fail, so they are saved
        in the same write as the state that owes them: an agent killed between that write and the
        report would otherwise never send it (the restarted agent sees the state as done). Reports
        after such a step (``switched`` after ``Switch``) are true only once it worked: sent then.
        Returns how many leading effects were looked at (their reports are queued)."""
        n = 0
        for effect in effects:
            if not isinstance(effect, core.Report | core.Confirm | core.ReleaseHold | core.RestartKiosk):
                break
            if isinstance(effect, core.Report):
                log.info("update %s: %s %s", effect.version, effect.state, effect.detail)
                self._outbox.reports.append(
                    {"version": effect.version, "state": effect.state, "detail": _short(effect.detail)}
                )
            n += 1
        return n

    def _run(self, effect: core.Effect) -> core.Event | None:
        if isinstance(effect, core.Report):
            self._report(effect.version, effect.state, effect.detail)
            return None
        if isinstance(effect, core.Download):
            return self._download(effect.version, effect.target_name)
        if isinstance(effect, core.Install):
            if self._bundle is None:
                return core.InstallFailed("the downloaded bundle is gone: it is fetched again")
            try:
                self.slots.install(self._bundle)
            except Exception as exc:
                log.exception("installing %s failed", effect.version)
                return core.InstallFailed(_short(f"install failed: {exc}"))
            return core.Installed(effect.version)
        if isinstance(effect, core.AskIdle):
            if effect.later:
                self.sleep(self.config.idle_retry_s)
                if self._stopping.is_set():
                    return None  # a restarted agent gives the hold back and asks HQ again (Started)
                changed = self._poll_while_waiting()
                if changed is not None:
                    return changed
            return core.IdleAnswered(self.link.hold())
        if isinstance(effect, core.ReleaseHold):
            self.link.release()
            return None
        if isinstance(effect, core.Switch):
            try:
                self.slots.switch(effect.version, health_deadline_s=self.config.health_deadline_s)
            except Exception as exc:
                log.exception("switching to %s failed", effect.version)
                return core.SwitchFailed(_short(f"switch failed: {exc}"))
            return None
        if isinstance(effect, core.RestartKiosk):
            try:
                self.restart()
            except Exception as exc:  # the health deadline decides; a failed restart is logged
                log.error("restarting the kiosk failed: %s", exc)
            return None
        if isinstance(effect, core.AwaitHealth):
            return self._await_health(effect.version)
        if isinstance(effect, core.Rollback):
            try:
                running = self.slots.rollback(effect.detail)
            except SlotError as exc:
                log.error("cannot roll back %s: %s", effect.version, exc)
                self._report(effect.version, "failed", _short(str(exc)))
                return None
            return core.RolledBack(running, self.slots.previous())
        if isinstance(effect, core.Confirm):
            self.slots.confirm(effect.version)
            removed = self.slots.prune()
            if removed:
                log.info("removed old releases: %s", ", ".join(removed))
            return None
        raise AssertionError(f"unknown effect {effect!r}")  # pragma: no cover

    def _poll_while_waiting(self) -> core.Event | None:
        """While the kiosk is busy, HQ is still asked every ``poll_s`` (sooner on check-now): a newer
        release or an abort that arrives meanwhile is fed to the core (which gives the hold back and
        decides afresh); the same assignment lets the wait go on."""
        due = self._polled_at is None or self.now() - self._polled_at >= self.config.poll_s
        if not due and not self._wake.is_set() and not present(self.kiosk_dir, CHECK_NOW_FILE):
            return None
        self._wake.clear()
        self._flush()
        assignment = self._ask_hq()
        if (
            assignment is None
            or assignment.version is None  # HQ has nothing new to say: the wait goes on
            or _same_release(assignment.version, self.state.target)
        ):
            return None
        log.info("HQ now assigns %s while the kiosk was busy: deciding again", assignment.version)
        return core.Assigned(assignment.version, assignment.target)

    def _download(self, version: str, target_name: str) -> core.Event:
        try:
            bundle = self.fetch.fetch(version, target_name)
            manifest = read_manifest(bundle)
        except Exception as exc:
            log.warning("fetching %s failed: %s", target_name, exc)
            return core.DownloadFailed(_short(f"download failed: {exc}"))
        if parse_version(manifest.version) != parse_version(version):
            return core.DownloadFailed(f"{target_name} holds release {manifest.version}, not {version}")
        try:
            schema = self.store_schema()
        except (OSError, sqlite3.Error) as exc:
            return core.DownloadFailed(_short(f"the store's schema version cannot be read: {exc}"))
        self._bundle = bundle
        return core.Downloaded(version, manifest.min_store_schema, schema)

    def _await_health(self, version: str) -> core.Event:
        pending = self.slots.pending()
        deadline = (
            pending.deadline
            if pending is not None and pending.version == version
            else self.now() + self.config.health_deadline_s
        )
        while True:
            if self.slots.health_ok(version):
                return core.HealthReported(version)
            if self.now() >= deadline:
                return core.HealthTimedOut(
                    f"release {version} did not report healthy within {self.config.health_deadline_s:.0f} s"
                )
            self.sleep(self.config.health_poll_s)

    # --- HQ reports, state file ------------------------------------------------------------------

    def _report(self, version: str, state: str, detail: str) -> None:
        log.info("update %s: %s %s", version, state, detail)
        self._outbox.reports.append({"version": version, "state": state, "detail": _short(detail)})
        self._flush()

    def _flush(self) -> None:
        reports = self._outbox.reports
        while reports:
            r = reports[0]
            try:
                self.hq.report(r["version"], r["state"], r["detail"])
            except Exception as exc:
                log.info("HQ did not take the report (%s): kept, sent again later", exc)
                break
            reports.popleft()
        self._save()

    def _save(self) -> None:
        s = self.state
        body = {
            "state": s.phase.value,
            "version": s.target,
            "running": s.running,
            "previous": s.previous,
            "detail": s.detail,
            "failed": list(s.failed),
            "target_name": s.target_name,
            "abort": s.abort,
            "at": datetime.fromtimestamp(self.now(), UTC)
            .replace(microsecond=0)
            .isoformat()
            .replace("+00:00", "Z"),
            "unsent": list(self._outbox.reports),
        }
        data = (json.dumps(body, indent=1) + "\n").encode()
        self.state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_durable(self.state_path, data)
        if self.kiosk_dir != self.state_path.parent:
            try:
                publish(self.kiosk_dir, STATE_FILE, data)
            except OSError as exc:  # the kiosk's screen and heartbeat lag; the update goes on
                log.warning("cannot publish the state to %s: %s", self.kiosk_dir, exc)

    def _load(self) -> None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            self.state = core.AgentState(
                phase=core.Phase(data["state"]),
                running=data.get("running"),
                previous=data.get("previous"),
                target=data.get("version"),
                target_name=data.get("target_name"),
                abort=bool(data.get("abort", False)),
                failed=tuple(str(v) for v in data.get("failed", [])),
                detail=str(data.get("detail", "")),
            )
            for r in data.get("unsent", []):
                self._outbox.reports.append({k: str(r[k]) for k in ("version", "state", "detail")})
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s cannot be read (%s): starting from idle", self.state_path, exc)
            self.state = core.AgentState()


def _same_release(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return parse_version(a) == parse_version(b)
    except BundleError:
        return a == b


def _short(text: str) -> str:
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
