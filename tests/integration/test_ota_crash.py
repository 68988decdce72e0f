"""Kill the update agent mid-update, 100 times, and check that every kiosk ends on a working release.

The agent is ``ota_crash_driver.py``: each run is a real process running ``ota.agent.Agent`` over the
real ``ota.slots.Slots`` through one update (1.0.0 -> 1.1.0: download, install, switch, first start),
with fakes only at the edges (the TUF edge, HQ, the kiosk's HOLD answer, the release's start). Each
run has a kiosk folder of its own, seeded with 1.0.0 running. As in the payment crash test
(``test_payment_crash.py``), two kinds of kill:
- **at named crash points** (``OTA_CRASH_AT``): every step of the download, ``ota.slots.CRASH_POINTS``
  (install, switch, rollback) and the first start, each ``REPS`` times; one repetition in four (and
  every rollback point) updates to a release that cannot start, so the health deadline passes and the
  update is rolled back;
- **at random times measured from the step**: the agent says ``step NAME`` as a step begins; the test
  kills it a seeded random delay after that line (``OTA_CRASH_SEED`` replays a run; the seed is printed).

After each kill, as after a power cut: the boot check (``Slots.boot_check``, what ``ota boot-check``
runs before the kiosk starts) must leave ``current`` on a complete slot that has not failed, whose app
answers (unless it is the new release still inside its health window); then a fresh agent runs to
the end, and the kiosk must be on 1.1.0 (reported healthy) or cleanly on 1.0.0 with the failure
reported to HQ, no switch pending, and the app of ``current`` answering with its version.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from ota.bundle import target_name
from ota.slots import COMPLETE, CRASH_POINTS, Slots
from tests.fakes.ota_release import AppInstaller, make_bundle
from tests.integration.forking_driver import DriverProcess

DRIVER = Path(__file__).with_name("ota_crash_driver.py")
REPO = Path(__file__).resolve().parents[2]
OLD, NEW = "1.0.0", "1.1.0"
#: the same names as the driver's ``POINTS`` (the driver is a script, not imported here)
POINTS = ("download_begun", "download_partial", "download_done", *CRASH_POINTS, "start_begun", "start_ran")
ROLLBACK_POINTS = frozenset(p for p in CRASH_POINTS if p.startswith("rollback"))
REPS = 4
RANDOM_KILLS = 100 - REPS * len(POINTS)
STEPS = ("download", "install", "switch", "start")
#: a random kill lands this long after a step began (real seconds; the steps take a few ms each)
RANDOM_DELAY_S = (0.0, 0.02)
LINE_TIMEOUT_S = 60.0
SEED = int(os.environ.get("OTA_CRASH_SEED", "20261211"))


def start_driver(workdir: Path, edge: Path) -> DriverProcess:
    """The driver process (ota_crash_driver.py), which forks one agent per run."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OTA_CRASH_AT", None)
    return DriverProcess(DRIVER, [str(edge)], workdir, env, LINE_TIMEOUT_S)


def _slots(run_dir: Path) -> Slots:
    """The kiosk's slots as the boot check sees them, on the run's clock (the driver's ``FileClock``)."""

    def now() -> float:
        try:
            return time.time() + float((run_dir / "clock").read_text(encoding="ascii"))
        except (OSError, ValueError):
            return time.time()

    return Slots(run_dir / "opt", run_dir / "data" / "ota" / "health", installer=AppInstaller(), now=now)


def _seed(run_dir: Path, edge: Path) -> None:
    slots = _slots(run_dir)
    slots.install(edge / target_name(OLD))
    slots.switch(OLD)


