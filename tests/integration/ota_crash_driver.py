"""The kiosk side of the update agent's crash test: a real ``ota.agent.Agent`` carrying one update
through download, install, switch and first start, until it is killed.

Run as ``python ota_crash_driver.py EDGE_DIR``, where ``EDGE_DIR`` holds the release bundles the fake
TUF edge serves. It imports everything once and then reads commands from stdin, one per line:

``run RUN_DIR SPEC BROKEN``  fork an agent for the kiosk in RUN_DIR (``opt/`` with its slots, ``data/``
                             with the agent's state and health files). It starts (the boot check and
                             the saved state), asks the fake HQ, which always assigns 1.1.0, and
                             carries the update as far as it goes, then says ``finished PHASE CURRENT``.
                             SPEC is a crash point such as ``switch_current`` or ``start_begun@2``
                             (armed through ``OTA_CRASH_AT``, as ``kiosk.crashpoints`` arms the
                             kiosk's): the agent says ``crashpoint NAME`` and SIGKILLs itself there
                             (and ends normally if it never gets there). SPEC ``-`` arms nothing and
                             the agent waits to be killed after it finished: the test kills it at a
                             random time after a ``step NAME`` line. SPEC ``none``: a plain run to
                             the end. BROKEN ``1`` makes release 1.1.0's app exit at start without
                             health, so the update fails and is rolled back.
``quit``                     stop

Each step says ``step NAME`` (download, install, switch, start, rollback) as it begins, on stdout,
before any of its work. The driver prints ``pid PID`` after each fork and ``exit STATUS`` when the
child is gone. Forking from a warmed parent keeps each agent run at a few milliseconds.

The edges are fakes, the agent and the slots are ours for real:
- the fake TUF edge copies the bundle into ``data/ota/downloads/NAME.part`` chunk by chunk (fsynced),
  resumes a ``.part`` a killed run left, and renames it when whole (``download_begun``,
  ``download_partial``, ``download_done``);
- the installer (``AppInstaller``) writes a venv whose ``bin/app`` is the release's entry point;
- the "restart" runs ``current/venv/bin/app HEALTH_DIR`` as the kiosk service would start the release
  (``start_begun``, ``start_ran``): a good release writes its health file;
- the agent's clock is the wall clock plus an offset kept in ``RUN_DIR/clock``; its sleeper adds to
  the offset, so the health deadline of a broken release passes in no real time, and the test's
  boot check (another process) reads the same clock.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ota.agent import Agent, AgentConfig, Assignment
from ota.bundle import Manifest
from ota.slots import CRASH_POINTS, Slots, fsync_path
from tests.fakes.ota_release import AppInstaller
from tests.integration import forking_driver
from tests.integration.forking_driver import say

ENV_VAR = "OTA_CRASH_AT"
NEW = "1.1.0"
TARGET = f"kiosk-{NEW}.tar"
#: the agent's own steps around the slots' ``CRASH_POINTS``, in the order an update reaches them
AGENT_POINTS = (
    "download_begun",  # the fetch started, nothing written yet
    "download_partial",  # the first chunk of the bundle is in NAME.part
    "download_done",  # the bundle is whole under its name, not yet handed to the agent
    "start_begun",  # the release is about to be started (the restart after a switch or a rollback)
    "start_ran",  # the release's app has run (a good one wrote its health file)
)
POINTS = AGENT_POINTS[:3] + CRASH_POINTS + AGENT_POINTS[3:]
CHUNK = 1024
CONFIG = AgentConfig(poll_s=60, idle_retry_s=1, health_deadline_s=600, health_poll_s=60)


def arm(environ: Mapping[str, str]) -> Callable[[str], None]:
    """The crash hook ``OTA_CRASH_AT=name[@N]`` asks for (as ``kiosk.crashpoints.arm``): SIGKILL at the
    N-th time ``name`` is reached; a hook that does nothing when the variable is unset."""
    spec = environ.get(ENV_VAR, "")
    if not spec:
        return lambda _point: None
    name, _, count = spec.partition("@")
    if name not in POINTS:
        raise ValueError(f"{ENV_VAR}: {name!r} is not a crash point; choose from {', '.join(POINTS)}")
    left = [int(count or 1)]

    def crash(point: str) -> None:
        if point != name:
            return
        left[0] -= 1
        if left[0] == 0:
            say(f"crashpoint {point}")
            os.kill(os.getpid(), signal.SIGKILL)

    return crash


class FileClock:
    """The wall clock plus an offset kept in a file, so a sleep survives the process (and a kill)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def offset(self) -> float:
        try:
            return float(self.path.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return 0.0

    def __call__(self) -> float:
        return time.time() + self.offset()

    def sleep(self, seconds: float) -> None:
        tmp = self.path.with_name(".clock.tmp")
        tmp.write_text(repr(self.offset() + seconds), encoding="ascii")
        os.replace(tmp, self.path)


class ReportingSlots(Slots):
    """The real slots, saying when each step begins."""

    def install(self, bundle: Path) -> Manifest:
        say("step install")
        return super().install(bundle)

    def switch(self, version: str, health_deadline_s: float | None = None) -> None:
        say("step switch")
        super().switch(version, health_deadline_s)

    def rollback(self, detail: str = "") -> str:
        say("step rollback")
        return super().rollback(detail)


class EdgeFetch:
    """A TUF edge that serves the prepared bundle, downloaded in fsynced chunks with resume."""

    def __init__(self, edge: Path, downloads: Path, crash: Callable[[str], None]) -> None:
        self.edge, self.downloads, self.crash = edge, downloads, crash

    def fetch(self, version: str, target_name: str) -> Path:
        say("step download")
        self.crash("download_begun")
        source = self.edge / target_name
        size = source.stat().st_size
        self.downloads.mkdir(parents=True, exist_ok=True)
        dest = self.downloads / target_name
        if dest.is_file() and dest.stat().st_size == size:
            return dest
        part = dest.with_name(dest.name + ".part")
        with source.open("rb") as src, part.open("ab") as out:
            src.seek(out.tell())  # resume what a killed run left
            first = True
            while chunk := src.read(CHUNK):
                out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                if first:
                    self.crash("download_partial")
                    first = False
        os.replace(part, dest)
        fsync_path(self.downloads)
        self.crash("download_done")
        return dest


class FakeHq:
    """HQ assigns 1.1.0; each report is one appended line of ``hq-reports.jsonl`` (HQ keeps what it got)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def assignment(self) -> Assignment:
        return Assignment(NEW, TARGET)

    def report(self, version: str, state: str, detail: str) -> None:
        line = json.dumps({"version": version, "state": state, "detail": detail}) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


class HeldLink:
    """The kiosk is idle: it answers HOLD with held."""

    def hold(self) -> bool:
        return True

    def release(self) -> None:
        return None


def slots_for(run_dir: Path, broken: bool, crash: Callable[[str], None] | None = None) -> Slots:
    installer = AppInstaller(frozenset({NEW}) if broken else frozenset())
    clock = FileClock(run_dir / "clock")
    health = run_dir / "data" / "ota" / "health"
    if crash is None:
        return Slots(run_dir / "opt", health, installer=installer, now=clock)
    return ReportingSlots(run_dir / "opt", health, installer=installer, now=clock, crash=crash)


def build(run_dir: Path, edge: Path, broken: bool, crash: Callable[[str], None]) -> Agent:
    slots = slots_for(run_dir, broken, crash)
    clock = FileClock(run_dir / "clock")
    data = run_dir / "data"

    def restart() -> None:
        say("step start")
        crash("start_begun")
        subprocess.run(
            [str(slots.root / "current" / "venv" / "bin" / "app"), str(slots.health_dir)],
            capture_output=True,
            timeout=60,
            check=False,
        )
        crash("start_ran")

    return Agent(
        slots=slots,
        fetch=EdgeFetch(edge, data / "ota" / "downloads", crash),
        hq=FakeHq(run_dir / "hq-reports.jsonl"),
        link=HeldLink(),
        state_path=data / "ota" / "state.json",
        restart=restart,
        store_schema=lambda: 6,
        config=CONFIG,
        now=clock,
        sleep=clock.sleep,
    )


def child(words: list[str], edge: Path) -> None:
    run_dir, spec, broken = Path(words[1]), words[2], words[3] == "1"
    if spec not in ("-", "none"):
        os.environ[ENV_VAR] = spec
    agent = build(run_dir, edge, broken, arm(os.environ))
    agent.start()
    agent.poll_once()
    say(f"finished {agent.state.phase.value} {agent.slots.current()}")
    if spec == "-":
        time.sleep(600)  # the test kills it; bounded in case the test is gone


def warm_up(edge: Path) -> None:
    """One whole update in a folder of its own, so the children inherit every import."""
    run_dir = edge.parent / "warm-up"
    seed = slots_for(run_dir, broken=False)
    seed.install(edge / "kiosk-1.0.0.tar")
    seed.switch("1.0.0")
    with contextlib.redirect_stdout(sys.stderr):
        saved = os.dup(1)
        os.dup2(2, 1)  # the warm-up's step lines are not for the test
        try:
            agent = build(run_dir, edge, False, arm({}))
            agent.start()
            agent.poll_once()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
    shutil.rmtree(run_dir)


def main() -> int:
    edge = Path(sys.argv[1])
    warm_up(edge)
    return forking_driver.serve(lambda words: child(words, edge))


if __name__ == "__main__":
    raise SystemExit(main())
