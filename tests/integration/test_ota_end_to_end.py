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
clock is injected and every wait is a bounded loop on an event. The setup is ``ota_fleet``, which
``bench/ota.py`` runs too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hq_fixtures import LiveHq, sqlite_url
from ota_fleet import (
    RUNNING,
    VERSION,
    KioskFiles,
    build_bundle,
    enrolled_kiosk,
    kiosk_side,
    make_agent,
    published_fleet,
    run_as_ui_thread,
)

from ota.agent_core import Phase
from ota.cli import main
from tests.fakes.ota_release import FakeInstaller

pytestmark = pytest.mark.slow

KIOSK = "k-ota-1"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``ota release build --version 0.1.0 --wheelhouse W --out DIR``, once for the module."""
    return build_bundle(tmp_path_factory.mktemp("build"))


@dataclass
class Fleet:
    hq: LiveHq
    keys: Path
    repo: Path
    files: KioskFiles

    @property
    def data(self) -> Path:
        return self.files.data

    @property
    def root(self) -> Path:
        return self.files.root

    def hq_ota(self, *argv: str) -> int:
        return main([*argv, "--db", self.hq.db_url])


@pytest.fixture
def fleet(tmp_path: Path, bundle: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Fleet]:
    """HQ running; the admin made keys and the repository, published and registered the release;
    one kiosk enrolled, whose image ships the repository's first root as its trust anchor."""
    with published_fleet(tmp_path, bundle) as shared:
        assert f"registered release {VERSION}" in capsys.readouterr().err  # HQ's database is here
        files = enrolled_kiosk(shared, KIOSK, tmp_path)
        yield Fleet(shared.hq, shared.keys, shared.repo, files)


def _status(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert fleet.hq_ota("status", "--json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_a_release_goes_from_the_admin_through_hq_to_a_kiosk_that_reports_healthy(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fleet.hq_ota("rollout", "start", VERSION, "--stages", "100", "--max-failure-rate", "0.2") == 0
    kiosk = kiosk_side(fleet.files)
    installer = FakeInstaller()
    agent = make_agent(fleet.files, kiosk, installer)
    try:
        agent.start()
        run_as_ui_thread(kiosk, agent.poll_once)
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
    kiosk = kiosk_side(fleet.files)
    installer = FakeInstaller()
    agent = make_agent(fleet.files, kiosk, installer)
    try:
        agent.start()
        run_as_ui_thread(kiosk, agent.poll_once)
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
