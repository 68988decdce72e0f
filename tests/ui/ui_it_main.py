"""Child-process entry point of IT's maintenance UI test: the real KioskApp, the FakeController, and
touch events through Kivy's input (the fingers and runner of ``ui_maint_main``).

Run as ``python tests/ui/ui_it_main.py OUT_DIR USB_DIR`` with ``KIVY_NO_ARGS=1``, ``KIVY_HOME`` and a
``DISPLAY``. IT signs in, opens the settings (no secret on screen), backs the store up to the "USB
stick" (USB_DIR, which the fake reports as mounted), restores it (the first press only asks), then
restores from HQ: a backup whose download does not match is refused (the screen says it downloads
meanwhile, and nothing is staged), one granted from the kiosk it replaced is staged; and it
exits to the desktop with two presses: the app really stops, and the JSON line names its exit code.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fake_controller import FAKE_HQ_DAMAGED, FAKE_HQ_GRANTED, FakeController
from ui_maint_main import (
    QUIET_FRAMES,
    SCRIPT_LIMIT_S,
    Do,
    Fingers,
    Frames,
    Peek,
    Shot,
    Step,
    Tap,
    Until,
    run_script,
    sign_in,
)

from kiosk.maintenance.roles import Action
from kiosk.settings import KioskSection, UiSection
from kiosk.ui.kivy_config import configure_kivy


def panel_text(f: Fingers) -> str:
    return "\n".join(str(getattr(w, "text", "")) for w in f.screen.ids.panel.walk(restrict=True))


def reveal(f: Fingers, tag: str) -> None:
    """Scroll the menu so that the ``tag`` button is on screen (a finger scrolls it the same way)."""
    from kivy.uix.scrollview import ScrollView

    for w in f.screen.walk(restrict=True):
        if getattr(w, "tag", None) == tag:
            parent = w.parent
            while parent is not None and not isinstance(parent, ScrollView):
                parent = parent.parent
            if parent is not None:
                parent.scroll_to(w, padding=10, animate=False)
            return


def menu(f: Fingers, action: Action) -> Iterator[Step]:
    tag = f"action:{action.value}"
    yield Do(lambda: reveal(f, tag), f"scroll to {action.value}")
    yield Tap(lambda: f.tagged(tag), action.value)


def ssh_files(c: FakeController) -> dict[str, str]:
    """The SSH request and keys files the real action wrote ("" when there is none)."""
    s = c.it_console.settings
    return {p.name: p.read_text() if p.exists() else "" for p in (s.ssh_switch_path, s.ssh_keys_path)}


def allow_list(data: Path) -> Path:
    return data.parent / "etc-kiosk" / "it-ssh-keys"


def put_allow_list(c: FakeController) -> None:
    """IT's list of keys appears (as IT puts it on the card), holding the stick's good key."""
    path = c.it_console.settings.maintenance.ssh_allow_list
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((c.usb_folder / "it.pub").read_text())


def ssh_console(usb: Path, data: Path, audit: list[tuple[str, str, str]]) -> Any:
    """IT's real SSH action on temporary files, the stick (``usb``) in its mount table, with a good
    key file and one whose line carries an option. IT's list of keys (``allow_list``, the image's
    /etc/kiosk/it-ssh-keys) is not there yet."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from kiosk.settings import load_settings
    from kiosk.staff_it import ItConsole, SystemReaders

    key = ed25519.Ed25519PrivateKey.generate().public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    (usb / "it.pub").write_text(line + " zhang@laptop\n")
    (usb / "bad.pub").write_text(f'command="/bin/sh" {line}\n')
    settings = load_settings(
        environ={},
        overrides={
            "kiosk": {"data_dir": str(data)},
            "maintenance": {"usb_roots": [str(usb.parent)], "ssh_allow_list": str(allow_list(data))},
        },
    )
    return ItConsole(
        settings,
        lambda *row: audit.append(row),
        lambda: "en",
        checks=None,
        hq_client=None,
        bundle_sources=None,
        readers=SystemReaders(
            mounts=lambda: f"/dev/sda1 {usb} vfat rw 0 0\n",
            ssh_active=lambda: sshd(settings),
            sleep=lambda _s: None,
        ),
    )


def sshd(settings: Any) -> str:
    """sshd as the image's kiosk-ssh leaves it: running while the request says on (the tour turns
    SSH on only with a key on IT's list)."""
    request = settings.ssh_switch_path
    return "active" if request.exists() and request.read_text().startswith("on") else "inactive"


