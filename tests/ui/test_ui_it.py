"""IT's maintenance panels under Xvfb, driven by touch events (tests/ui/ui_it_main.py).

GIVEN the real KioskApp with the FakeController, IT signed in, and a folder the fake reports as a
      mounted USB stick
WHEN  IT opens the settings, backs up to the stick, restores that backup, restores from HQ (a damaged
      download, then a backup granted from the replaced kiosk) and exits to the desktop
THEN  the settings show no secret and say they are read-only, the backup lands on the stick with its
      checksum on screen, the restore asks twice before it is staged (and then stops the kiosk to
      apply it); HQ's backups are listed beside the stick's, the screen says it downloads, a download
      that does not match says so and stages nothing, the granted one is staged; and "exit to desktop" asks twice and really stops the app with exit code 42.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_controller import FAKE_HQ_GRANTED
from ui_harness import TourRun, run_tour

from kiosk.maintenance.it_info import EXIT_TO_DESKTOP

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def tour(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    usb = tmp_path_factory.mktemp("usb-stick")
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("it"), "ui_it_main.py", str(usb))
    assert run.returncode == 0, run.result.get("failure") or run.log[-3000:]
    return run


def test_settings_show_no_secret_and_say_they_are_read_only(tour: TourRun) -> None:
    obs = tour.result["obs"]
    assert 'api_key = "[removed]"' in obs["settings_text"]
    assert "Read-only" in obs["settings_message"]


def test_a_backup_goes_to_the_usb_stick_with_its_checksum_shown(tour: TourRun) -> None:
    obs = tour.result["obs"]
    assert obs["backup_message"] == "backup done and verified"
    backup = [n for n in obs["usb_files"] if not n.endswith(".pub")]  # the SSH key files stay beside it
    assert len(backup) == 2 and backup[1].endswith(".manifest.json")


def test_a_restore_asks_twice_then_stages_and_stops_the_kiosk_to_apply_it(tour: TourRun) -> None:
    obs = tour.result["obs"]
    assert "Press again to confirm" in obs["restore_first_message"]
    assert obs["staged_after_first"] == ""  # the first press only asked
    assert Path(obs["staged_after_second"]).name.endswith(".sqlite3")
    assert obs["restore_stop_codes"] == [0]  # 0: systemd starts the kiosk again, which restores


def test_a_restore_from_hq_says_it_downloads_refuses_a_damaged_one_and_stages_a_granted_one(
    tour: TourRun,
) -> None:
    obs = tour.result["obs"]
    assert "HQ backup" in obs["restore_listed"] and "(from kiosk-000)" in obs["restore_listed"]
    assert obs["hq_while_working"] == [True, "Downloading the backup from HQ and verifying it..."]
    assert "does not match" in obs["hq_damaged_message"] and "nothing was staged" in obs["hq_damaged_message"]
    assert obs["hq_damaged_staged"] == "" and obs["hq_damaged_stops"] == [0]  # no stop for a refusal
    assert obs["hq_staged"] == FAKE_HQ_GRANTED


def test_exit_to_desktop_asks_twice_and_stops_the_app_with_its_exit_code(tour: TourRun) -> None:
    assert "Press again to confirm" in tour.result["obs"]["exit_first_message"]
    assert tour.result["exit_code"] == EXIT_TO_DESKTOP == 42


def test_the_update_screen_shows_the_agents_state_and_check_now_asks_the_kiosk(tour: TourRun) -> None:
    assert tour.result["obs"]["ota_calls"] == [{}, {"check": "now"}]


def test_without_its_list_of_keys_the_ssh_screen_says_so_and_offers_no_way_on(tour: TourRun) -> None:
    """GIVEN a kiosk without IT's list of keys WHEN IT opens SSH THEN the message and the first line
    say there is no list and what to do, and no key file nor "Turn SSH on" is offered"""
    obs = tour.result["obs"]
    assert obs["ssh_no_list_message"].startswith("this kiosk has no list of IT's keys (")
    assert "--it-keys" in obs["ssh_no_list_message"]
    assert obs["ssh_no_list_message"] in obs["ssh_no_list_text"] and "SSH is off" in obs["ssh_no_list_text"]
    assert obs["ssh_no_list_tags"] == []


def test_ssh_is_turned_on_by_touch_with_checked_keys_and_off_again(tour: TourRun) -> None:
    """GIVEN a stick with a good key file and one whose line carries command= WHEN IT opens SSH,
    picks the bad file, then the good one, presses "Turn SSH on" twice and then "Turn SSH off"
    THEN the bad file is refused, the good one's fingerprint is shown, the first press writes
    nothing, the second writes the keys and a time limit, and off writes off and removes the keys"""
    obs = tour.result["obs"]
    assert "SSH is off" in obs["ssh_status"]
    assert sorted(obs["ssh_files"]) == [f"item:{obs['usb']}/bad.pub", f"item:{obs['usb']}/it.pub"]
    assert "line 1: keys with options" in obs["ssh_bad_message"]
    assert "SHA256:" in obs["ssh_checked_text"] and "zhang@laptop  [on IT's list]" in obs["ssh_checked_text"]
    assert "Press again to confirm" in obs["ssh_first_message"]
    assert obs["ssh_after_first"] == {"ssh": "", "authorized_keys": ""}
    assert obs["ssh_on_message"].startswith("SSH is on for 1 key(s) until ")
    assert obs["ssh_after_on"]["ssh"].startswith("on\nuntil=")
    assert obs["ssh_after_on"]["authorized_keys"].endswith(" zhang@laptop\n")
    assert "SSH is ON until" in obs["ssh_on_text"] and "sshd on this kiosk: active" in obs["ssh_on_text"]
    assert obs["ssh_after_off"] == {"ssh": "off\n", "authorized_keys": ""}
    done = [
        row["after"]
        for row in obs["ssh_audit"]
        if "on" in row.get("after", {}) and "shown" not in row["after"]
    ]
    assert [a["on"] for a in done] == [True, False]
