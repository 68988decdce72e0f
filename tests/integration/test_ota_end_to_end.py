"""Signed updates end to end, as an admin and a kiosk meet them (docs/ota.md, "The whole flow").

The admin's steps run through the ``ota`` command as written in the docs: ``keys init``, ``repo
init``, ``release build`` (from a local wheelhouse of tiny stand-in wheels: the real ones are
hundreds of MB and need an index), ``release publish`` (which also registers the release at HQ,
whose database is on this machine), ``rollout start V --stages 100`` and ``status --json``.

The kiosk is enrolled at a real HQ on 127.0.0.1 that serves the TUF repository. Its agent is built by
``ota.cli.production_edges`` from the kiosk's settings file: the real signed HQ client and the real
TUF updater through HQ. It asks the real checkout (``CheckoutController`` with ``kiosk.ota_link``)
for idle over the real socket, while this test's thread plays the kiosk's UI thread. Only the slot
installer (no venv: seconds saved) and the restart (the "new release" comes up on the same
controller and writes its health file) are injected. Nothing waits on the wall clock: the agent's
clock is injected and every wait is a bounded loop on an event.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hq_fixtures import LiveHq, running_hq, sqlite_url
from kiosk_enrolment import enrol_kiosk
from test_ota_release import _wheelhouse

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ota_link import HEALTH_PARTS, OtaLink
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from ota.agent import HEALTH_DIR, SOCKET_FILE, STATE_FILE, Agent, AgentConfig, SocketKioskLink, store_needs
from ota.agent_core import Phase
from ota.cli import main, production_edges
from ota.slots import Slots
from tests.fakes.clock import FakeClock, SetTime
from tests.fakes.ota_release import FakeInstaller, make_bundle
from tests.fakes.payments import FakePaymentGateway

pytestmark = pytest.mark.slow

VERSION = "0.1.0"  # the version of this checkout: ``ota release build`` builds only that
RUNNING = "0.0.9"
KIOSK = "k-ota-1"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ota release build --version 0.1.0 --wheelhouse W --out DIR``, once for the module."""
    folder = tmp_path_factory.mktemp("build")
    _wheelhouse(folder / "wheelhouse")
    code = main(
        [
            "release",
            "build",
            "--version",
            VERSION,
            "--wheelhouse",
            str(folder / "wheelhouse"),
            "--out",
            str(folder),
        ]
    )
    assert code == 0
    return folder / f"kiosk-{VERSION}.tar"


@dataclass
class Fleet:
    hq: LiveHq
    keys: Path
    repo: Path
    data: Path
    config: Path
    root: Path

    def ota(self, *argv: str) -> int:
        return main(list(argv))

    def hq_ota(self, *argv: str) -> int:
        return main([*argv, "--db", self.hq.db_url])


@pytest.fixture
def fleet(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fleet]:
    """HQ running; the admin made keys and the repository, published and registered the release;
    one kiosk enrolled, whose image ships the repository's first root as its trust anchor."""
    hq_dir = tmp_path / "hq"
    hq_dir.mkdir()
    with running_hq(sqlite_url(hq_dir / "hq.sqlite3")) as hq:
        keys, repo = tmp_path / "keys", hq_dir / "tuf"  # HQ serves <HQ data>/tuf
        assert main(["keys", "init", "--dir", str(keys)]) == 0
        assert main(["repo", "init", "--keys", str(keys), "--repo", str(repo)]) == 0
        publish = ["release", "publish", VERSION, "--channel", "stable", "--bundle", str(bundle)]
        code = main([*publish, "--keys", str(keys), "--repo", str(repo), "--db", hq.db_url])
        err = capsys.readouterr().err
        assert code == 0, err
        assert f"registered release {VERSION}" in err  # publish registered it: HQ's database is here

        data = tmp_path / "kiosk-data"
        data.mkdir()
        enrol_kiosk(hq, data, KIOSK)
        image_root = tmp_path / "image" / "ota-root.json"
        image_root.parent.mkdir()
        image_root.write_bytes((repo / "metadata" / "1.root.json").read_bytes())
        config = tmp_path / "kiosk.toml"
        config.write_text(
            f'[kiosk]\nid = "{KIOSK}"\ndata_dir = "{data}"\n'
            f'[hq]\nurl = "{hq.url}"\n'
            f'[ota]\nchannel = "stable"\ntrusted_root = "{image_root}"\n',
            encoding="utf-8",
        )
        yield Fleet(hq, keys, repo, data, config, tmp_path / "opt")


