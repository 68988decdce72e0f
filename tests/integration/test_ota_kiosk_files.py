"""The update agent (root) never writes through what the kiosk user can put in its own data folder.

The kiosk user owns ``<data>/ota``. Before, the agent kept its state and TUF metadata there and wrote
``state.json`` through ``.state.json.tmp``: a link under that name made root overwrite any file with
the agent's state, whose ``detail`` text the kiosk could steer (found in review, reproduced below
with the agent's own code). Now the agent keeps what it trusts in a folder of root's (``--state``)
and only publishes a copy into the kiosk's folder, following no link (``ota.kiosk_files``).

The agent here is the real one on real folders; its edges (HQ, the download, the kiosk's socket) are
the fakes ``tests/integration/test_ota_agent.py`` uses. A link is what the kiosk user would plant.
"""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest

from ota.agent import CHECK_NOW_FILE, SOCKET_FILE, STATE_FILE, Agent, AgentConfig, Assignment, SocketKioskLink
from ota.cli import main
from ota.kiosk_files import NotPrivate, check_private, present, publish, take
from ota.slots import Slots
from tests.fakes.clock import SetTime
from tests.fakes.ota_release import FakeInstaller, make_bundle
from tests.integration.test_ota_agent import FakeFetch, FakeHq, HeldLink

ROOTS_TEXT = b"root:x:0:0:root:/root:/bin/bash\n"


def _victim(tmp_path: Path, name: str = "victim") -> Path:
    """A file of root's somewhere else (/etc/ld.so.preload, say)."""
    victim = tmp_path / "elsewhere" / name
    victim.parent.mkdir(exist_ok=True)
    victim.write_bytes(ROOTS_TEXT)
    victim.chmod(0o600)
    return victim


def _agent(tmp_path: Path, state_dir: Path, kiosk_dir: Path | None) -> Agent:
    clock = SetTime(1_000_000.0)
    slots = Slots(
        tmp_path / "opt", tmp_path / "data" / "ota" / "health", installer=FakeInstaller(), now=clock
    )
    slots.install(make_bundle(tmp_path / "seed", "1.0.0"))
    slots.switch("1.0.0")
    return Agent(
        slots=slots,
        fetch=FakeFetch(tmp_path / "downloads"),
        hq=FakeHq(Assignment(None)),
        link=HeldLink(),
        state_path=state_dir / STATE_FILE,
        kiosk_dir=kiosk_dir,
        restart=lambda: None,
        store_schema=lambda: 6,
        config=AgentConfig(poll_s=60),
        now=clock,
    )


def test_links_in_the_kiosks_folder_never_make_the_agent_write_elsewhere(tmp_path: Path) -> None:
    """GIVEN the kiosk's folder with a link under the agent's temporary name and one under
    state.json WHEN the agent saves its state THEN both targets are as they were, the kiosk reads a
    state.json of its own, and the agent's own copy is in its private folder."""
    kiosk_dir = tmp_path / "data" / "ota"
    kiosk_dir.mkdir(parents=True)
    tmp_target, state_target = _victim(tmp_path, "ld.so.preload"), _victim(tmp_path, "shadow")
    (kiosk_dir / f".{STATE_FILE}.tmp").symlink_to(tmp_target)
    (kiosk_dir / STATE_FILE).symlink_to(state_target)
    agent = _agent(tmp_path, tmp_path / "agent-state", kiosk_dir)
    agent.start()
    agent.poll_once()
    assert tmp_target.read_bytes() == ROOTS_TEXT
    assert state_target.read_bytes() == ROOTS_TEXT
    published = kiosk_dir / STATE_FILE
    assert not published.is_symlink()
    assert json.loads(published.read_text())["running"] == "1.0.0"
    assert stat.S_IMODE(published.stat().st_mode) == 0o644  # the kiosk user reads it
    assert json.loads((tmp_path / "agent-state" / STATE_FILE).read_text())["running"] == "1.0.0"


def test_a_link_left_under_the_temporary_name_is_not_written_through_in_any_folder(tmp_path: Path) -> None:
    """The agent run by hand keeps its state in ``<data>/ota`` (no ``--state``): the same link
    under ``.state.json.tmp`` made the agent's own write (``write_durable``) overwrite its target."""
    folder = tmp_path / "data" / "ota"
    folder.mkdir(parents=True)
    target = _victim(tmp_path)
    (folder / f".{STATE_FILE}.tmp").symlink_to(target)
    agent = _agent(tmp_path, folder, None)
    agent.start()
    assert target.read_bytes() == ROOTS_TEXT
    assert json.loads((folder / STATE_FILE).read_text())["running"] == "1.0.0"


def test_a_kiosk_folder_that_is_a_link_gets_nothing_and_the_update_goes_on(tmp_path: Path) -> None:
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ota").symlink_to(elsewhere)
    agent = _agent(tmp_path, tmp_path / "agent-state", tmp_path / "data" / "ota")
    agent.start()
    agent.poll_once()
    assert list(elsewhere.iterdir()) == []
    assert json.loads((tmp_path / "agent-state" / STATE_FILE).read_text())["running"] == "1.0.0"
    with pytest.raises(OSError):
        publish(tmp_path / "data" / "ota", STATE_FILE, b"{}")


