"""The update agent end to end, with fakes only at its edges (HQ, the TUF download, the restart).

The "kiosk" the agent restarts is a real child process started from ``current``: it reads the slot's
``venv/behaviour`` (written by the fake installer) and writes its health file, or crashes at start.
The agent's sleeper waits for that process to end and then moves the injected clock, so the health
deadline passes in no real time and only after the process has had its say.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ota_link import OtaLink
from kiosk.ports import CatalogItem, Decoded
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from ota.agent import CHECK_NOW_FILE, Agent, AgentConfig, Assignment, SocketKioskLink
from ota.agent_core import Phase
from ota.slots import Slots
from tests.fakes.clock import FakeClock, SetTime
from tests.fakes.ota_release import FakeInstaller, make_bundle
from tests.fakes.payments import FakePaymentGateway

FAKE_KIOSK = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    root, health = Path(sys.argv[1]), Path(sys.argv[2])
    version = os.path.basename(os.readlink(root / "current"))
    if (root / "current" / "venv" / "behaviour").read_text() != "ok":
        sys.exit(3)  # the release crashes at start: no health, ever
    health.mkdir(parents=True, exist_ok=True)
    (health / f"{version}.ok").write_text("ok")
    """
)


class FakeHq:
    def __init__(self, *assignments: Assignment) -> None:
        self.assignments = list(assignments)
        self.reports: list[tuple[str, str]] = []
        self.down = False

    def assignment(self) -> Assignment:
        if self.down:
            raise ConnectionError("HQ is unreachable")
        return self.assignments.pop(0) if len(self.assignments) > 1 else self.assignments[0]

    def report(self, version: str, state: str, detail: str) -> None:
        if self.down:
            raise ConnectionError("HQ is unreachable")
        self.reports.append((version, state))


class FakeFetch:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.fetched: list[str] = []

    def fetch(self, version: str, target_name: str) -> Path:
        self.fetched.append(target_name)
        return make_bundle(self.folder, version)


class HeldLink:
    def __init__(self) -> None:
        self.asked = 0
        self.released = 0

    def hold(self) -> bool:
        self.asked += 1
        return True

    def release(self) -> None:
        self.released += 1


class KioskProcess:
    """restart(): start the fake kiosk from ``current``; sleep(s): wait for it, then move the clock."""

    def __init__(self, root: Path, health: Path, clock: SetTime) -> None:
        self.root, self.health, self.clock = root, health, clock
        self.procs: list[subprocess.Popen[bytes]] = []

    def restart(self) -> None:
        self.procs.append(
            subprocess.Popen([sys.executable, "-c", FAKE_KIOSK, str(self.root), str(self.health)])
        )

    def sleep(self, seconds: float) -> None:
        if self.procs:
            self.procs[-1].wait(timeout=120)
        self.clock.now += seconds


def _setup(
    tmp_path: Path, hq: FakeHq, behaviours: dict[str, str] | None = None
) -> tuple[Agent, KioskProcess]:
    clock = SetTime(1_000_000.0)
    health = tmp_path / "data" / "ota" / "health"
    slots = Slots(tmp_path / "opt", health, installer=FakeInstaller(behaviours), now=clock)
    slots.install(make_bundle(tmp_path / "seed", "1.0.0"))
    slots.switch("1.0.0")
    kiosk = KioskProcess(slots.root, health, clock)
    agent = Agent(
        slots=slots,
        fetch=FakeFetch(tmp_path / "downloads"),
        hq=hq,
        link=HeldLink(),
        state_path=tmp_path / "data" / "ota" / "state.json",
        restart=kiosk.restart,
        store_schema=lambda: 6,
        config=AgentConfig(poll_s=60, idle_retry_s=5, health_deadline_s=30, health_poll_s=1),
        now=clock,
        sleep=kiosk.sleep,
    )
    return agent, kiosk


def _state(agent: Agent) -> dict[str, object]:
    return dict(json.loads(agent.state_path.read_text()))