@dataclass
class KioskSide:
    """The kiosk app: its checkout, its update socket, and what a restart brings up."""

    controller: CheckoutController
    link: OtaLink
    restarts: list[str]


def _kiosk(fleet: Fleet) -> KioskSide:
    store = SaleStore(open_store(fleet.data / "kiosk.sqlite3"), KIOSK)
    store.replace_catalog([WATER])
    controller = CheckoutController(
        options=ControllerOptions(kiosk_id=KIOSK, store_name="店", idle_timeout_s=60, done_timeout_s=5),
        store=store,
        gateway=FakePaymentGateway(),
        printer=FileReceiptPrinter(fleet.data / "receipts"),
        indicators=NullIndicators(),
        template=ReceiptTemplate.default(),
        clock=FakeClock(),
        background=False,
    )
    link = OtaLink(fleet.data, controller, RUNNING, answer_timeout_s=60)
    link.start()
    return KioskSide(controller, link, [])


def _agent(fleet: Fleet, kiosk: KioskSide, installer: FakeInstaller) -> Agent:
    """The agent as ``ota agent --config`` builds it, with the installer and restart injected."""
    edges = production_edges(argparse.Namespace(config=fleet.config, data=fleet.data))
    clock = SetTime(2_000_000.0)
    slots = Slots(fleet.root, fleet.data / "ota" / HEALTH_DIR, installer=installer, now=clock)
    slots.install(make_bundle(fleet.root.parent / "seed", RUNNING))
    slots.switch(RUNNING)
    slots.confirm(RUNNING)

    def restart() -> None:
        """systemctl restart kiosk.service: the old app's socket goes; the release ``current``
        names comes up and, once every part answered, writes its health file."""
        version = slots.current() or ""
        kiosk.restarts.append(version)
        kiosk.link.stop()
        kiosk.controller.update_hold = False
        kiosk.link = OtaLink(fleet.data, kiosk.controller, version, answer_timeout_s=60)
        kiosk.link.start()
        for part in sorted(HEALTH_PARTS):
            kiosk.link.healthy(part)

    def never_sleep(seconds: float) -> None:
        clock.now += seconds

    return Agent(
        slots=slots,
        fetch=edges.fetch,
        hq=edges.hq,
        link=SocketKioskLink(fleet.data / "ota" / SOCKET_FILE, timeout_s=60),
        state_path=fleet.data / "ota" / STATE_FILE,
        restart=restart,
        store_schema=lambda: store_needs(fleet.data / "kiosk.sqlite3"),
        config=AgentConfig(poll_s=60, idle_retry_s=5, health_deadline_s=30, health_poll_s=1),
        now=clock,
        sleep=never_sleep,
    )


def _run_as_ui_thread(kiosk: KioskSide, work: Callable[[], None]) -> None:
    """Run ``work`` (the agent) in a thread while this thread answers the socket's questions."""
    finished = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # shown by the assertion below
            failure.append(exc)
        finally:
            finished.set()

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(30_000):
        if finished.is_set():
            break
        kiosk.controller.pump(timeout=0.01)
    thread.join(timeout=60)
    assert finished.is_set(), "the agent did not finish"
    if failure:
        raise failure[0]