def test_the_agent_never_makes_the_kiosks_folder_root_s(tmp_path: Path) -> None:
    """GIVEN a kiosk that has not yet made ``<data>/ota`` (it does at its start: its update socket)
    WHEN the agent saves its state THEN the folder is not made: made by root, the kiosk could put
    neither its socket nor its health files there, and every update would roll back. The copy is
    published at the agent's next save once the kiosk has made it."""
    (tmp_path / "data").mkdir()
    kiosk_dir = tmp_path / "data" / "ota"
    agent = _agent(tmp_path, tmp_path / "agent-state", kiosk_dir)
    agent.start()
    assert not kiosk_dir.exists()
    assert json.loads((tmp_path / "agent-state" / STATE_FILE).read_text())["running"] == "1.0.0"
    assert not publish(kiosk_dir, STATE_FILE, b"{}")
    kiosk_dir.mkdir()  # the kiosk starts
    agent.poll_once()
    assert json.loads((kiosk_dir / STATE_FILE).read_text())["running"] == "1.0.0"


def test_the_kiosks_check_now_request_is_taken_without_following_links(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "ota"
    folder.mkdir(parents=True)
    target = _victim(tmp_path)
    (folder / CHECK_NOW_FILE).symlink_to(target)
    assert present(folder, CHECK_NOW_FILE)
    assert take(folder, CHECK_NOW_FILE)
    assert not (folder / CHECK_NOW_FILE).is_symlink() and target.read_bytes() == ROOTS_TEXT
    assert not take(folder, CHECK_NOW_FILE)
    # a folder that is a link: nothing under its target is removed
    (tmp_path / "data" / "ota2").symlink_to(target.parent)
    (target.parent / CHECK_NOW_FILE).write_text("")
    assert not present(tmp_path / "data" / "ota2", CHECK_NOW_FILE)
    with pytest.raises(OSError):
        take(tmp_path / "data" / "ota2", CHECK_NOW_FILE)
    assert (target.parent / CHECK_NOW_FILE).exists()


def test_only_folders_and_files_root_alone_can_change_are_trusted(tmp_path: Path) -> None:
    me = os.geteuid()
    mine = tmp_path / "private"
    mine.mkdir(mode=0o700)
    check_private(mine / "ota-agent", euid=me)  # not there yet: the agent makes it
    check_private(mine, euid=me)

    writable = tmp_path / "writable"
    writable.mkdir()
    writable.chmod(0o777)
    with pytest.raises(NotPrivate, match="can be written by others"):
        check_private(writable / "ota-agent", euid=me)

    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)  # as /tmp: nobody may replace another's entry
    (sticky / "mine").mkdir(mode=0o700)
    check_private(sticky / "mine" / "ota-agent", euid=me)
    with pytest.raises(NotPrivate, match="can be written by others"):
        check_private(sticky, euid=me)  # the folder itself is not private

    link = tmp_path / "link"
    link.symlink_to(mine)
    with pytest.raises(NotPrivate, match="is a link"):
        check_private(link / "ota-agent", euid=me)

    group_root = tmp_path / "root.json"
    group_root.write_text("{}")
    group_root.chmod(0o664)
    with pytest.raises(NotPrivate, match="can be written by others"):
        check_private(group_root, euid=me)

    # another user's folder (the kiosk user's data folder): as root, chown it; else claim another id
    kiosks = tmp_path / "kiosks"
    kiosks.mkdir(mode=0o750)
    if me == 0:
        os.chown(kiosks, 65534, 65534)
    with pytest.raises(NotPrivate, match="not root"):
        check_private(kiosks / "ota", euid=me if me == 0 else me + 1)


def test_the_agent_refuses_a_state_folder_others_can_change(tmp_path: Path) -> None:
    shared = tmp_path / "data"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(SystemExit) as refused:
        main(["agent", "--once", "--root", str(tmp_path / "opt"), "--data", str(shared)])
    message = str(refused.value.code)
    assert f"--state {shared / 'ota'}" in message and "only root can change" in message
    assert not (shared / "ota").exists()  # nothing was made


def test_the_agent_refuses_a_trusted_root_others_can_change(tmp_path: Path) -> None:
    root_file = tmp_path / "ota-root.json"
    root_file.write_text("{}")
    root_file.chmod(0o666)
    (tmp_path / "state").mkdir(mode=0o700)
    argv = ["agent", "--once", "--root", str(tmp_path / "opt"), "--data", str(tmp_path / "data")]
    with pytest.raises(SystemExit) as refused:
        main([*argv, "--state", str(tmp_path / "state"), "--trusted-root", str(root_file)])
    assert "--trusted-root" in str(refused.value.code)
    assert list((tmp_path / "state").iterdir()) == []


@pytest.mark.parametrize("where", ["socket", "folder"])
def test_the_agent_talks_only_to_the_kiosks_own_socket_not_through_a_link(tmp_path: Path, where: str) -> None:
    """GIVEN another root service's socket, and a link to it where the kiosk's socket belongs (or the
    kiosk's folder a link to that service's folder) WHEN the agent asks the kiosk to HOLD THEN it
    connects to nothing and writes nothing there: the kiosk "did not answer". Before, root followed
    the link and wrote its HOLD line to whatever socket the kiosk user named. Found in review."""
    service = tmp_path / "run" / "service"
    service.mkdir(parents=True)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(str(service / SOCKET_FILE))
    other.listen(1)
    other.setblocking(False)
    kiosk_dir = tmp_path / "data" / "ota"
    if where == "socket":
        kiosk_dir.mkdir(parents=True)
        (kiosk_dir / SOCKET_FILE).symlink_to(service / SOCKET_FILE)
    else:
        kiosk_dir.parent.mkdir(parents=True)
        kiosk_dir.symlink_to(service)
    try:
        assert SocketKioskLink(kiosk_dir / SOCKET_FILE, timeout_s=5).hold() is False
        with pytest.raises(BlockingIOError):
            other.accept()  # nobody came
    finally:
        other.close()