def test_a_normal_update_installs_switches_and_reports_healthy(tmp_path: Path) -> None:
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, kiosk = _setup(tmp_path, hq)
    agent.start()
    agent.poll_once()
    assert agent.slots.current() == "1.1.0" and agent.slots.previous() == "1.0.0"
    assert agent.state.phase is Phase.HEALTHY
    assert [s for _v, s in hq.reports] == ["downloading", "downloaded", "installed", "switched", "healthy"]
    assert len(kiosk.procs) == 1 and kiosk.procs[0].returncode == 0
    assert agent.slots.pending() is None
    assert _state(agent)["state"] == "healthy" and _state(agent)["running"] == "1.1.0"
    # the next poll with the same assignment does nothing
    agent.poll_once()
    assert len(hq.reports) == 5


def test_a_release_that_crashes_at_start_is_rolled_back_and_reported(tmp_path: Path) -> None:
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, kiosk = _setup(tmp_path, hq, behaviours={"1.1.0": "crash"})
    agent.start()
    agent.poll_once()
    assert kiosk.procs[0].returncode == 3  # the new release died without health
    assert agent.slots.current() == "1.0.0" and agent.slots.is_failed("1.1.0")
    assert agent.state.phase is Phase.ROLLED_BACK
    assert [s for _v, s in hq.reports][-3:] == ["switched", "failed", "rolled_back"]
    assert len(kiosk.procs) == 2  # restarted onto the old release, which writes its health
    assert kiosk.procs[1].wait(timeout=120) == 0
    assert (agent.slots.health_dir / "1.0.0.ok").is_file()
    # not retried while HQ still assigns it; a newer one is
    agent.poll_once()
    assert agent.state.phase is Phase.ROLLED_BACK and len(kiosk.procs) == 2
    hq.assignments = [Assignment("1.2.0", "kiosk-1.2.0.tar")]
    agent.poll_once()
    assert agent.slots.current() == "1.2.0" and agent.state.phase is Phase.HEALTHY


def test_hq_unreachable_delays_reports_but_not_the_update(tmp_path: Path) -> None:
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, _kiosk = _setup(tmp_path, hq)
    agent.start()
    hq.down = True
    assert agent.poll_once() is None  # no assignment: nothing happens
    hq.down = False
    original = hq.report

    def refuse(version: str, state: str, detail: str) -> None:
        raise ConnectionError("HQ went away")

    hq.report = refuse  # type: ignore[method-assign]
    agent.poll_once()
    assert agent.slots.current() == "1.1.0" and agent.state.phase is Phase.HEALTHY
    assert len(_state(agent)["unsent"]) == 5  # type: ignore[arg-type]
    hq.report = original  # type: ignore[method-assign]
    agent.poll_once()
    assert [s for _v, s in hq.reports] == ["downloading", "downloaded", "installed", "switched", "healthy"]
    assert _state(agent)["unsent"] == []


def test_a_restarted_agent_finishes_a_switch_the_boot_check_rolled_back(tmp_path: Path) -> None:
    """GIVEN the agent stopped right after the switch WHEN the deadline passed with no health THEN the
    boot check (at the agent's start) rolls back and the agent reports it."""
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, kiosk = _setup(tmp_path, hq, behaviours={"1.1.0": "crash"})
    agent.start()
    agent.restart = lambda: None  # the agent dies before it restarts the kiosk

    def die(_seconds: float) -> None:
        raise SystemExit("power cut")

    agent.sleep = die
    with pytest.raises(SystemExit):
        agent.poll_once()
    assert _state(agent)["state"] == "switched"
    kiosk.clock.now += 3_600
    again = Agent(
        slots=agent.slots,
        fetch=agent.fetch,
        hq=hq,
        link=HeldLink(),
        state_path=agent.state_path,
        restart=kiosk.restart,
        store_schema=lambda: 6,
        now=kiosk.clock,
        sleep=kiosk.sleep,
    )
    again.start()
    assert again.slots.current() == "1.0.0"
    assert again.state.phase is Phase.ROLLED_BACK and "1.1.0" in again.state.failed
    assert hq.reports[-1] == ("1.1.0", "rolled_back")


WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")
WX = "134567890123456789"