def it_script(
    f: Fingers, c: FakeController, obs: dict[str, Any], clock: list[float], stops: list[int]
) -> Iterator[Step]:
    yield from sign_in(f, clock, "333333")
    # settings: read-only, no secret
    yield from menu(f, Action.CONFIGURE)
    yield Until(lambda: "api_key" in panel_text(f) and not f.screen.busy, "settings shown")
    yield Do(lambda: obs.__setitem__("settings_text", panel_text(f)), "note")
    yield Do(lambda: obs.__setitem__("settings_message", f.screen.message), "note")
    yield Shot("it_settings")
    # updates: the agent's state, and "check now" reaches the kiosk with check=now
    yield from menu(f, Action.OTA_CHECK)
    yield Until(lambda: "Updating to: 1.5.0" in panel_text(f) and not f.screen.busy, "update status shown")
    yield Tap(lambda: f.tagged("it:check_now"), "check now")
    yield Until(lambda: "check with HQ now" in f.screen.message and not f.screen.busy, "check asked")
    yield Do(lambda: obs.__setitem__("ota_calls", [a for n, a in c.maint_calls if n == "ota_check"]), "note")
    yield Shot("it_updates")
    # SSH without IT's list of keys: the screen says so first, and offers neither a file nor "on"
    yield from menu(f, Action.SSH)
    yield Until(lambda: "no list of IT's keys" in f.screen.message and not f.screen.busy, "no list said")
    yield Do(lambda: obs.__setitem__("ssh_no_list_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("ssh_no_list_text", panel_text(f)), "note")
    yield Do(lambda: obs.__setitem__("ssh_no_list_tags", f.tags("item:") + f.tags("confirm")), "note")
    yield Shot("it_ssh_no_list")
    # with the list: off; a file with an option is refused; a good one is checked, two presses: on
    yield Do(lambda: put_allow_list(c), "IT's list is put on the card")
    yield Tap(lambda: f.tagged("it:refresh"), "refresh")
    yield Until(lambda: "SSH is off" in panel_text(f) and not f.screen.busy, "SSH status shown")
    yield Do(lambda: obs.__setitem__("ssh_status", panel_text(f)), "note")
    yield Shot("it_ssh")
    yield Do(lambda: obs.__setitem__("ssh_files", f.tags("item:")), "note")
    yield Do(lambda: obs.__setitem__("usb", str(c.usb_folder)), "note")
    yield Tap(lambda: f.tagged(f"item:{c.usb_folder}/bad.pub"), "the key file with an option")
    yield Until(lambda: "not accepted" in f.screen.message and not f.screen.busy, "refused")
    yield Do(lambda: obs.__setitem__("ssh_bad_message", f.screen.message), "note")
    yield Tap(lambda: f.tagged(f"item:{c.usb_folder}/it.pub"), "the good key file")
    yield Until(lambda: "checked" in f.screen.message and not f.screen.busy, "keys checked")
    yield Do(lambda: obs.__setitem__("ssh_checked_text", panel_text(f)), "note")
    yield Shot("it_ssh_checked")
    yield Tap(lambda: f.tagged("confirm"), "turn on once")
    yield Do(lambda: obs.__setitem__("ssh_first_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("ssh_after_first", ssh_files(c)), "note")
    yield Tap(lambda: f.tagged("confirm"), "turn on twice")
    yield Until(lambda: "SSH is on" in f.screen.message and not f.screen.busy, "SSH on")
    yield Do(lambda: obs.__setitem__("ssh_on_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("ssh_on_text", panel_text(f)), "note")
    yield Do(lambda: obs.__setitem__("ssh_after_on", ssh_files(c)), "note")
    yield Shot("it_ssh_on")
    yield Tap(lambda: f.tagged("it:ssh_off"), "turn off")
    yield Until(lambda: "turned off" in f.screen.message and not f.screen.busy, "SSH off")
    yield Do(lambda: obs.__setitem__("ssh_after_off", ssh_files(c)), "note")
    yield Do(
        lambda: obs.__setitem__("ssh_audit", [json.loads(d) for _a, n, d in c.it_audit if n == "ssh"]), "note"
    )
    # backup to the USB stick
    usb = f"usb:{c.usb_folder}"
    yield from menu(f, Action.BACKUP)
    yield Tap(lambda: f.tagged(f"item:{usb}"), "the USB stick")
    yield Until(lambda: "SHA-256" in panel_text(f) and not f.screen.busy, "backup done")
    yield Do(lambda: obs.__setitem__("backup_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("usb_files", sorted(p.name for p in c.usb_folder.iterdir())), "note")
    yield Shot("it_backup")
    # restore: pick the backup, the first press only asks, the second stages it and stops the kiosk
    yield from menu(f, Action.RESTORE)
    yield Until(lambda: bool(f.tags("item:")) and not f.screen.busy, "backups listed")
    yield Tap(lambda: f.tagged(f.tags("item:")[0]), "the backup")
    yield Tap(lambda: f.tagged("confirm"), "restore once")
    yield Do(lambda: obs.__setitem__("restore_first_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("staged_after_first", c.staged_restore), "note")
    yield Shot("it_restore_confirm")
    yield Tap(lambda: f.tagged("confirm"), "restore twice")
    yield Until(lambda: bool(stops), "the kiosk asked to stop")
    yield Do(lambda: obs.__setitem__("staged_after_second", c.staged_restore), "note")
    yield Do(lambda: obs.__setitem__("restore_stop_codes", list(stops)), "note")
    # restore from HQ: both backups listed beside the stick's; a damaged download stages nothing
    yield Do(lambda: setattr(c, "staged_restore", ""), "forget the stick's restore")
    yield from menu(f, Action.RESTORE)
    yield Until(lambda: bool(f.tags(f"item:{FAKE_HQ_GRANTED}")) and not f.screen.busy, "HQ's backups listed")
    yield Do(lambda: obs.__setitem__("restore_listed", panel_text(f)), "note")
    yield Tap(lambda: f.tagged(f"item:{FAKE_HQ_DAMAGED}"), "the damaged HQ backup")
    yield Tap(lambda: f.tagged("confirm"), "restore once")
    yield Do(lambda: setattr(c, "work_gate", threading.Event()), "hold the download")
    yield Tap(lambda: f.tagged("confirm"), "restore twice")
    yield Frames(QUIET_FRAMES, "frames while it downloads")
    yield Peek(lambda: obs.__setitem__("hq_while_working", [f.screen.busy, f.screen.message]), "note")
    yield Peek(lambda: c.work_gate.set() if c.work_gate else None, "the download ends")
    yield Until(lambda: not f.screen.busy and "does not match" in f.screen.message, "refused")
    yield Do(lambda: setattr(c, "work_gate", None), "no more holding")
    yield Do(lambda: obs.__setitem__("hq_damaged_message", f.screen.message), "note")
    yield Do(lambda: obs.__setitem__("hq_damaged_staged", c.staged_restore), "note")
    yield Do(lambda: obs.__setitem__("hq_damaged_stops", list(stops)), "note")
    yield Shot("it_restore_hq_refused")
    # the backup granted from the replaced kiosk: two presses, staged, the kiosk stops to apply it
    yield Tap(lambda: f.tagged(f"item:{FAKE_HQ_GRANTED}"), "the granted HQ backup")
    yield Tap(lambda: f.tagged("confirm"), "restore once")
    yield Tap(lambda: f.tagged("confirm"), "restore twice")
    yield Until(lambda: len(stops) == 2, "the kiosk asked to stop again")
    yield Do(lambda: obs.__setitem__("hq_staged", c.staged_restore), "note")
    # exit to desktop: two presses, then the app really stops
    yield Do(lambda: f.app.__dict__.pop("stop_kiosk", None), "the real stop from now on")
    yield from menu(f, Action.EXIT_TO_DESKTOP)
    yield Tap(lambda: f.tagged("confirm"), "exit once")
    yield Do(lambda: obs.__setitem__("exit_first_message", f.screen.message), "note")
    yield Tap(lambda: f.tagged("confirm"), "exit twice")
    yield Until(lambda: False, "the app stops")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("usb", type=Path)
    parser.add_argument("--timeout", type=float, default=SCRIPT_LIMIT_S)
    args = parser.parse_args()
    ui = UiSection(fullscreen=False, width=1024, height=600)
    configure_kivy(ui, fullscreen=False)
    from kiosk.ui.app import KioskApp

    controller = FakeController(answer_delay_s=0.05, language="en")
    controller.usb_folder = args.usb
    controller.it_audit = []
    controller.it_console = ssh_console(args.usb, args.out / "ssh-data", controller.it_audit)
    app = KioskApp(controller, ui, fullscreen=False, kiosk_settings=KioskSection(store_name="Corner Shop"))
    obs: dict[str, Any] = {}
    clock = [1000.0]
    stops: list[int] = []
    # the restore's stop is recorded, not done, so the script goes on to "exit to desktop"
    app.stop_kiosk = stops.append
    return run_script(
        app,
        args.out,
        args.timeout,
        lambda f: it_script(f, controller, obs, clock, stops),
        clock=clock,
        report=lambda: {"obs": obs, "exit_code": app.exit_code},
    )


if __name__ == "__main__":
    sys.exit(main())