def _app_answers(slots: Slots) -> str:
    """Run ``current``'s entry point as the kiosk service would; it must answer with its version."""
    done = subprocess.run(
        [str(slots.root / "current" / "venv" / "bin" / "app")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, f"the app of {slots.current()} does not run: {done.stderr}"
    return done.stdout.strip()


def _check_after_power_cut(slots: Slots, what: str) -> str:
    """The boot check's promise after the kill: current on a complete slot that has not failed."""
    result = slots.boot_check()
    current = slots.current()
    assert current in (OLD, NEW), f"{what}: boot check {result}"
    assert slots.is_complete(current) and not slots.is_failed(current), f"{what}: {result}"
    assert (slots.root / "current" / COMPLETE).is_file(), f"{what}: current does not resolve"
    pending = slots.pending()
    if pending is not None and pending.version == current:
        return result.action  # the new release is inside its health window: it may not answer yet
    assert _app_answers(slots) == current, what
    return result.action


def _check_end(run_dir: Path, broken: bool, what: str) -> str:
    """After the fresh agent's run: on 1.1.0 reported healthy, or cleanly on 1.0.0 with a reported failure."""
    slots = _slots(run_dir)
    current = slots.current()
    assert current is not None and slots.is_complete(current) and not slots.is_failed(current), what
    assert slots.pending() is None, f"{what}: a switch is still pending"
    assert _app_answers(slots) == current, what
    reports = [
        (r["version"], r["state"])
        for r in map(json.loads, (run_dir / "hq-reports.jsonl").read_text("utf-8").splitlines())
    ]
    state = json.loads((run_dir / "data" / "ota" / "state.json").read_text("utf-8"))
    assert state["unsent"] == [], f"{what}: reports never reached HQ"
    if current == NEW:
        assert not broken, f"{what}: the broken release is current"
        assert state["state"] == "healthy" and (NEW, "healthy") in reports, f"{what}: {state} {reports}"
        return "new"
    assert current == OLD
    assert state["state"] in ("rolled_back", "idle"), f"{what}: {state}"
    failures = {s for v, s in reports if v == NEW} & {"failed", "rolled_back"}
    assert failures, f"{what}: ended on {OLD} without reporting the failure: {reports}"
    assert (NEW, "healthy") not in reports, what
    assert NEW in state["failed"], f"{what}: the agent would try {NEW} again: {state}"
    return "old"


@pytest.mark.slow  # about 40 s here: 200 agent runs, each fsyncing a real install and switch
def test_agent_killed_at_every_step_and_at_random_leaves_a_working_release(tmp_path: Path) -> None:
    edge = tmp_path / "edge"
    for version in (OLD, NEW):
        make_bundle(edge, version)
    rng = random.Random(SEED)
    print(f"\nOTA crash test seed {SEED} (OTA_CRASH_SEED={SEED} replays it)")
    plan: list[tuple[str, str | None, bool]] = [
        (point, None, point in ROLLBACK_POINTS or rep == REPS - 1) for rep in range(REPS) for point in POINTS
    ]
    for _ in range(RANDOM_KILLS):
        broken = rng.random() < 0.25
        step = rng.choice((*STEPS, "rollback") if broken else STEPS)
        plan.append(("-", step, broken))
    assert len(plan) == 100
    hits: Counter[str] = Counter()
    random_hits: Counter[str] = Counter()
    boot: Counter[str] = Counter()
    ends: Counter[str] = Counter()
    started = time.monotonic()
    driver = start_driver(tmp_path, edge)
    try:
        for n, (spec, step, broken) in enumerate(plan, 1):
            run_dir = tmp_path / f"run-{n:03d}"
            _seed(run_dir, edge)
            what = f"run {n} ({spec if step is None else 'random after ' + step}, broken={broken})"
            driver.send(f"run {run_dir} {spec} {int(broken)}")
            pid = int(driver.until("pid ")[0].split()[1])
            if step is None:
                end, seen = driver.until("exit ")
                crashed = [line.split()[1] for line in seen if line.startswith("crashpoint ")]
                assert crashed == [spec], f"{what}: crash point not reached: {seen}"
                hits[spec] += 1
            else:
                line, _ = driver.until(f"step {step}", "finished ")
                assert line == f"step {step}", f"{what}: the update finished before the step: {line}"
                time.sleep(rng.uniform(*RANDOM_DELAY_S))  # the kill itself lands at a random time
                os.kill(pid, signal.SIGKILL)
                end, _ = driver.until("exit ")
                random_hits[step] += 1
            status = int(end.split()[1])
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{what}: {status}"
            boot[_check_after_power_cut(_slots(run_dir), what)] += 1
            driver.send(f"run {run_dir} none {int(broken)}")
            driver.until("pid ")
            finished, _ = driver.until("finished ")
            status = int(driver.until("exit ")[0].split()[1])
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"{what}: rerun ended {status}"
            ends[_check_end(run_dir, broken, f"{what}, rerun {finished}")] += 1
    finally:
        driver.close()
    print(
        f"OTA crash test: {sum(hits.values())} kills at crash points ({dict(sorted(hits.items()))}), "
        f"{sum(random_hits.values())} at random times ({dict(sorted(random_hits.items()))}); "
        f"boot check after the kill: {dict(sorted(boot.items()))}; ended on {dict(sorted(ends.items()))}; "
        f"{time.monotonic() - started:.1f} s"
    )
    assert hits == Counter({point: REPS for point in POINTS})
    assert sum(random_hits.values()) == RANDOM_KILLS