def test_an_update_during_a_payment_waits_for_the_sale_to_end(tmp_path: Path) -> None:
    """GIVEN a customer paying WHEN the agent asks HOLD over the socket THEN the kiosk says busy and the
    agent waits; once the sale is done the kiosk is held, starts no new sale, and the switch happens."""
    store = SaleStore(open_store(tmp_path / "kiosk.sqlite3"), "k1")
    store.replace_catalog([WATER])
    clock = FakeClock()
    controller = CheckoutController(
        options=ControllerOptions(kiosk_id="k1", store_name="店", idle_timeout_s=60, done_timeout_s=5),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(tmp_path / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=clock,
        background=False,
    )
    controller.dispatch(co.StartTapped())
    controller.dispatch(co.ProductTapped(controller.catalog()[0]))
    controller.dispatch(co.PayTapped())
    assert controller.state.phase is co.Phase.PAYING

    data = tmp_path / "data"
    link = OtaLink(data, controller, "1.0.0", answer_timeout_s=60)
    link.start()
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, _ = _setup(tmp_path, hq)
    agent.link = SocketKioskLink(link.socket_path, timeout_s=60)
    waiting, go_on, finished = threading.Event(), threading.Event(), threading.Event()

    def sleep(_seconds: float) -> None:
        waiting.set()
        assert go_on.wait(60)

    def restart() -> None:
        current = agent.slots.current()
        (agent.slots.health_dir).mkdir(parents=True, exist_ok=True)
        (agent.slots.health_dir / f"{current}.ok").write_text("ok")

    agent.sleep, agent.restart = sleep, restart

    def run() -> None:
        try:
            agent.start()
            agent.poll_once()
        finally:
            finished.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        # this thread is the kiosk's UI thread: it answers what the socket posts
        for _ in range(6000):
            if waiting.is_set():
                break
            controller.pump(timeout=0.01)
        assert waiting.is_set(), "the agent never waited for the kiosk"
        assert agent.state.phase is Phase.WAITING_IDLE
        assert agent.slots.current() == "1.0.0" and not controller.update_hold
        # the customer pays; the done screen times out back to attract
        controller.handle_codes([Decoded("QRCode", WX)])
        assert controller.state.phase is co.Phase.DONE
        clock.advance(10)
        controller.tick()
        assert controller.state.phase is co.Phase.ATTRACT
        go_on.set()
        for _ in range(6000):
            if finished.is_set():
                break
            controller.pump(timeout=0.01)
        thread.join(timeout=60)
        assert finished.is_set()
        assert agent.state.phase is Phase.HEALTHY and agent.slots.current() == "1.1.0"
        assert [s for _v, s in hq.reports] == [
            "downloading",
            "downloaded",
            "installed",
            "waiting_idle",
            "switched",
            "healthy",
        ]
        # held: the next customer's tap starts no sale until the restart
        assert controller.update_hold
        controller.dispatch(co.StartTapped())
        controller.dispatch(co.ProductTapped(controller.catalog()[0]))
        assert controller.state.phase is co.Phase.ATTRACT
    finally:
        go_on.set()
        link.stop()
        thread.join(timeout=60)


def test_the_ota_command_runs_the_boot_check_and_one_agent_poll(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ota.cli import Edges, main

    root, data = tmp_path / "opt", tmp_path / "data"
    slots = Slots(root, data / "ota" / "health", installer=FakeInstaller())
    assert main(["boot-check", "--root", str(root), "--data", str(data)]) == 1  # nothing installed
    slots.install(make_bundle(tmp_path / "seed", "1.0.0"))
    (root / "current").symlink_to("releases/9.9.9")  # dangling
    assert main(["boot-check", "--root", str(root), "--data", str(data)]) == 0
    assert "repaired, current 1.0.0" in capsys.readouterr().out
    hq = FakeHq(Assignment(None))
    code = main(
        ["agent", "--root", str(root), "--data", str(data), "--once", "--restart-command", "true"],
        edges=lambda _args: Edges(hq=hq, fetch=FakeFetch(tmp_path / "downloads")),
    )
    assert code == 0 and "ota agent: idle, running 1.0.0" in capsys.readouterr().out
    assert json.loads((data / "ota" / "state.json").read_text())["running"] == "1.0.0"
    # the production edges refuse to run without the trusted root the image ships, naming the file
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[ota]\ntrusted_root = "{tmp_path / "no-root.json"}"\n')
    before = (data / "ota" / "state.json").read_bytes()
    with pytest.raises(SystemExit, match=r"no trusted TUF root at .*no-root\.json"):
        main(["agent", "--root", str(root), "--data", str(data), "--config", str(config), "--once"])
    assert (data / "ota" / "state.json").read_bytes() == before
    assert not (data / "ota" / "tuf").exists()


def test_the_service_agent_waits_for_its_trusted_root_instead_of_exiting(tmp_path: Path) -> None:
    # kiosk-ota.service restarts an agent that exits: without the root (or before enrolment) that
    # was a new process every 10 s, all day (a boot test's journal). Now it waits and says why once.
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[ota]\ntrusted_root = "{tmp_path / "no-root.json"}"\n')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ota",
            "agent",
            "--root",
            str(tmp_path / "opt"),
            "--data",
            str(tmp_path / "data"),
            "--config",
            str(config),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert "no trusted TUF root at" in line and "the agent waits: it looks again every 60 s" in line, line
        assert proc.poll() is None, f"the agent exited ({proc.returncode}) instead of waiting"
        # IT's "check now" (SIGUSR1) makes it look again, it does not end it: the same reason
        # again is not said again, and the stop below still finds it waiting
        proc.send_signal(signal.SIGUSR1)
        proc.terminate()  # systemctl stop ends the wait
        assert proc.wait(timeout=30) == 0
        assert proc.stderr.read() == ""  # said once
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_the_running_agent_takes_signals_that_land_on_another_thread(tmp_path: Path) -> None:
    # systemctl stop sends SIGTERM to the process; the kernel may run the handler on any thread.
    # The agent's Python-level handlers (Event.set) then waited for the main thread's next file
    # check, and a handler that ran while the main thread held the Event's lock would deadlock.
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("ota_signal_main.py")), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"the agent did not take its signals within a minute; it said: {out!r} {err!r}")
    # SIGUSR1 made it ask HQ again at once (the next poll was an hour away), SIGTERM stopped it
    assert out.split("\n")[:3] == ["polled 1", "polled 2", "stopped"], (out, err)
    assert proc.returncode == 0, err


