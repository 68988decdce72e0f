"""The recipe is complete: every file it installs is in the repository with the right mode and owner,
every file of image/ is installed, the units' commands are installed, the stage and the build name
only files that exist, and the settings, firewall, udev rules and boot fragments say what they must.
"""

from __future__ import annotations

import configparser
import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from kiosk.settings import load_settings
from tests.image.recipe import IMAGE, REPO, ROOTFS, UNITS_DIR, Entry, exec_paths, manifest, need, units

ENTRIES = manifest()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.dest)
def test_every_installed_file_exists_with_a_mode_that_fits(entry: Entry) -> None:
    source = REPO / entry.source
    assert source.is_file(), f"{entry.source} is named in image/files.manifest but missing"
    executable = bool(source.stat().st_mode & stat.S_IXUSR)
    if entry.mode & 0o111:
        assert executable, (
            f"{entry.source} is installed {entry.mode:o} but is not executable in the repository"
        )
    assert not entry.mode & 0o002, f"{entry.dest}: world-writable"
    assert entry.dest.startswith("/") and ".." not in entry.dest
    if entry.dest.startswith("/etc/systemd/system/"):
        assert (entry.mode, entry.owner) == (0o644, "root")
    if entry.dest.startswith("/usr/local/sbin/"):
        assert (entry.mode, entry.owner) == (0o755, "root")


def test_the_settings_are_roots_to_change_the_kiosks_to_read_and_never_overwritten() -> None:
    """They name the hosts the firewall lets the kiosk reach (kiosk firewall-hosts): were they the
    kiosk user's, whoever controls the app could open the firewall to any host."""
    by_dest = {e.dest: e for e in ENTRIES}
    toml = by_dest["/etc/kiosk/kiosk.toml"]
    assert (toml.mode, toml.owner, toml.group, toml.keep) == (0o640, "root", "kiosk", True)
    env = by_dest["/etc/kiosk/display.env"]
    assert env.keep and not env.mode & 0o007


def test_every_file_of_the_image_is_installed_where_its_folder_says() -> None:
    sources = {e.source: e.dest for e in ENTRIES}
    for path in sorted([*UNITS_DIR.iterdir(), *(p for p in ROOTFS.rglob("*") if p.is_file())]):
        rel = path.relative_to(REPO).as_posix()
        assert rel in sources, f"{rel} is in image/ but not in image/files.manifest"
        if path.is_relative_to(ROOTFS):
            assert sources[rel] == "/" + path.relative_to(ROOTFS).as_posix()
        else:
            assert sources[rel] == f"/etc/systemd/system/{path.name}"


def stage_packages() -> set[str]:
    """The names in the stage's package list, as pi-gen reads it: '#' starts a comment."""
    text = (IMAGE / "pi-gen/stage-kiosk/00-kiosk/00-packages").read_text(encoding="utf-8")
    return {word for line in text.splitlines() for word in line.split("#", 1)[0].split()}


def test_overlayroots_initramfs_script_gets_the_tools_it_runs() -> None:
    # overlayroot's init-bottom script runs grep; initramfs-tools puts grep in the initramfs only
    # through busybox. Without it a qemu boot of the image came up on the writable root.
    assert {"overlayroot", "initramfs-tools", "busybox"} <= stage_packages()


def test_every_command_a_unit_runs_is_installed_or_comes_with_the_kiosk() -> None:
    installed = {e.dest: e for e in ENTRIES}
    packages = stage_packages()
    for unit in units():
        for program in exec_paths(unit):
            if program.startswith("/usr/local/"):
                assert program in installed and installed[program].mode == 0o755, f"{unit.name}: {program}"
            elif program.startswith("/opt/kiosk/"):
                assert program.endswith("/venv/bin/python") or program == "/opt/kiosk/.venv/bin/python"
            else:  # Debian's: the stage installs its package
                owner = {"/usr/bin/loadkeys": "kbd", "/usr/bin/plymouth": "plymouth"}[program]
                assert owner in packages, f"{unit.name}: {program} needs the package {owner}"


