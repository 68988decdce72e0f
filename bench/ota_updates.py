"""Signed-update figures (docs/ota.md), measured in one run on this machine:

- the bundle's size: ``ota release build`` of this checkout. A real build fetches the Pi's
  dependency wheels (aarch64) from the index; offline, the bundle holds the real kiosk-appliance
  wheel and tiny stand-ins for its dependencies (``tests/integration/ota_fleet.py``), so only the
  app wheel's size is the real one. Deltas are not built: a kiosk downloads the whole bundle.
- download start to healthy: a real HQ on 127.0.0.1 serving the TUF repository an admin published
  with the ``ota`` command, the kiosk's agent as ``ota agent`` builds it (real signed HQ client, real
  TUF updater with its resuming fetcher), the real checkout answering HOLD over its socket, the
  slot installed by the real venv installer (``--installer venv``, the default) or the tests'
  injected one (``--installer fake``), and a stand-in for the new release's app that writes its
  health file as soon as it is restarted.
- rollback: a release that never reports healthy; from the moment the agent's injected clock passes
  the health deadline to ``current`` back on the previous release, and to the agent done (failed and
  rolled_back reported to HQ, the old release restarted). And ``ota boot-check``'s repair time: a
  pending switch past its deadline (the agent gone), and a ``current`` whose slot is incomplete.

The setup is the end-to-end test's (``ota_fleet``), so the bench measures the flow the test proves.
Nothing here asserts a time: it prints medians over ``--runs`` runs, as readable lines and one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import io
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# the shared setup is the integration tests' (ota_fleet, hq_fixtures) and their fakes (tests.fakes)
sys.path[1:1] = [str(REPO), str(REPO / "tests" / "integration")]

from _private import private_files  # noqa: E402  bench/ is the script's folder, so on sys.path
from ota_fleet import (  # noqa: E402
    HEALTH_DEADLINE_S,
    RUNNING,
    VERSION,
    Fleet,
    build_bundle,
    enrolled_kiosk,
    kiosk_side,
    make_agent,
    published_fleet,
)
from ota_fleet import run_as_ui_thread as run_agent  # noqa: E402

from ota.agent_core import Phase  # noqa: E402
from ota.bundle import read_manifest  # noqa: E402
from ota.slots import COMPLETE, Installer, Slots, VenvInstaller  # noqa: E402
from tests.fakes.clock import SetTime  # noqa: E402
from tests.fakes.ota_release import FakeInstaller, make_bundle  # noqa: E402


def _timed(call: Callable[..., Any], marks: dict[str, float], before: str, after: str) -> Callable[..., Any]:
    """``call`` with the perf_counter noted in ``marks`` before and after it."""

    def run(*args: Any, **kwargs: Any) -> Any:
        marks[before] = time.perf_counter()
        result = call(*args, **kwargs)
        marks[after] = time.perf_counter()
        return result

    return run


def bundle_figures(folder: Path) -> tuple[Path, dict[str, Any]]:
    """Build the bundle as ``ota release build --wheelhouse`` does; its sizes and what it holds."""
    start = time.perf_counter()
    bundle = build_bundle(folder)
    build_s = time.perf_counter() - start
    manifest = read_manifest(bundle)
    app = next(w for w in manifest.wheels if w.name == manifest.app)
    stand_ins = [w for w in manifest.wheels if w.name != manifest.app]
    host_bytes = 0  # the direct dependencies as installed here (x86_64, unpacked): a rough scale only
    for wheel in stand_ins:
        try:
            dist = importlib.metadata.distribution(wheel.name.split("-")[0])
        except importlib.metadata.PackageNotFoundError:
            continue
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                host_bytes += path.stat().st_size
    return bundle, {
        "bundle_bytes": bundle.stat().st_size,
        "app_wheel_bytes": app.size,
        "stand_in_wheels": len(stand_ins),
        "stand_in_bytes": sum(w.size for w in stand_ins),
        "host_installed_deps_bytes": host_bytes,
        "build_s": build_s,
    }


def update_once(fleet: Fleet, index: int, folder: Path, installer: Installer) -> dict[str, float]:
    """One new kiosk taking the release: seconds from the download's start to each later step."""
    files = enrolled_kiosk(fleet, f"k-bench-up-{index}", folder)
    kiosk = kiosk_side(files)
    agent = make_agent(files, kiosk, FakeInstaller())  # the running release is seeded the quick way
    agent.slots.installer = installer
    marks: dict[str, float] = {}
    agent.fetch.fetch = _timed(agent.fetch.fetch, marks, "download", "downloaded")  # type: ignore[method-assign]
    agent.slots.install = _timed(agent.slots.install, marks, "install", "installed")  # type: ignore[method-assign]
    agent.slots.confirm = _timed(agent.slots.confirm, marks, "healthy", "confirmed")  # type: ignore[method-assign]
    try:
        agent.start()
        run_agent(kiosk, agent.poll_once)
        done = time.perf_counter()
    finally:
        kiosk.link.stop()
    if agent.state.phase is not Phase.HEALTHY or agent.slots.current() != VERSION:
        raise RuntimeError(f"the update did not end healthy: {agent.state.phase} {agent.state.detail}")
    t0 = marks["download"]
    return {
        "download_s": marks["downloaded"] - t0,
        "install_s": marks["installed"] - marks["install"],
        "to_healthy_s": marks["healthy"] - t0,
        "to_reported_s": done - t0,
    }


