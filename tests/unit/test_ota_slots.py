"""Release slots: install, switch, roll back, prune, and the boot check after a crash at every step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ota.slots import COMPLETE, CRASH_POINTS, PowerCut, SlotError, Slots
from tests.fakes.clock import SetTime
from tests.fakes.ota_release import FakeInstaller, make_bundle

REPO = Path(__file__).resolve().parents[2]


def _slots(tmp_path: Path, clock: SetTime | None = None, crash_at: str = "") -> Slots:
    def crash(point: str) -> None:
        if point == crash_at:
            raise PowerCut(point)

    return Slots(
        tmp_path / "opt",
        tmp_path / "data" / "ota" / "health",
        installer=FakeInstaller(),
        now=clock or SetTime(1_000_000.0),
        crash=crash,
    )


def _good(slots: Slots) -> str:
    """The boot check's promise: current names a complete release that has not failed."""
    current = slots.current()
    assert current is not None
    assert slots.is_complete(current)
    assert not slots.is_failed(current)
    assert (slots.root / "current" / COMPLETE).is_file()  # the link itself resolves
    return current


def _running(tmp_path: Path, slots: Slots, *versions: str) -> None:
    for version in versions:
        slots.install(make_bundle(tmp_path / "bundles", version))
        slots.switch(version)


def test_install_switch_and_rollback(tmp_path: Path) -> None:
    slots = _slots(tmp_path)
    _running(tmp_path, slots, "1.0.0", "1.1.0")
    assert (slots.current(), slots.previous()) == ("1.1.0", "1.0.0")
    assert os.readlink(slots.root / "current") == "releases/1.1.0"  # relative: the root may move
    assert (slots.slot("1.1.0") / "manifest.json").is_file()
    assert (slots.slot("1.1.0") / "venv" / "behaviour").is_file()
    assert not any((slots.staging).iterdir())
    assert slots.rollback("no health") == "1.0.0"
    assert slots.current() == "1.0.0" and slots.is_failed("1.1.0")
    assert slots.previous() is None  # the failed release is nothing to go back to
    assert slots.boot_check().action == "ok"


def test_installing_an_installed_release_again_changes_nothing(tmp_path: Path) -> None:
    slots = _slots(tmp_path)
    bundle = make_bundle(tmp_path / "bundles", "1.0.0")
    slots.install(bundle)
    slots.install(bundle)
    assert slots.installer.installed == ["1.0.0"]  # type: ignore[attr-defined]


def test_a_failed_build_leaves_nothing_behind(tmp_path: Path) -> None:
    def broken(slot: Path, _manifest: object) -> None:
        raise SlotError("pip failed")

    slots = Slots(tmp_path / "opt", tmp_path / "health", installer=broken)
    with pytest.raises(SlotError):
        slots.install(make_bundle(tmp_path / "bundles", "1.0.0"))
    assert slots.installed() == [] and not any(slots.staging.iterdir())


def test_switch_refuses_an_incomplete_slot(tmp_path: Path) -> None:
    slots = _slots(tmp_path)
    (slots.releases / "2.0.0").mkdir(parents=True)
    with pytest.raises(SlotError, match="not installed completely"):
        slots.switch("2.0.0")


def test_prune_keeps_current_previous_and_the_newest(tmp_path: Path) -> None:
    slots = _slots(tmp_path)
    _running(tmp_path, slots, "1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0")
    (slots.releases / "0.1.0").mkdir()  # an incomplete leftover
    removed = slots.prune()
    assert sorted(removed) == ["0.1.0", "1.0.0", "1.1.0"]
    assert slots.installed() == ["1.2.0", "1.3.0", "1.4.0"]
    assert (slots.current(), slots.previous()) == ("1.4.0", "1.3.0")


def test_prune_removes_failed_releases_first_and_never_previous(tmp_path: Path) -> None:
    slots = _slots(tmp_path)
    _running(tmp_path, slots, "1.0.0", "1.1.0", "1.2.0")
    slots.rollback("bad")  # 1.2.0 failed, current 1.1.0, previous 1.0.0
    slots.install(make_bundle(tmp_path / "bundles", "1.3.0"))
    assert slots.prune() == ["1.2.0"]
    assert slots.installed() == ["1.0.0", "1.1.0", "1.3.0"]


@pytest.mark.parametrize("damage", ["missing", "dangling", "incomplete", "outside", "failed"])
def test_boot_check_repairs_a_current_that_names_no_good_release(tmp_path: Path, damage: str) -> None:
    slots = _slots(tmp_path)
    _running(tmp_path, slots, "1.0.0", "1.1.0")
    current = slots.root / "current"
    if damage == "missing":
        current.unlink()
    elif damage == "dangling":
        current.unlink()
        current.symlink_to("releases/9.9.9")
    elif damage == "incomplete":
        (slots.slot("1.1.0") / COMPLETE).unlink()
    elif damage == "outside":
        current.unlink()
        current.symlink_to(str(tmp_path))
    else:
        (slots.slot("1.1.0") / ".failed").write_text("bad")
    result = slots.boot_check()
    assert result.action == "repaired"
    assert _good(slots) == "1.0.0"


