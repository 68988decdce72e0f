"""The image's systemd units and drop-ins, checked by systemd itself where it can.

``systemd-analyze verify`` is run on every unit, and any output fails the test: it exits 0 on parse
warnings (an unknown key is only "ignoring"). The units name programs that exist only on a kiosk
(``/opt/kiosk/.venv/bin/python``, ``/usr/local/sbin/kiosk-*``, Debian's ``loadkeys`` and
``plymouth``) and units from packages this machine may lack, so verify runs with ``--root`` on a
temporary tree: the units in ``etc/systemd/system``, this machine's own ``/usr/lib/systemd/system``
copied beside them (so ``sysinit.target``, ``nftables.service``... resolve as on a Debian system),
the image's own commands installed from the repository, and a stub ``#!/bin/sh`` for every other
program a unit runs. What verify proves is then exactly the units: their syntax, their keys, their
dependencies, and that each command they run is a file the image provides.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.settings import KioskSection
from tests.image.recipe import (
    REPO,
    ROOTFS,
    UNITS_DIR,
    exec_paths,
    manifest,
    need,
    unit_value,
    unit_values,
    units,
)

SYSTEM_UNITS = Path("/usr/lib/systemd/system")


@pytest.fixture(scope="module")
def verify_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SYSTEM_UNITS / "sysinit.target").is_file():
        pytest.fail(f"{SYSTEM_UNITS} has no sysinit.target: install systemd (scripts/install-debian-deps.sh)")
    root = tmp_path_factory.mktemp("unit-root")
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    installed = {e.dest: REPO / e.source for e in manifest()}
    for unit in units():
        shutil.copy(unit, system / unit.name)
        for program in exec_paths(unit):
            target = root / program.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if program in installed:
                shutil.copy(installed[program], target)
            else:
                target.write_text("#!/bin/sh\n", encoding="ascii")
            target.chmod(0o755)
    return root


def _verify(root: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    tool = need("systemd-analyze")
    paths = [str(root / "etc/systemd/system" / n) for n in names]
    return subprocess.run(
        [tool, "verify", "--man=no", f"--root={root}", *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_unit_verifies_without_a_word(verify_root: Path) -> None:
    done = _verify(verify_root, [u.name for u in units()])
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 and said == "", said


def test_the_check_is_not_blind_to_a_misspelt_key(verify_root: Path) -> None:
    """The harness must fail on a warning that verify exits 0 for (the reason output is the test)."""
    broken = verify_root / "etc/systemd/system/kiosk-broken.service"
    text = (verify_root / "etc/systemd/system/kiosk.service").read_text(encoding="utf-8")
    broken.write_text(text.replace("WatchdogSec=", "WatchdogSek="), encoding="utf-8")
    try:
        done = _verify(verify_root, [broken.name])
    finally:
        broken.unlink()
    assert "Unknown key 'WatchdogSek'" in done.stdout + done.stderr


def test_the_check_is_not_blind_to_a_missing_command(verify_root: Path) -> None:
    program = verify_root / "usr/local/sbin/kiosk-firewall"
    kept = program.read_bytes()
    program.unlink()
    try:
        done = _verify(verify_root, ["kiosk-firewall.service"])
    finally:
        program.write_bytes(kept)
        program.chmod(0o755)
    assert "kiosk-firewall is not executable" in done.stdout + done.stderr


#: drop-ins the image puts beside units of the OS (systemd's own): each is checked with the stock unit
STOCK_DROP_INS = sorted((ROOTFS / "etc/systemd/system").glob("*.service.d/*.conf"))


@pytest.mark.parametrize("drop_in", STOCK_DROP_INS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_drop_in_of_a_stock_unit_verifies_without_a_word(drop_in: Path, tmp_path: Path) -> None:
    """systemd-analyze verify reads a unit's drop-ins by name: the stock unit of this machine's
    systemd, with the image's drop-in beside it, must verify without a word (a misspelt key in a
    drop-in is only a warning on the kiosk, and the setting silently not there)."""
    unit = drop_in.parent.name.removesuffix(".d")
    stock = SYSTEM_UNITS / unit
    if not stock.is_file():
        pytest.fail(f"{stock} is missing: install the package that ships it (scripts/install-debian-deps.sh)")
    root = tmp_path / "root"
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    placed = root / "etc/systemd/system" / drop_in.parent.name
    placed.mkdir(parents=True)
    shutil.copy(drop_in, placed / drop_in.name)
    for program in exec_paths(stock):
        target = root / program.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("#!/bin/sh\n", encoding="ascii")
        target.chmod(0o755)

    def verify() -> str:
        done = subprocess.run(
            [
                need("systemd-analyze"),
                "verify",
                "--man=no",
                f"--root={root}",
                str(root / "usr/lib/systemd/system" / unit),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return (done.stdout + done.stderr).strip() + (
            "" if done.returncode == 0 else f" (exit {done.returncode})"
        )

    assert verify() == ""
    # and the check sees the drop-in: a misspelt key in it is reported
    with (placed / drop_in.name).open("a", encoding="utf-8") as f:
        f.write("RequiresMountFor=/nowhere\n")
    assert "Unknown key 'RequiresMountFor'" in verify()


def test_timesyncds_record_of_the_time_is_kept_on_the_data_partition(tmp_path: Path) -> None:
    """timesyncd sets the clock forward to its record (/var/lib/systemd/timesync/clock) when it
    starts. On the root's RAM overlay the record was lost at every reboot, and a Pi (no real-time
    clock) started at the image's build time until NTP answered. It is bound from the data
    partition, and timesyncd waits for that mount."""
    generated = _fstab_generator(tmp_path) / "var-lib-systemd-timesync.mount"
    assert generated.is_file(), "the image's fstab binds nothing on /var/lib/systemd/timesync"
    text = generated.read_text(encoding="utf-8")
    assert "What=/data/timesync" in text and "RequiresMountsFor=/data" in text, text
    drop_in = ROOTFS / "etc/systemd/system/systemd-timesyncd.service.d/kiosk-clock.conf"
    assert unit_values(drop_in, "RequiresMountsFor") == ["/var/lib/systemd/timesync"]
    # kiosk-storage makes the folder (on a new partition, and on one an earlier image seeded)
    storage = (ROOTFS / "usr/local/sbin/kiosk-storage").read_text(encoding="utf-8")
    assert re.search(r'^LATER="[^"]*\btimesync\b[^"]*"$', storage, re.MULTILINE)


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)\s*(s|min)?", text)
    assert match, f"cannot read {text!r} as a time span"
    return float(match.group(1)) * (60 if match.group(2) == "min" else 1)


def test_kiosk_service_is_a_watched_notify_service() -> None:
    unit = REPO / "image/systemd/kiosk.service"
    assert unit_value(unit, "Type") == "notify"
    assert unit_value(unit, "NotifyAccess") == "main"
    assert _seconds(unit_value(unit, "WatchdogSec") or "") > 15  # the app beats every 15 s
    assert unit_value(unit, "Restart") == "always"
    assert unit_value(unit, "User") == "kiosk"


def _unit_list(unit: Path, key: str) -> set[str]:
    """Every name ``key`` lists in ``unit``: list keys such as After= add up over their lines."""
    return {name for line in unit_values(unit, key) for name in line.split()}


def test_the_splash_stays_until_the_kiosk_takes_the_screen() -> None:
    """Plymouth's plymouth-quit.service ends the splash (without keeping its frame) once the boot
    reaches multi-user.target, a minute before the kiosk draws under emulation: a black screen in
    a qemu boot. kiosk.service conflicts with it, so the boot drops it; waiting for
    plymouth-quit-wait.service (the splash's end) would then wait for ever. The kiosk deactivates
    the splash before it starts (plymouthd keeps the display open, so its frame stays: quitting
    there, even with --retain-splash, gave the screen back to the kernel's blank console) and
    quits it after READY=1 (ExecStartPost runs once a Type=notify service is ready)."""
    unit = REPO / "image/systemd/kiosk.service"
    assert "plymouth-quit.service" in _unit_list(unit, "Conflicts")
    assert "plymouth-quit.service" in _unit_list(unit, "After")
    assert "plymouth-quit-wait.service" not in _unit_list(unit, "After")
    assert unit_value(unit, "Type") == "notify"
    assert _unit_list(unit, "ExecStartPre") >= {"-+/usr/bin/plymouth", "deactivate"}
    assert "quit" not in _unit_list(unit, "ExecStartPre")
    assert _unit_list(unit, "ExecStartPost") == {"-+/usr/bin/plymouth", "quit", "--retain-splash"}


#: Raspberry Pi OS's console-setup units, as Debian's console-setup-linux (1.221) orders them: what
#: matters here is when they run. keyboard-setup runs setupcon -k early; console-setup runs setupcon
#: once local file systems are up (when its cache is stale); either loads the full keymap, whose
#: Ctrl+Alt+Fn switches virtual terminals. Written only where this machine has no such unit.
CONSOLE_SETUP_UNITS = {
    "keyboard-setup.service": (
        "[Unit]\nDefaultDependencies=no\nBefore=local-fs-pre.target\nWants=local-fs-pre.target\n"
        "[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExit=yes\n"
        "[Install]\nWantedBy=sysinit.target\n"
    ),
    "console-setup.service": (
        "[Unit]\nDefaultDependencies=no\nAfter=console-screen.service kbd.service local-fs.target\n"
        "Before=display-manager.service\nRequiresMountsFor=/usr\n"
        "[Service]\nType=oneshot\nExecStart=/bin/true\nRemainAfterExit=yes\n"
        "[Install]\nWantedBy=multi-user.target\n"
    ),
}


def _enable(system: Path, unit: Path) -> None:
    for line in unit_values(unit, "WantedBy"):
        for target in line.split():
            wants = system / f"{target}.wants"
            wants.mkdir(exist_ok=True)
            (wants / unit.name).symlink_to(unit)


def test_the_keymap_lock_down_comes_after_every_full_keymap_without_an_ordering_cycle(
    verify_root: Path, tmp_path: Path
) -> None:
    """GIVEN Raspberry Pi OS's console-setup beside systemd's vconsole setup
    WHEN  the boot starts multi-user.target with the image's units enabled
    THEN  kiosk-lockdown loads its keymap after each of them (else their full keymap, with VT
          switching, replaces it) and the boot's transaction has no ordering cycle (systemd would
          drop a job to break it: verify says "Found ordering cycle")."""
    unit = UNITS_DIR / "kiosk-lockdown.service"
    assert {
        "systemd-vconsole-setup.service",
        "keyboard-setup.service",
        "console-setup.service",
    } <= _unit_list(unit, "After")
    root = tmp_path / "root"
    shutil.copytree(verify_root, root, symlinks=True)
    stock = root / "usr/lib/systemd/system"
    for name, text in CONSOLE_SETUP_UNITS.items():
        if not (stock / name).exists():
            (stock / name).write_text(text, encoding="ascii")
    system = root / "etc/systemd/system"
    for u in [*(system / u.name for u in units()), *(stock / n for n in CONSOLE_SETUP_UNITS)]:
        _enable(system, u)
    done = _verify(root, ["multi-user.target"])
    said = (done.stdout + done.stderr).strip()
    assert done.returncode == 0 and said == "", said


def _stop_waits() -> dict[str, float]:
    """The bounded waits of ``kiosk run``'s stop on SIGTERM (``Kiosk.stop``, kiosk/bootstrap.py), at
    their worst, from the constants the stop path uses."""
    from drivers.camera import scanner as camera
    from drivers.scanners import common as hand_scanners
    from kiosk import bootstrap, ota_link, printing, product_images
    from kiosk.payments import reach
    from kiosk.settings import ScannersSection

    largest = next(m.le for m in KioskSection.model_fields["stop_timeout_s"].metadata if hasattr(m, "le"))
    # one hand scanner per [scanners] device setting: a keyboard wedge and a serial one
    devices = {f for f in ScannersSection.model_fields if f.endswith(("_device", "_port"))}
    assert devices == {"hid_device", "serial_port"}, "a new kind of hand scanner: count its stop below"
    return {
        "update link": ota_link.STOP_JOIN_S,
        "gateway watch": reach.STOP_TIMEOUT_S,
        "camera": camera.STOP_TIMEOUT_S,
        "hand scanners": len(devices) * hand_scanners.STOP_TIMEOUT_S,
        "checkout workers, together": float(largest),
        "product images": product_images.STOP_TIMEOUT_S,
        "sync": bootstrap.SYNC_STOP_S,
        "printing": printing.STOP_TIMEOUT_S,
    }


#: what the stop does that no timeout bounds: closing the printer's port, the GPIO and the store,
#: the UI's last frame and the interpreter's exit
STOP_MARGIN_S = 5.0


def _reads_the_settings(unit: Path) -> bool:
    """Whether a unit's commands read the kiosk's settings: named on an Exec line, or read by one of
    the image's own commands the unit runs (its ``KIOSK_CONFIG`` default)."""
    installed = {e.dest: REPO / e.source for e in manifest()}
    if "/etc/kiosk/kiosk.toml" in "\n".join(
        unit_values(unit, "ExecStart") + unit_values(unit, "ExecStartPre")
    ):
        return True
    return any(
        program in installed and "/etc/kiosk/kiosk.toml" in installed[program].read_text(encoding="utf-8")
        for program in exec_paths(unit)
    )


def test_every_unit_that_reads_the_settings_waits_for_the_first_boot() -> None:
    """kiosk-firstboot turns the image's id = "@KIOSK_ID@" into the kiosk's id; the settings are
    invalid until then. kiosk-firewall ran beside it on the first boot, `kiosk firewall-hosts` failed
    on the placeholder and HQ stayed blocked until the timer's first run two minutes later. (That
    the orderings make no cycle is test_every_unit_verifies_without_a_word: verify reports one.)"""
    readers = {u.name for u in units() if u.name != "kiosk-firstboot.service" and _reads_the_settings(u)}
    assert {
        "kiosk.service",
        "kiosk-ota.service",
        "kiosk-firewall.service",
        "kiosk-os-update.service",
    } <= readers
    late = sorted(n for n in readers if "kiosk-firstboot.service" not in _unit_list(UNITS_DIR / n, "After"))
    assert late == [], f"not ordered after kiosk-firstboot.service: {late}"


def test_the_stop_timeout_covers_the_apps_clean_shutdown() -> None:
    """kiosk run stops on SIGTERM by stopping each part in turn, each wait bounded (the checkout's
    three workers share one deadline, [kiosk] stop_timeout_s); systemd must not SIGKILL it before
    the longest such stop has run, or a charge in flight is cut off unparked."""
    unit = REPO / "image/systemd/kiosk.service"
    assert unit_value(unit, "KillSignal") == "SIGTERM"
    assert unit_value(unit, "KillMode") == "mixed"
    waits = _stop_waits()
    worst = sum(waits.values()) + STOP_MARGIN_S
    assert _seconds(unit_value(unit, "TimeoutStopSec") or "") >= worst, waits


def test_every_part_the_kiosk_stops_is_counted_in_the_stop_timeout() -> None:
    """Kiosk.stop's calls, read from its source: a part added there without a bounded wait counted in
    ``_stop_waits`` fails here."""
    import inspect

    from kiosk.bootstrap import Kiosk

    source = inspect.getsource(Kiosk.stop)
    calls = set(re.findall(r"(\w+)\.(?:stop|close)\(", source))
    counted = {
        "ota",
        "gateway_watch",
        "scanner",
        "product_scanner",
        "controller",
        "images",
        "sync",
        "printer",
    }
    not_waiting = {"indicators", "inputs", "db"}  # GPIO and sqlite closes: no thread to wait for
    assert calls == counted | not_waiting, calls
    assert len(_stop_waits()) == len(counted)


def test_the_commands_the_units_run_exist_in_the_cli() -> None:
    """`python -m ota boot-check` and friends: a renamed subcommand would fail only on a Pi."""
    for unit in units():
        for line in re.findall(r"^Exec\w+=(.*)$", unit.read_text(encoding="utf-8"), re.MULTILINE):
            match = re.search(r"-m (ota|kiosk) ([a-z-]+)", line)
            if match is None:
                continue
            module, command = match.groups()
            done = subprocess.run(
                [sys.executable, "-m", module, command, "--help"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, f"{unit.name}: {module} {command}: {done.stderr[-300:]}"


STOCK = {
    "system.conf.d": "system.conf",
    "journald.conf.d": "journald.conf",
    "logind.conf.d": "logind.conf",
    "timesyncd.conf.d": "timesyncd.conf",
}


@pytest.mark.parametrize("drop_in", sorted((ROOTFS / "etc/systemd").glob("*.conf.d/*.conf")), ids=str)
def test_a_drop_in_sets_only_keys_systemd_documents(drop_in: Path) -> None:
    """Drop-ins cannot be verified by systemd-analyze: each key must be one the stock file of this
    machine's systemd lists (as ``#Key=default``) in the same section."""
    stock = Path("/etc/systemd") / STOCK[drop_in.parent.name]
    if not stock.is_file():
        pytest.fail(f"{stock} is missing: install systemd and systemd-timesyncd")
    known: dict[str, str] = {}
    section = ""
    for line in stock.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.strip()
        elif m := re.match(r"^#?([A-Z][A-Za-z]+)=", line):
            known[m.group(1)] = section
    section = ""
    for line in drop_in.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            section = line.strip()
        elif m := re.match(r"^([A-Za-z]+)=", line):
            assert known.get(m.group(1)) == section, f"{drop_in.name}: {m.group(1)} is not a {section} key"


def test_the_ssh_minute_check_does_not_wait_for_network_time() -> None:
    """systemd.timer(5): a timer with OnCalendar= is ordered after time-set.target and
    time-sync.target, and the image enables systemd-time-wait-sync, so without NTP time-sync.target
    never comes: SSH's minute check never ran, and kiosk-ssh's blocking start of it hung
    kiosk-ssh.service. A monotonic timer has no such order, and kiosk-ssh does not wait for it."""
    timer = UNITS_DIR / "kiosk-ssh-expire.timer"
    assert unit_value(timer, "OnCalendar") is None
    assert unit_value(timer, "OnActiveSec") == "1min"
    assert unit_value(timer, "OnUnitActiveSec") == "1min"
    assert not re.search(r"time-(set|sync)\.target", timer.read_text(encoding="utf-8").split("[Timer]")[0])
    ssh = (ROOTFS / "usr/local/sbin/kiosk-ssh").read_text(encoding="utf-8")
    starts = re.findall(r'"\$SYSTEMCTL" (.*)start kiosk-ssh-expire\.timer', ssh)
    assert starts == ["--no-block "], starts


def test_the_hardware_watchdog_fits_the_pis_chip() -> None:
    conf = (ROOTFS / "etc/systemd/system.conf.d/kiosk-watchdog.conf").read_text(encoding="utf-8")
    for key in ("RuntimeWatchdogSec", "RebootWatchdogSec"):
        found = re.search(rf"^{key}=(.+)$", conf, re.MULTILINE)
        assert found, f"{key} is not set (RebootWatchdogSec's default, 10 min, does not fit the chip either)"
        # bcm2835-wdt's longest timeout: a longer one is refused (EINVAL, and systemd disarms the
        # watchdog for the reboot) or, on kernels that accept it, cut to the value mod 16 s
        assert 0 < _seconds(found.group(1)) <= 15, key
    assert "dtparam=watchdog=on" in (REPO / "image/boot/config-kiosk.txt").read_text(encoding="utf-8")


def _megabytes(text: str) -> float:
    match = re.fullmatch(r"(\d+)([MG])", text)
    assert match, f"cannot read {text!r} as a size in M or G"
    return float(match.group(1)) * (1024 if match.group(2) == "G" else 1)


def test_the_journal_is_kept_on_the_data_partition_within_limits() -> None:
    """On the smallest data partition kiosk-storage accepts, the journal's limit and the room it
    leaves free add up to well under the partition (the release slots and the store need the rest),
    and it leaves more free than maintenance mode's "nearly full" mark. SystemKeepFree=1G on a 1 GB
    partition left the journal almost nothing."""
    from kiosk.maintenance.diagnostics import LOW_DISK_MB

    conf = (ROOTFS / "etc/systemd/journald.conf.d/kiosk.conf").read_text(encoding="utf-8")
    keys = dict(re.findall(r"^(\w+)=(.*)$", conf, re.MULTILINE))
    assert keys["Storage"] == "persistent"
    storage = (ROOTFS / "usr/local/sbin/kiosk-storage").read_text(encoding="utf-8")
    found = re.search(r"^MIN_MB=\$\{KIOSK_DATA_MIN_MB:-(\d+)\}$", storage, re.MULTILINE)
    assert found, "kiosk-storage's minimum data partition"
    smallest = float(found.group(1))
    max_use, keep_free = _megabytes(keys["SystemMaxUse"]), _megabytes(keys["SystemKeepFree"])
    assert max_use <= smallest / 10
    assert keep_free > LOW_DISK_MB
    assert max_use + keep_free <= smallest / 2
    assert _megabytes(keys["SystemMaxFileSize"]) <= max_use / 8  # several files: vacuuming is gradual
    # SyncIntervalSec's default is 5 min: setting it to that changes nothing; and only CRIT, ALERT
    # and EMERG are synced at once (journald.conf(5)), not ERR
    assert keys.get("SyncIntervalSec") not in ("5min", "5m", "300", "300s")
    assert "ERR and worse" not in conf
    fstab = (REPO / "image/boot/fstab-kiosk").read_text(encoding="utf-8")
    assert re.search(r"^/data/journal\s+/var/log/journal\s+none\s+bind", fstab, re.MULTILINE)


def _fstab_generator(tmp_path: Path) -> Path:
    """The mount units systemd's own fstab generator makes of the image's fstab lines."""
    generator = Path("/usr/lib/systemd/system-generators/systemd-fstab-generator")
    if not generator.is_file():
        pytest.fail(f"{generator} is missing: install systemd (scripts/install-debian-deps.sh)")
    out = tmp_path / "normal"
    for d in ("normal", "early", "late"):
        (tmp_path / d).mkdir()
    done = subprocess.run(
        [str(generator), str(out), str(tmp_path / "early"), str(tmp_path / "late")],
        env={
            "SYSTEMD_FSTAB": str(REPO / "image/boot/fstab-kiosk"),
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        },  # the fsck is added only where fsck.ext4 is found,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_the_data_partition_is_checked_only_after_kiosk_storage_has_done_with_it(tmp_path: Path) -> None:
    """/data waits for both kiosk-storage (which mounts the partition, to seed it or to see it is
    seeded) and the partition's fsck. Unordered, the two ran side by side, and the one that lost
    ("in use", "already mounted") failed /data and the boot with it: emergency mode, a dark screen.
    Found in review; the fsck unit's name is the one systemd's fstab generator gives it."""
    data_mount = (_fstab_generator(tmp_path) / "data.mount").read_text(encoding="utf-8")
    fscks = set(re.findall(r"^After=(systemd-fsck@\S+\.service)$", data_mount, re.MULTILINE))
    assert fscks, f"the generator gave /data no fsck: {data_mount}"
    before = {u for line in unit_values(UNITS_DIR / "kiosk-storage.service", "Before") for u in line.split()}
    assert fscks <= before, f"kiosk-storage.service is not ordered before {fscks - before}"


def _firings(calendar: str, base: str, count: int) -> list[datetime]:
    """When systemd's own calendar parser says ``calendar`` elapses after ``base`` (UTC)."""
    done = subprocess.run(
        [need("systemd-analyze"), "calendar", f"--iterations={count}", f"--base-time={base} UTC", calendar],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "TZ": "UTC", "SYSTEMD_COLORS": "0"},
    )
    found = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", done.stdout)
    return [datetime.fromisoformat(f) for f in found]


@pytest.mark.parametrize("window", ["02:30-03:00", "02:00-05:00", "23:50-00:20", "04:05-04:25"])
def test_the_os_update_timer_fires_inside_every_window_of_twenty_minutes_or_more(window: str) -> None:
    """A run counts when it starts inside the window even at the timer's largest random delay.
    The timer was hourly with 20 minutes of spread: a window such as 02:30-03:00 never saw a run,
    so the kiosk's OS was never updated. Found in review."""
    timer = UNITS_DIR / "kiosk-os-update.timer"
    calendar, delay = unit_value(timer, "OnCalendar"), unit_value(timer, "RandomizedDelaySec")
    assert calendar is not None and delay is not None
    start_s, end_s = window.split("-")
    start = datetime.fromisoformat(f"2026-12-04 {start_s}:00")
    end = datetime.fromisoformat(f"2026-12-04 {end_s}:00")
    if end <= start:
        end += timedelta(days=1)
    largest = timedelta(seconds=_seconds(delay))
    fired = _firings(calendar, (start - timedelta(hours=2)).isoformat(sep=" "), 60)
    assert fired, f"systemd-analyze gave no elapse times for {calendar}"
    assert any(start <= t and t + largest < end for t in fired), (
        f"no run of {calendar} (+{delay}) in {window}"
    )