def rollback_once(fleet: Fleet, index: int, folder: Path) -> dict[str, float]:
    """One new kiosk taking a release that never reports healthy: seconds from the health deadline
    passing (the agent's injected clock) to ``current`` back on the old release, and to the agent done."""
    files = enrolled_kiosk(fleet, f"k-bench-rb-{index}", folder)
    kiosk = kiosk_side(files)
    agent = make_agent(files, kiosk, FakeInstaller(), new_release_healthy=False)
    slots, clock = agent.slots, agent.now
    assert isinstance(clock, SetTime)
    marks: dict[str, float] = {}
    sleep = agent.sleep

    def sleep_and_note_the_deadline(seconds: float) -> None:
        sleep(seconds)
        pending = slots.pending()
        if "deadline" not in marks and pending is not None and clock.now >= pending.deadline:
            marks["deadline"] = time.perf_counter()

    agent.sleep = sleep_and_note_the_deadline
    slots.rollback = _timed(slots.rollback, marks, "rollback", "back")  # type: ignore[method-assign]
    try:
        agent.start()
        run_agent(kiosk, agent.poll_once)
        done = time.perf_counter()
    finally:
        kiosk.link.stop()
    if agent.state.phase is not Phase.ROLLED_BACK or slots.current() != RUNNING:
        raise RuntimeError(f"the release was not rolled back: {agent.state.phase} {agent.state.detail}")
    return {
        "to_current_back_s": marks["back"] - marks["deadline"],
        "to_agent_done_s": done - marks["deadline"],
    }


def boot_check_once(folder: Path) -> dict[str, float]:
    """``Slots.boot_check`` (``ota boot-check``) repairing two broken states, each timed alone."""
    clock = SetTime(2_000_000.0)
    slots = Slots(folder / "opt", folder / "health", installer=FakeInstaller(), now=clock)
    for version in (RUNNING, VERSION):
        slots.install(make_bundle(folder / "bundles", version))
    slots.switch(RUNNING)
    slots.confirm(RUNNING)
    slots.switch(VERSION, health_deadline_s=HEALTH_DEADLINE_S)
    clock.now += HEALTH_DEADLINE_S + 1  # the power went, the agent is gone, the deadline passed
    start = time.perf_counter()
    result = slots.boot_check()
    past_deadline = time.perf_counter() - start
    if result.action != "rolled_back" or slots.current() != RUNNING:
        raise RuntimeError(f"boot check after the deadline: {result}")
    (slots.slot(RUNNING) / COMPLETE).unlink()  # a torn slot under current
    (slots.slot(VERSION) / ".failed").unlink()
    start = time.perf_counter()
    result = slots.boot_check()
    torn = time.perf_counter() - start
    if result.action != "repaired" or slots.current() != VERSION:
        raise RuntimeError(f"boot check of an incomplete current: {result}")
    return {"past_deadline_s": past_deadline, "incomplete_current_s": torn}