def _enabled_by_installer() -> set[str]:
    text = (IMAGE / "install-kiosk.sh").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"systemctl enable ([^\n]+)", text)
    assert match
    return set(match.group(1).split())


def test_every_unit_is_enabled_or_started_by_one_that_is() -> None:
    enabled = _enabled_by_installer()
    # kiosk-ssh starts (and stops) kiosk-ssh-expire.timer itself while SSH is on
    started_by = {
        "kiosk-os-update.service": "kiosk-os-update.timer",
        "kiosk-ssh-expire.timer": "kiosk-ssh.service",
        "kiosk-ssh-expire.service": "kiosk-ssh-expire.timer",
    }
    ssh = (ROOTFS / "usr/local/sbin/kiosk-ssh").read_text(encoding="utf-8")
    assert '"$SYSTEMCTL" --no-block start kiosk-ssh-expire.timer' in ssh
    for unit in units():
        name: str | None = unit.name
        for _ in range(len(started_by) + 1):
            if name is None or name in enabled:
                break
            name = started_by.get(name)
        assert name in enabled, f"{unit.name} is never enabled nor started"
    for name in enabled:
        if name.startswith("kiosk"):
            assert (UNITS_DIR / name).is_file(), f"install-kiosk.sh enables {name}, which image/systemd lacks"


def test_the_stage_and_the_build_name_only_files_that_exist() -> None:
    stage = (IMAGE / "pi-gen/stage-kiosk/00-kiosk/01-run.sh").read_text(encoding="utf-8")
    named = re.findall(r"\$\{FILES\}/kiosk/([\w./-]+)", stage)
    assert named, "the stage names no file of the repository"
    for rel in named:
        assert (REPO / rel).is_file(), f"01-run.sh uses {rel}, which does not exist"
    build = (IMAGE / "build.sh").read_text(encoding="utf-8")
    docs = set(re.findall(r'"\$REPO/(docs/[\w.-]+)"', build))
    needed = {e.source for e in ENTRIES if e.source.startswith("docs/")}
    assert needed <= docs, f"build.sh must carry {needed - docs} into the stage"
    assert "install-kiosk.sh" in stage