def _status(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert fleet.hq_ota("status", "--json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_a_release_goes_from_the_admin_through_hq_to_a_kiosk_that_reports_healthy(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fleet.hq_ota("rollout", "start", VERSION, "--stages", "100", "--max-failure-rate", "0.2") == 0
    kiosk = _kiosk(fleet)
    installer = FakeInstaller()
    agent = _agent(fleet, kiosk, installer)
    try:
        agent.start()
        _run_as_ui_thread(kiosk, agent.poll_once)
    finally:
        kiosk.link.stop()

    assert agent.state.phase is Phase.HEALTHY, agent.state.detail
    assert agent.slots.current() == VERSION and agent.slots.previous() == RUNNING
    assert installer.installed == [RUNNING, VERSION]
    assert kiosk.restarts == [VERSION]
    assert (fleet.data / "ota" / "health" / f"{VERSION}.ok").is_file()
    # the TUF metadata the agent trusts lives in <data>/ota/tuf, installed from the image's root
    assert (fleet.data / "ota" / "tuf" / "root.json").is_file()
    assert (fleet.data / "ota" / "tuf" / "targets.json").is_file()
    state = json.loads((fleet.data / "ota" / "state.json").read_text())
    assert state["state"] == "healthy" and state["running"] == VERSION and state["unsent"] == []

    status = _status(fleet, capsys)
    rollout = status["rollout"]
    assert rollout["version"] == VERSION and rollout["state"] == "done"
    (me,) = [k for k in status["kiosks"] if k["kiosk_id"] == KIOSK]
    assert (me["version"], me["state"], me["outcome"]) == (VERSION, "healthy", "healthy")


def test_a_target_tampered_on_hq_is_refused_nothing_installs_and_the_rollout_pauses(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    (target,) = (fleet.repo / "targets").glob(f"*.kiosk-{VERSION}.tar")
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte changed on HQ's disk after the targets key signed it
    target.write_bytes(bytes(data))
    assert fleet.hq_ota("rollout", "start", VERSION, "--stages", "100", "--max-failure-rate", "0.2") == 0
    kiosk = _kiosk(fleet)
    installer = FakeInstaller()
    agent = _agent(fleet, kiosk, installer)
    try:
        agent.start()
        _run_as_ui_thread(kiosk, agent.poll_once)
    finally:
        kiosk.link.stop()

    assert agent.state.phase is Phase.IDLE
    assert "mismatch" in agent.state.detail or "hash" in agent.state.detail.lower(), agent.state.detail
    assert agent.slots.current() == RUNNING and installer.installed == [RUNNING]
    assert not (fleet.root / "releases" / VERSION).exists()
    assert kiosk.restarts == [] and not kiosk.controller.update_hold
    assert not list((fleet.data / "ota" / "downloads").glob(f"*{VERSION}*"))

    status = _status(fleet, capsys)
    assert status["rollout"]["state"] == "paused"
    (me,) = [k for k in status["kiosks"] if k["kiosk_id"] == KIOSK]
    assert (me["version"], me["state"], me["outcome"]) == (VERSION, "failed", "failed")


def test_publish_away_from_hqs_database_signs_and_names_the_register_command(
    tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys, repo = tmp_path / "keys", tmp_path / "tuf"
    assert main(["keys", "init", "--dir", str(keys)]) == 0
    assert main(["repo", "init", "--keys", str(keys), "--repo", str(repo)]) == 0
    capsys.readouterr()
    missing = tmp_path / "elsewhere" / "hq.sqlite3"
    code = main(
        [
            *("release", "publish", VERSION, "--channel", "beta", "--bundle", str(bundle)),
            *("--keys", str(keys), "--repo", str(repo), "--db", sqlite_url(missing)),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert "not registered at HQ" in err
    assert (
        f"ota release register {VERSION} --channel beta --target kiosk-{VERSION}.tar --min-store-schema"
        in err
    )
    assert not missing.exists() and not missing.parent.exists()  # no empty HQ database left behind