def _medians(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def measure(runs: int, folder: Path, installer_name: str) -> dict[str, Any]:
    """Every figure, medians over ``runs`` runs, with everything written under ``folder``."""
    installer: Installer = VenvInstaller() if installer_name == "venv" else FakeInstaller()
    chatter = io.StringIO()  # what the ota commands print while the admin's steps run
    try:
        with private_files(), contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            bundle, sizes = bundle_figures(folder / "build")
            with published_fleet(folder / "fleet", bundle) as fleet:
                fleet.start_rollout()
                updates = [update_once(fleet, i, folder / f"u{i}", installer) for i in range(runs)]
                rollbacks = [rollback_once(fleet, i, folder / f"r{i}") for i in range(runs)]
            boots = [boot_check_once(folder / f"b{i}") for i in range(runs)]
    except BaseException:
        sys.stderr.write(chatter.getvalue())
        raise
    return {
        "runs": runs,
        "installer": installer_name,
        **sizes,
        "update": _medians(updates),
        "rollback": _medians(rollbacks),
        "boot_check": _medians(boots),
    }


def report(figures: dict[str, Any]) -> None:
    mb = 1_000_000
    print(json.dumps({"bench": "ota", **figures}))
    print(
        f"Bundle ({VERSION}, ota release build from a local wheelhouse, {figures['build_s']:.1f} s to build):"
    )
    print(
        f"  bundle {figures['bundle_bytes'] / mb:.2f} MB = the real kiosk-appliance wheel "
        f"({figures['app_wheel_bytes'] / mb:.2f} MB) + {figures['stand_in_wheels']} stand-in dependency "
        f"wheels ({figures['stand_in_bytes'] / 1000:.1f} kB) + manifest"
    )
    print(
        f"  the real dependency wheels for the Pi need the index (not measured); the direct ones, "
        f"installed on this host, take {figures['host_installed_deps_bytes'] / mb:.0f} MB unpacked"
    )
    print("  no deltas: a kiosk downloads the whole bundle (full download = bundle size)")
    u = figures["update"]
    print(
        f"Download start to healthy, median of {figures['runs']} (real HQ on 127.0.0.1, TUF, "
        f"{figures['installer']} installer, stand-in app writes its health file):"
    )
    print(f"  download + verify {u['download_s'] * 1000:8.1f} ms")
    print(f"  install the slot  {u['install_s'] * 1000:8.1f} ms")
    print(f"  to healthy        {u['to_healthy_s'] * 1000:8.1f} ms (after HOLD, switch, restart)")
    print(
        f"  to reported       {u['to_reported_s'] * 1000:8.1f} ms (healthy reported to HQ, old slots pruned)"
    )
    r = figures["rollback"]
    print(
        f"Rollback of a release that never reports healthy (deadline {HEALTH_DEADLINE_S:.0f} s, injected clock):"
    )
    print(f"  deadline passed to current back on {RUNNING}  {r['to_current_back_s'] * 1000:8.2f} ms")
    print(
        f"  deadline passed to agent done           {r['to_agent_done_s'] * 1000:8.2f} ms (reported, restarted)"
    )
    b = figures["boot_check"]
    print("ota boot-check repair:")
    print(f"  pending switch past its deadline  {b['past_deadline_s'] * 1000:8.2f} ms")
    print(f"  current on an incomplete slot     {b['incomplete_current_s'] * 1000:8.2f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=2, help="runs per figure; medians are printed (default 2: about a minute)"
    )
    parser.add_argument(
        "--installer",
        choices=("venv", "fake"),
        default="venv",
        help="venv: the real slot installer (python -m venv + pip, offline); fake: the tests' folder",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    logging.basicConfig(level=logging.ERROR)  # the agent logs each step; the figures are the output
    with tempfile.TemporaryDirectory(prefix="bench-ota-") as tmp:
        report(measure(args.runs, Path(tmp), args.installer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