def test_the_settings_template_is_valid_once_first_boot_names_the_kiosk(tmp_path: Path) -> None:
    text = (ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8")
    assert 'id = "@KIOSK_ID@"' in text
    config = tmp_path / "kiosk.toml"
    config.write_text(text.replace("@KIOSK_ID@", "kiosk-1a2b3c4d"), encoding="utf-8")
    config.chmod(0o600)
    settings = load_settings(config)
    assert settings.kiosk.id == "kiosk-1a2b3c4d"
    assert str(settings.printer.device) == "/dev/kiosk-printer"
    assert str(settings.ota.trusted_root) == "/etc/kiosk/ota-root.json"
    # the image always waits for network time before the first payment, whether or not
    # systemd-timesyncd's run folder exists when the kiosk starts (it may not yet, or be restarting)
    assert settings.kiosk.require_time_sync == "yes"


def test_config_txt_gives_the_printer_the_uart_and_turns_the_camera_on() -> None:
    lines = set((IMAGE / "boot/config-kiosk.txt").read_text(encoding="utf-8").splitlines())
    assert {"enable_uart=1", "dtoverlay=disable-bt", "camera_auto_detect=1", "dtparam=watchdog=on"} <= lines
    assert "auto_initramfs=1" in lines  # overlayroot lives in the initramfs


def test_the_data_partition_is_mounted_for_durability() -> None:
    rows = [
        line.split()
        for line in (IMAGE / "boot/fstab-kiosk").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(len(r) == 6 for r in rows)
    data = next(r for r in rows if r[1] == "/data")
    assert (data[0], data[2]) == ("LABEL=KIOSKDATA", "ext4")
    options = set(data[3].split(","))
    assert {"noatime", "data=journal", "barrier=1", "errors=remount-ro"} <= options
    assert "x-systemd.requires=kiosk-storage.service" in options
    assert any(o.startswith("commit=") for o in options)
    # the label exists only once kiosk-storage has formatted the partition: the device wait must
    # last as long as kiosk-storage may (formatting a large, slow card can take over a minute)
    unit = (UNITS_DIR / "kiosk-storage.service").read_text(encoding="utf-8")
    assert "TimeoutStartSec=10min" in unit
    assert "x-systemd.device-timeout=10min" in options
    binds = {r[1]: r[0] for r in rows if "bind" in r[3].split(",")}
    assert binds == {
        "/opt/kiosk": "/data/opt-kiosk",
        "/var/lib/kiosk": "/data/lib-kiosk",
        "/etc/kiosk": "/data/etc-kiosk",
        "/var/log/journal": "/data/journal",
        "/var/lib/systemd/timesync": "/data/timesync",
    }
    # kiosk-storage makes and seeds those folders: tests/image/test_kiosk_storage.py runs it


def test_the_firewall_ruleset_is_valid_nftables() -> None:
    """nft -c parses and checks the ruleset without loading it. It needs CAP_NET_ADMIN even for a
    check, so a non-root run does it in a user and network namespace of its own (unshare -rn)."""
    nft = need("nft")
    ruleset = str(ROOTFS / "etc/nftables.conf")
    argv = [nft, "-c", "-f", ruleset] if os.geteuid() == 0 else ["unshare", "-rn", nft, "-c", "-f", ruleset]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_firewall_drops_by_default_and_names_the_sets_its_scripts_fill() -> None:
    text = (ROOTFS / "etc/nftables.conf").read_text(encoding="utf-8")
    chains = dict(re.findall(r"chain (\w+) \{\s*type filter hook \w+ priority filter; policy (\w+);", text))
    assert chains == {"input": "drop", "forward": "drop", "output": "drop"}
    for name in ("allowed4", "allowed6", "ssh_ports"):
        assert f"set {name} {{" in text
    firewall = (ROOTFS / "usr/local/sbin/kiosk-firewall").read_text(encoding="utf-8")
    assert "inet kiosk allowed$family" in firewall and "for family in 4 6" in firewall
    # what kiosk-firewall really puts in them: tests/image/test_firewall_netns.py
    assert "inet kiosk ssh_ports" in (ROOTFS / "usr/local/sbin/kiosk-ssh").read_text(encoding="utf-8")
    for port in ("53", "123", "67"):
        assert re.search(rf"dport[^\n]*\b{port}\b[^\n]*accept", text), f"port {port} not allowed out"


UDEV_KEYS = {
    "match": {"SUBSYSTEM", "KERNEL", "ATTR", "ENV", "SUBSYSTEMS", "ATTRS", "DRIVERS", "ACTION", "KERNELS"},
    "assign": {"SYMLINK", "GROUP", "MODE", "OWNER", "ENV", "TAG", "RUN", "OPTIONS"},
}
_UDEV_TOKEN = re.compile(r'^([A-Z]+)(\{[^}]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$')
UDEV_RULES = ROOTFS / "etc/udev/rules.d/70-kiosk-devices.rules"


def _udev_rule(line: str) -> tuple[dict[str, str], dict[str, str]]:
    """A rule line's matches and assignments (KEY or KEY{attr} -> value); fails on a malformed token."""
    matches: dict[str, str] = {}
    assigned: dict[str, str] = {}
    for token in (t.strip() for t in line.split(", ")):
        m = _UDEV_TOKEN.match(token)
        assert m, f"not a udev token: {token!r}"
        key, attr, op, value = m.groups()
        kind = "match" if op in ("==", "!=") else "assign"
        assert key in UDEV_KEYS[kind], f"{key}{op}: not a {kind} key"
        (matches if kind == "match" else assigned)[key + (attr or "")] = value
    return matches, assigned


def _udev_rules() -> list[tuple[dict[str, str], dict[str, str]]]:
    lines = UDEV_RULES.read_text(encoding="utf-8").splitlines()
    return [_udev_rule(line) for line in lines if line.strip() and not line.startswith("#")]


def test_udev_rules_are_well_formed_and_name_each_device() -> None:
    """systemd 252 (Debian 12) has no `udevadm verify` (it came in 254), so the rules are checked
    here: each token is KEY{attr}OP"value" with a key udev knows, matched with == / != and assigned
    with = / += / :=."""
    names: dict[str, set[str]] = {}
    for _matches, assigned in _udev_rules():
        assert {"SYMLINK", "GROUP", "MODE"} <= assigned.keys(), assigned
        assert assigned["MODE"] == "0660"
        names.setdefault(assigned["SYMLINK"], set()).add(assigned["GROUP"])
    assert names == {
        "kiosk-printer": {"dialout"},
        "kiosk-usb-printer": {"dialout"},
        "kiosk-usb-serial": {"dialout"},
        "kiosk-scanner": {"dialout"},
        "kiosk-camera": {"video"},
    }
    kiosk = (UNITS_DIR / "kiosk.service").read_text(encoding="utf-8")
    groups = re.search(r"^SupplementaryGroups=(.*)$", kiosk, re.MULTILINE)
    assert groups and {"dialout", "video"} <= set(groups.group(1).split())


def test_each_printer_name_is_one_kind_of_device_the_settings_can_open() -> None:
    """/dev/kiosk-printer was both the UART (always there with enable_uart=1) and any USB printer-class
    device, with the same link priority: which one it named was chance, and a usblp device needs
    transport "usb" where the image says "serial". Now each name has one rule and one kind."""
    claimed: dict[str, list[tuple[str, str]]] = {}
    for matches, assigned in _udev_rules():
        claimed.setdefault(assigned["SYMLINK"], []).append((matches["SUBSYSTEM"], matches["KERNEL"]))
    assert claimed["kiosk-printer"] == [("tty", "ttyAMA0")]
    assert claimed["kiosk-usb-printer"] == [("usbmisc", "lp[0-9]*")]
    assert claimed["kiosk-usb-serial"] == [("tty", "ttyUSB[0-9]*")]
    settings = tomllib.loads((ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8"))["printer"]
    assert (settings["transport"], settings["device"]) == ("serial", "/dev/kiosk-printer")
    # the pinning example the rules file gives a site is a rule udev reads, of higher link priority
    example = next(
        line.lstrip("# ")
        for line in UDEV_RULES.read_text(encoding="utf-8").splitlines()
        if "link_priority" in line
    )
    matches, assigned = _udev_rule(example)
    assert {"ENV{ID_VENDOR_ID}", "ENV{ID_MODEL_ID}"} <= matches.keys()
    assert assigned["SYMLINK"] == "kiosk-usb-serial" and assigned["OPTIONS"].startswith("link_priority=")
    printer_doc = (REPO / "docs/printer.md").read_text(encoding="utf-8")
    for told in ('device = "/dev/kiosk-usb-printer"', 'device = "/dev/kiosk-usb-serial"', "ID_VENDOR_ID"):
        assert told in printer_doc, told


def test_sshd_takes_keys_only_from_it_and_never_root() -> None:
    conf = dict(
        line.split(None, 1)
        for line in (ROOTFS / "etc/ssh/sshd_config.d/kiosk.conf").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert conf["PasswordAuthentication"] == "no"
    assert conf["KbdInteractiveAuthentication"] == "no"
    assert conf["AuthenticationMethods"] == "publickey"
    assert conf["PermitRootLogin"] == "no"
    assert conf["AllowGroups"] == "kiosk-it"


#: the origins unattended-upgrades' own 50unattended-upgrades lists (Debian 13's package, 2.12)
DEBIAN_UNATTENDED_DEFAULT = """Unattended-Upgrade::Origins-Pattern {
        "origin=Debian,codename=${distro_codename},label=Debian";
        "origin=Debian,codename=${distro_codename},label=Debian-Security";
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
};
"""


def _unattended_origins(tmp: Path) -> list[str]:
    """The origins apt's own parser makes of the package's file and then ours, read in that order
    as on the image (apt.conf.d, lexical): lists add up unless a file clears them."""
    parts = tmp / "apt.conf.d"
    parts.mkdir()
    (parts / "50unattended-upgrades").write_text(DEBIAN_UNATTENDED_DEFAULT, encoding="utf-8")
    ours = ROOTFS / "etc/apt/apt.conf.d/52kiosk-unattended-upgrades"
    (parts / ours.name).write_text(ours.read_text(encoding="utf-8"), encoding="utf-8")
    conf = tmp / "apt.conf"
    conf.write_text(f'Dir::Etc::Parts "{parts}";\nDir::Etc::main "/dev/null";\n', encoding="utf-8")
    dump = subprocess.run(
        ["apt-config", "dump", "Unattended-Upgrade::Origins-Pattern"],
        env={"APT_CONFIG": str(conf), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return re.findall(r'^Unattended-Upgrade::Origins-Pattern:: "([^"]+)";$', dump, re.MULTILINE)


def test_sysrq_is_off_and_apt_takes_debian_security_and_the_pi_archive_only(tmp_path: Path) -> None:
    sysctl = (ROOTFS / "etc/sysctl.d/90-kiosk.conf").read_text(encoding="utf-8")
    assert re.search(r"^kernel\.sysrq = 0$", sysctl, re.MULTILINE)
    # the Raspberry Pi archive has no security suite and is the only source of the Pi's kernel
    # (ADR 0017); the smoke checks these with unattended-upgrades' own matching in a built root
    assert _unattended_origins(tmp_path) == [
        "origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
        "origin=Raspberry Pi Foundation,codename=${distro_codename},label=Raspberry Pi Foundation",
    ]
    installer = (IMAGE / "install-kiosk.sh").read_text(encoding="utf-8")
    for masked in ("apt-daily.timer", "apt-daily-upgrade.timer", "getty@tty1.service", "ctrl-alt-del.target"):
        assert masked in installer.split("systemctl mask", 1)[1], f"{masked} is not masked"


def test_the_boot_splash_is_the_kiosks_picture_on_the_attract_screens_blue() -> None:
    # the spinner theme was a throbber on black: after `plymouth deactivate` the screen went black
    # until the kiosk's first frame. The kiosk's theme leaves its name on the brand blue.
    from PIL import Image

    from kiosk.ui import theme

    folder = ROOTFS / "usr/share/plymouth/themes/kiosk"
    config = configparser.ConfigParser(interpolation=None)
    config.read(folder / "kiosk.plymouth", encoding="utf-8")
    assert config["Plymouth Theme"]["ModuleName"] == "two-step"
    two_step = config["two-step"]
    # two-step takes watermark.png and the spinner's frames from ImageDir: the theme's own folder
    assert two_step["ImageDir"] == "/usr/share/plymouth/themes/kiosk"
    brand = "0x" + "".join(f"{round(c * 255):02x}" for c in theme.BRAND[:3])
    assert two_step["BackgroundStartColor"] == two_step["BackgroundEndColor"] == brand
    with Image.open(folder / "watermark.png") as picture:
        assert picture.format == "PNG" and picture.mode == "RGBA"
        assert picture.getchannel("A").getbbox() is not None, "the picture is empty"
        width, height = picture.size
    # on the 800 x 480 touch display it fits, and ends above the spinner (two-step puts an image's
    # top left at (screen - image) * alignment; the spinner theme's throbber is 32 high, 64 leaves room)
    assert width <= 800
    bottom = (480 - height) * float(two_step["WatermarkVerticalAlignment"]) + height
    spinner_top = (480 - 64) * float(two_step["VerticalAlignment"])
    assert bottom < spinner_top, (bottom, spinner_top)
    installed = {e.dest for e in manifest()}
    assert {
        "/usr/share/plymouth/themes/kiosk/kiosk.plymouth",
        "/usr/share/plymouth/themes/kiosk/watermark.png",
        "/etc/initramfs-tools/hooks/kiosk-splash",
    } <= installed
    install = (IMAGE / "install-kiosk.sh").read_text(encoding="utf-8")
    assert "plymouth-set-default-theme kiosk" in install