def test_boot_check_with_no_release_at_all_says_so(tmp_path: Path) -> None:
    assert _slots(tmp_path).boot_check().action == "broken"


def test_a_pending_switch_is_confirmed_by_the_health_file(tmp_path: Path) -> None:
    clock = SetTime(1_000.0)
    slots = _slots(tmp_path, clock)
    _running(tmp_path, slots, "1.0.0")
    slots.install(make_bundle(tmp_path / "bundles", "1.1.0"))
    slots.switch("1.1.0", health_deadline_s=60)
    assert slots.boot_check().action == "ok"  # before the deadline: the release is still starting
    slots.health_dir.mkdir(parents=True)
    (slots.health_dir / "1.1.0.ok").write_text("")
    clock.now = 5_000.0
    assert slots.boot_check().action == "healthy"
    assert slots.pending() is None and slots.current() == "1.1.0"


def test_a_pending_switch_past_its_deadline_is_rolled_back(tmp_path: Path) -> None:
    clock = SetTime(1_000.0)
    slots = _slots(tmp_path, clock)
    _running(tmp_path, slots, "1.0.0")
    slots.install(make_bundle(tmp_path / "bundles", "1.1.0"))
    slots.switch("1.1.0", health_deadline_s=60)
    clock.now = 1_061.0
    result = slots.boot_check()
    assert result.action == "rolled_back"
    assert _good(slots) == "1.0.0" and slots.is_failed("1.1.0")


UPDATE_POINTS = [p for p in CRASH_POINTS if not p.startswith("rollback")]
ROLLBACK_POINTS = [p for p in CRASH_POINTS if p.startswith("rollback")]


def _update(tmp_path: Path, slots: Slots) -> None:
    slots.install(make_bundle(tmp_path / "bundles", "1.1.0"))
    slots.switch("1.1.0", health_deadline_s=60)


@pytest.mark.parametrize("point", UPDATE_POINTS)
@pytest.mark.parametrize("later", [False, True], ids=["before-deadline", "after-deadline"])
def test_a_power_cut_at_any_update_step_leaves_a_good_release(
    tmp_path: Path, point: str, later: bool
) -> None:
    """GIVEN 1.0.0 running WHEN the update to 1.1.0 is cut at ``point`` THEN the boot check (at once,
    or after the health deadline with no health) leaves current on a complete, good release."""
    clock = SetTime(1_000.0)
    _running(tmp_path, _slots(tmp_path, clock), "0.9.0", "1.0.0")
    with pytest.raises(PowerCut):
        _update(tmp_path, _slots(tmp_path, clock, crash_at=point))
    if later:
        clock.now = 2_000.0
    slots = _slots(tmp_path, clock)  # a fresh start after the power came back
    slots.boot_check()
    current = _good(slots)
    assert current == ("1.1.0" if point == "switch_current" and not later else "1.0.0")
    if slots.is_failed("1.1.0"):
        return  # rolled back for missing its deadline: the agent never retries it (agent_core)
    # and the update can be done again from where it stopped
    slots.prune()
    _update(tmp_path, slots)
    assert _good(slots) == "1.1.0"


@pytest.mark.parametrize("point", ROLLBACK_POINTS)
def test_a_power_cut_during_a_rollback_still_ends_on_the_old_release(tmp_path: Path, point: str) -> None:
    clock = SetTime(1_000.0)
    slots = _slots(tmp_path, clock)
    _running(tmp_path, slots, "0.9.0", "1.0.0")
    _update(tmp_path, slots)
    with pytest.raises(PowerCut):
        _slots(tmp_path, clock, crash_at=point).rollback("no health")
    slots = _slots(tmp_path, clock)
    slots.boot_check()
    assert _good(slots) == "1.0.0"


_KILLED_UPDATE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from ota.slots import Slots
    from tests.fakes.ota_release import FakeInstaller, make_bundle

    root, point = Path(sys.argv[1]), sys.argv[2]

    def crash(name):
        if name == point:
            os.kill(os.getpid(), signal.SIGKILL)

    slots = Slots(root / "opt", root / "health", installer=FakeInstaller(), crash=crash)
    slots.install(make_bundle(root / "bundles", "1.1.0"))
    slots.switch("1.1.0", health_deadline_s=60)
    """
)


@pytest.mark.parametrize("point", ["install_synced", "switch_previous"])
def test_a_process_killed_mid_update_leaves_a_good_release(tmp_path: Path, point: str) -> None:
    """A real process, killed with SIGKILL at the crash point (no clean-up of any kind runs)."""
    _running(tmp_path, _slots(tmp_path), "0.9.0", "1.0.0")
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_UPDATE, str(tmp_path), point],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    slots = _slots(tmp_path)
    slots.boot_check()
    assert _good(slots) == "1.0.0"