class BusyLink:
    """A kiosk that stays busy until ``idle_from`` questions have been asked."""

    def __init__(self, idle_from: int) -> None:
        self.asked = 0
        self.released = 0
        self.idle_from = idle_from

    def hold(self) -> bool:
        self.asked += 1
        return self.asked >= self.idle_from

    def release(self) -> None:
        self.released += 1


def _waiting_agent(tmp_path: Path, hq: FakeHq, link: BusyLink) -> tuple[Agent, SetTime]:
    agent, kiosk = _setup(tmp_path, hq)
    agent.link = link
    clock = kiosk.clock

    def sleep(seconds: float) -> None:  # the retry interval passes in no real time
        clock.now += seconds

    def restart() -> None:
        current = agent.slots.current()
        agent.slots.health_dir.mkdir(parents=True, exist_ok=True)
        (agent.slots.health_dir / f"{current}.ok").write_text("ok")

    agent.sleep, agent.restart = sleep, restart
    return agent, clock


def test_while_the_kiosk_is_busy_the_agent_keeps_asking_hq_and_takes_a_newer_release(tmp_path: Path) -> None:
    """GIVEN 1.1.0 installed and a busy kiosk WHEN HQ assigns 1.2.0 a poll interval later THEN the
    agent gives the hold question up for 1.1.0, fetches 1.2.0 and switches to it once the kiosk is idle."""
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    link = BusyLink(idle_from=100)  # busy for longer than a poll interval (60 s / 5 s retries)
    agent, clock = _waiting_agent(tmp_path, hq, link)
    asked = []
    first = hq.assignment

    def assignment() -> Assignment:
        asked.append(clock.now)
        # after the first answer, HQ has moved on to 1.2.0
        return first() if len(asked) == 1 else Assignment("1.2.0", "kiosk-1.2.0.tar")

    hq.assignment = assignment  # type: ignore[method-assign]
    link.idle_from = 15  # idle only after HQ was asked again (12 retries of 5 s = one poll)
    agent.start()
    agent.poll_once()
    assert agent.state.phase is Phase.HEALTHY and agent.slots.current() == "1.2.0"
    assert len(asked) == 2 and asked[1] - asked[0] >= 60  # asked again once the poll interval passed
    assert ("1.1.0", "waiting_idle") in hq.reports and ("1.2.0", "healthy") in hq.reports
    assert ("1.1.0", "switched") not in hq.reports
    assert agent.fetch.fetched == ["kiosk-1.1.0.tar", "kiosk-1.2.0.tar"]  # type: ignore[attr-defined]


def test_an_abort_while_the_kiosk_is_busy_stops_the_wait(tmp_path: Path) -> None:
    """GIVEN 1.1.0 waiting for a busy kiosk WHEN HQ's rollout is aborted (HQ assigns the running
    1.0.0) THEN the agent gives up 1.1.0 at the next poll, releases the hold, and keeps 1.0.0."""
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"), Assignment("1.0.0", "kiosk-1.0.0.tar"))
    link = BusyLink(idle_from=10_000)
    agent, _clock = _waiting_agent(tmp_path, hq, link)
    agent.start()
    agent.poll_once()
    assert agent.state.phase is Phase.IDLE and agent.slots.current() == "1.0.0"
    assert link.released >= 1 and link.asked < 20
    assert ("1.1.0", "switched") not in hq.reports


def test_the_kiosks_check_now_file_makes_the_waiting_agent_ask_hq_at_once(tmp_path: Path) -> None:
    """The file IT's "check now" writes is taken (removed) and HQ asked before the poll interval ends."""
    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"), Assignment("1.0.0", "kiosk-1.0.0.tar"))
    link = BusyLink(idle_from=10_000)
    agent, clock = _waiting_agent(tmp_path, hq, link)
    agent.config = AgentConfig(poll_s=3600, idle_retry_s=5, health_deadline_s=30, health_poll_s=1)
    original = link.hold

    def hold() -> bool:
        if link.asked == 3:
            (agent.kiosk_dir / CHECK_NOW_FILE).write_text(
                ""
            )  # IT pressed "check now" while the kiosk is busy
        return original()

    link.hold = hold  # type: ignore[method-assign]
    start = clock.now
    agent.start()
    agent.poll_once()
    assert agent.state.phase is Phase.IDLE and clock.now - start < 60
    assert not (agent.kiosk_dir / CHECK_NOW_FILE).exists()


def test_a_report_is_kept_with_the_state_that_owes_it_when_the_agent_dies_between_them(
    tmp_path: Path,
) -> None:
    """GIVEN the agent saved "healthy" WHEN it dies before it queued the "healthy" report (found by
    test_ota_crash.py's random kills) THEN the restarted agent still sends that report to HQ."""
    from ota.slots import PowerCut

    hq = FakeHq(Assignment("1.1.0", "kiosk-1.1.0.tar"))
    agent, _kiosk = _setup(tmp_path, hq)
    agent.start()

    def cut() -> list[str]:  # the Confirm effect's prune: the power goes right after "healthy" is saved
        raise PowerCut("prune")

    agent.slots.prune = cut  # type: ignore[method-assign]
    with pytest.raises(PowerCut):
        agent.poll_once()
    assert _state(agent)["state"] == "healthy"
    again, _ = _setup(tmp_path / "again", hq)
    again.slots, again.state_path = agent.slots, agent.state_path
    again.slots.prune = lambda: []  # type: ignore[method-assign]
    again.start()
    again.poll_once()
    assert [s for _v, s in hq.reports] == ["downloading", "downloaded", "installed", "switched", "healthy"]
    assert _state(again)["unsent"] == []
