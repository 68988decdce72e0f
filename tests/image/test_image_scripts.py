"""The image's shell scripts: shellcheck on every one, and the ones that can run here, run.

Every file under image/ and scripts/ that is a shell script (a ``.sh`` name, a sh/bash ``#!`` line, or
a ``# shellcheck shell=`` line for the fragments pi-gen sources) goes through shellcheck; a missing
shellcheck fails (scripts/install-debian-deps.sh installs it), it never skips. The scripts that talk
to the system (nft, systemctl, getent) are run with those programs replaced by recorders, the only
fakes here: what they were asked to do is the result.
"""

from __future__ import annotations

import fcntl
import getpass
import os
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from tests.image.recipe import IMAGE, REPO, ROOTFS, UNITS_DIR, unit_values

SBIN = ROOTFS / "usr/local/sbin"


def _is_shell(path: Path) -> bool:
    if path.suffix == ".sh":
        return True
    try:
        head = path.read_bytes()[:200].split(b"\n", 1)[0]
    except OSError:
        return False
    return head.startswith((b"#!/bin/sh", b"#!/bin/bash", b"#!/usr/bin/env bash", b"#!/usr/bin/env sh")) or (
        head.startswith(b"# shellcheck shell=")
    )


SCRIPTS = sorted(
    p for top in (IMAGE, REPO / "scripts") for p in top.rglob("*") if p.is_file() and _is_shell(p)
)


def test_the_script_list_holds_every_image_command() -> None:
    names = {p.relative_to(REPO).as_posix() for p in SCRIPTS}
    expected = {
        "image/install-kiosk.sh",
        "image/build.sh",
        "image/check-hq-url.sh",
        "image/set-hq-url.sh",
        "image/set-it-keys.sh",
        "image/smoke.sh",
        "image/boot/kiosk-cmdline.sh",
        "image/pi-gen/config",
        "image/pi-gen/stage-kiosk/prerun.sh",
        "image/pi-gen/stage-kiosk/EXPORT_IMAGE",
        "image/pi-gen/stage-kiosk/00-kiosk/01-run.sh",
        "image/qemu-boot/run.sh",
        "image/qemu-boot/probe.sh",
        "image/qemu-boot/os-update-repo.sh",
        "image/rootfs/etc/initramfs-tools/hooks/kiosk-splash",
        "scripts/install-debian-deps.sh",
    } | {f"image/rootfs/usr/local/sbin/{p.name}" for p in SBIN.iterdir()}
    assert expected <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_shellcheck_finds_nothing(script: Path) -> None:
    tool = shutil.which("shellcheck")
    if tool is None:
        pytest.fail("shellcheck is missing: run bash scripts/install-debian-deps.sh (it installs it)")
    done = subprocess.run(
        [tool, "--external-sources", str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _recorder(folder: Path, name: str, body: str = "") -> Path:
    """A program ``name`` that appends its arguments (and for nft -f, the file) to ``calls``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        "#!/bin/sh\n"
        f'echo "{name} $*" >>"{folder}/calls"\n'
        f'if [ "$1" = "-f" ]; then cat "$2" >>"{folder}/calls"; fi\n' + body,
        encoding="ascii",
    )
    path.chmod(0o755)
    return path


# --- kiosk-cmdline.sh -------------------------------------------------------------------------------

#: pi-gen's line for bookworm, once its stage1 has put the root in: the first-boot resize is an init=
PI_GEN_CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes "
    "rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n"
)
#: pi-gen's stage1 cmdline.txt for trixie: the first-boot resize is the word "resize", which the
#: initramfs acts on
PI_GEN_TRIXIE_CMDLINE = (
    "console=serial0,115200 console=tty1 root=PARTUUID=6c586e13-02 rootfstype=ext4 fsck.repair=yes "
    "rootwait resize\n"
)


@pytest.mark.parametrize("given", [PI_GEN_CMDLINE, PI_GEN_TRIXIE_CMDLINE], ids=["bookworm", "trixie"])
def test_cmdline_has_no_console_on_the_screen_or_the_printers_uart(tmp_path: Path, given: str) -> None:
    """Nor Raspberry Pi OS's first-boot resize in either form: it would grow the root over the
    space kiosk-storage makes the data partition in, and first boot would stop ("use a larger card").
    Found in review: trixie's "resize" was left in."""
    cmdline = tmp_path / "cmdline.txt"
    cmdline.write_text(given, encoding="ascii")
    subprocess.run(["sh", str(IMAGE / "boot/kiosk-cmdline.sh"), str(cmdline)], check=True, timeout=30)
    once = cmdline.read_text(encoding="ascii")
    words = once.split()
    assert once.count("\n") == 1 and once.endswith("\n")  # the firmware reads one line
    assert not [w for w in words if w.startswith("console=")]
    assert "init=/usr/lib/raspberrypi-sys-mods/firstboot" not in words and "resize" not in words
    assert {"root=PARTUUID=6c586e13-02", "rootwait", "fsck.repair=yes"} <= set(words)
    assert {"quiet", "splash", "logo.nologo", "vt.global_cursor_default=0", "consoleblank=0"} <= set(words)
    assert "overlayroot=tmpfs:recurse=0" in words
    subprocess.run(["sh", str(IMAGE / "boot/kiosk-cmdline.sh"), str(cmdline)], check=True, timeout=30)
    assert cmdline.read_text(encoding="ascii") == once  # a second run changes nothing


# --- kiosk-firewall -------------------------------------------------------------------------------


def _firewall(
    tmp_path: Path, hq_url: str, resolves: dict[str, list[str]], apt: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """kiosk-firewall with recorded nft and the DNS answers given; ``apt``: the files of its apt
    folder (sources.list.d/NAME: text), root's as on the image."""
    apt_dir = tmp_path / "apt"
    (apt_dir / "sources.list.d").mkdir(parents=True, exist_ok=True)
    for name, text in (apt or {}).items():
        (apt_dir / name).write_text(text, encoding="utf-8")
        (apt_dir / name).chmod(0o644)
    fake = tmp_path / "bin"
    _recorder(fake, "nft")
    lines = "\n".join(
        f'  "ahostsv{"6" if ":" in a else "4"} {host}") echo "{a}      STREAM {host}" ;;'
        for host, addresses in resolves.items()
        for a in addresses
    )
    getent = fake / "getent"
    getent.write_text(f'#!/bin/sh\ncase "$1 $2" in\n{lines}\n  *) exit 2 ;;\nesac\n', encoding="ascii")
    getent.chmod(0o755)
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[hq]\nurl = "{hq_url}"\n', encoding="utf-8")
    config.chmod(0o600)
    env = {
        **os.environ,
        "KIOSK_CONFIG": str(config),
        "KIOSK_PYTHON": sys.executable,
        "KIOSK_FIREWALL_EXTRA": str(tmp_path / "extra"),
        "KIOSK_APT_DIR": str(apt_dir),
        "NFT": str(fake / "nft"),
        "KIOSK_RESOLVE": str(getent),
    }
    done = subprocess.run(
        [str(SBIN / "kiosk-firewall")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    calls = (fake / "calls").read_text(encoding="ascii") if (fake / "calls").exists() else ""
    return done.returncode, calls, done.stderr


def test_the_firewall_allows_hq_by_address_in_one_transaction(tmp_path: Path) -> None:
    (tmp_path / "extra").write_text("# a site's proxy\nproxy.shop.lan 3128\n", encoding="ascii")
    code, calls, err = _firewall(
        tmp_path,
        "https://hq.example.com:8443",
        {"hq.example.com": ["192.0.2.10", "2001:db8::10"], "proxy.shop.lan": ["10.1.2.3"]},
    )
    assert code == 0, err
    assert calls.count("nft -f") == 1
    assert "flush" not in calls  # added to, never replaced (tests/image/test_firewall_netns.py)
    assert "add element inet kiosk allowed4 { 10.1.2.3 . 3128,192.0.2.10 . 8443 }" in calls
    assert "add element inet kiosk allowed6 { 2001:db8::10 . 8443 }" in calls


def test_a_host_that_does_not_resolve_keeps_what_was_allowed(tmp_path: Path) -> None:
    """A DNS hiccup must not cut the kiosk off from HQ: nothing is flushed, the rest is added."""
    (tmp_path / "extra").write_text("proxy.shop.lan 3128\n", encoding="ascii")
    code, calls, err = _firewall(tmp_path, "https://hq.example.com", {"proxy.shop.lan": ["10.1.2.3"]})
    assert code == 0
    assert "hq.example.com does not resolve now" in err
    assert "flush" not in calls
    assert "add element inet kiosk allowed4 { 10.1.2.3 . 3128 }" in calls
    assert "192.0.2" not in calls


def test_a_port_outside_1_to_65535_skips_its_line_and_nothing_else(tmp_path: Path) -> None:
    """One bad line in firewall-extra must not cost HQ and the gateways their holes: a port of 70000
    made the one nft transaction fail ("Service out of range") and left the sets empty, and port 0
    was let through to nft as well."""
    (tmp_path / "extra").write_text(
        "proxy.test 70000\nproxy.zero 0\nproxy.shop.lan 3128\nproxy.max 65535\n", encoding="ascii"
    )
    code, calls, err = _firewall(
        tmp_path,
        "https://hq.example.com",
        {
            "hq.example.com": ["192.0.2.10"],
            "proxy.test": ["10.9.9.9"],
            "proxy.zero": ["10.8.8.8"],
            "proxy.shop.lan": ["10.1.2.3"],
            "proxy.max": ["10.7.7.7"],
        },
    )
    assert code == 0, err
    assert calls.count("nft -f") == 1
    assert "192.0.2.10 . 443" in calls and "10.1.2.3 . 3128" in calls and "10.7.7.7 . 65535" in calls
    assert "10.9.9.9" not in calls and "10.8.8.8" not in calls
    assert '"proxy.test 70000": the port must be a number from 1 to 65535; line skipped' in err
    assert '"proxy.zero 0": the port must be a number from 1 to 65535; line skipped' in err


def test_a_site_file_others_than_root_may_change_opens_no_hole(tmp_path: Path) -> None:
    """/etc/kiosk/firewall-extra is read as root: one the kiosk user could write (or swap for a link)
    would let it open the firewall to any host. Its lines then count for nothing (HQ still does), as
    firewall-hosts does with settings others may change."""
    if os.getuid() != 0:
        pytest.fail("the firewall trusts root's files only: run make test as root (README)")
    extra = tmp_path / "extra"
    resolves = {"hq.example.com": ["192.0.2.10"], "far.example.net": ["203.0.113.9"]}
    target = tmp_path / "elsewhere"
    target.write_text("far.example.net 22\n", encoding="ascii")
    for make in (
        lambda: (extra.write_text("far.example.net 22\n", encoding="ascii"), os.chown(extra, 999, 999)),
        lambda: (extra.write_text("far.example.net 22\n", encoding="ascii"), extra.chmod(0o664)),
        lambda: extra.symlink_to(target),
    ):
        extra.unlink(missing_ok=True)
        make()
        code, calls, err = _firewall(tmp_path, "https://hq.example.com", resolves)
        assert code == 1 and "not a plain file root alone may change" in err, err
        assert "192.0.2.10 . 443" in calls and "203.0.113.9" not in calls
    extra.unlink()
    extra.write_text("far.example.net 22\n", encoding="ascii")
    extra.chmod(0o644)  # root's, as a site puts it there
    code, calls, err = _firewall(tmp_path, "https://hq.example.com", resolves)
    assert code == 0, err
    assert "203.0.113.9 . 22" in calls


#: Raspberry Pi OS trixie's apt sources as pi-gen writes them (stage0/00-configure-apt), in short
IMAGE_APT = {
    "sources.list.d/debian.sources": (
        "Types: deb\nURIs: http://deb.debian.org/debian/\nSuites: trixie trixie-updates\nComponents: main\n\n"
        "Types: deb\nURIs: http://deb.debian.org/debian-security/\nSuites: trixie-security\nComponents: main\n"
    ),
    "sources.list.d/raspi.sources": (
        "Types: deb\nURIs: http://archive.raspberrypi.com/debian/\nSuites: trixie\nComponents: main\n"
    ),
}


def test_the_os_archives_in_apts_sources_are_let_through_on_their_port(tmp_path: Path) -> None:
    """kiosk-os-update's apt-get update must reach the archives: before, nothing let port 80 out to
    them, and the OS updates failed on every kiosk."""
    code, calls, err = _firewall(
        tmp_path,
        "https://hq.example.com",
        {
            "hq.example.com": ["192.0.2.10"],
            "deb.debian.org": ["151.101.2.132", "2a04:4e42::644"],
            "archive.raspberrypi.com": ["93.93.128.193"],
        },
        apt=IMAGE_APT,
    )
    assert code == 0, err
    assert calls.count("nft -f") == 1
    assert (
        "add element inet kiosk allowed4 { 151.101.2.132 . 80,192.0.2.10 . 443,93.93.128.193 . 80 }" in calls
    )
    assert "add element inet kiosk allowed6 { 2a04:4e42::644 . 80 }" in calls


def test_unreadable_settings_renew_only_the_os_archives(tmp_path: Path) -> None:
    code, calls, err = _firewall(tmp_path, "ftp://not-an-hq", {"hq.example.com": ["192.0.2.10"]})
    assert code == 1
    assert calls == ""
    assert "stay until their hour is up" in err
    code, calls, err = _firewall(
        tmp_path, "ftp://not-an-hq", {"archive.raspberrypi.com": ["93.93.128.193"]}, apt=IMAGE_APT
    )
    assert code == 1
    assert "add element inet kiosk allowed4 { 93.93.128.193 . 80 }" in calls
    assert "stay until their hour is up" in err


# --- kiosk-ssh ------------------------------------------------------------------------------------

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPL it@laptop"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOTHEROTHEROTHEROTHEROTHEROTHEROTHEROTHE intruder@far"


def _allow_list(tmp_path: Path, text: str) -> Path:
    """The image's /etc/kiosk/it-ssh-keys: root's, in a folder only root may change."""
    etc = tmp_path / "etc-kiosk"
    etc.mkdir(mode=0o750, exist_ok=True)
    etc.chmod(0o750)
    allowed = etc / "it-ssh-keys"
    allowed.write_text(text, encoding="ascii", newline="")
    allowed.chmod(0o644)
    return allowed


def _ssh(
    tmp_path: Path,
    action: str,
    request: str | None,
    keys: str | None,
    now: int | None = None,
    allowed: Path | None = None,
    systemctl: str = "",
    more_env: dict[str, str] | None = None,
) -> tuple[int, str, Path]:
    """kiosk-ssh ``action`` with nft and systemctl recorded (``systemctl``: more for its body), the
    kiosk's folder ``it`` under tmp_path holding ``request`` and ``keys`` (None: as it is), and
    ``allowed`` as IT's list (None: one that names KEY). The output is what was recorded in this
    run, then what kiosk-ssh printed."""
    fake = tmp_path / "bin"
    _recorder(fake, "nft")
    _recorder(fake, "systemctl", systemctl)
    it = tmp_path / "it"
    if request is not None or keys is not None:
        it.mkdir(exist_ok=True)
    if request is not None:
        (it / "ssh").write_text(request, encoding="ascii", newline="")
    if keys is not None:
        (it / "authorized_keys").write_text(keys, encoding="ascii", newline="")
    if allowed is None:
        allowed = _allow_list(tmp_path, KEY + "\n")
    dest = tmp_path / "data-ssh"
    env = {
        **os.environ,
        "KIOSK_SSH_REQUEST": str(it / "ssh"),
        "KIOSK_SSH_KEYS": str(it / "authorized_keys"),
        "KIOSK_SSH_DEST": str(dest),
        "KIOSK_SSH_STATE": str(tmp_path / "data-ssh-state" / "kiosk-ssh.state"),
        "NFT": str(fake / "nft"),
        "SYSTEMCTL": str(fake / "systemctl"),
        **({"KIOSK_SSH_NOW": str(now)} if now is not None else {}),
        "KIOSK_SSH_ALLOWED": str(allowed),
        **(more_env or {}),
    }
    done = subprocess.run(
        [str(SBIN / "kiosk-ssh"), action], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    calls = fake / "calls"
    recorded = calls.read_text(encoding="ascii") if calls.exists() else ""
    calls.unlink(missing_ok=True)
    return done.returncode, recorded + done.stdout + done.stderr, dest


def _on(out: str) -> bool:
    """Whether the run left SSH on: its last word to systemctl about ssh.service was a start."""
    said = [line for line in out.splitlines() if line.startswith("systemctl ") and "ssh.service" in line]
    return bool(said) and said[-1] == "systemctl start ssh.service"


def test_ssh_turned_on_with_a_key_opens_port_22_for_that_key_only(tmp_path: Path) -> None:
    keys = f'{KEY}\ncommand="/bin/sh" {KEY}\nnot a key\n'
    code, out, dest = _ssh(tmp_path, "apply", "on\n", keys)
    assert code == 0, out
    assert (dest / "it").read_text(encoding="ascii") == KEY + "\n"  # options and junk are dropped
    assert stat.S_IMODE((dest / "it").stat().st_mode) == 0o644
    assert "nft add element inet kiosk ssh_ports { 22 }" in out
    assert _on(out)


def test_without_a_list_of_its_keys_ssh_stays_off_whatever_the_kiosk_wrote(tmp_path: Path) -> None:
    """The kiosk user writes the request and the keys, and ``it`` may use sudo: without IT's list
    (an image built without --it-keys), a key the app wrote let whoever controlled the app in as
    root. Now SSH stays off, and the log says why and what to do."""
    missing = tmp_path / "etc-kiosk" / "it-ssh-keys"
    code, out, dest = _ssh(tmp_path, "apply", "on\n", OTHER_KEY + "\n", allowed=missing)
    assert code == 1, out
    assert f"this kiosk has no list of IT's keys ({missing})" in out and "--it-keys" in out
    assert not _on(out) and "nft add" not in out
    assert not (dest / "it").exists()


def test_with_the_allow_list_only_its_keys_are_let_in(tmp_path: Path) -> None:
    """A key the list does not name stays out; one it names is let in whatever its comment."""
    allowed = _allow_list(tmp_path, KEY.rsplit(" ", 1)[0] + " it@hq\n")
    code, out, dest = _ssh(tmp_path, "apply", "on\n", f"{OTHER_KEY}\n{KEY}\n", allowed=allowed)
    assert code == 0, out
    assert (dest / "it").read_text(encoding="ascii") == KEY + "\n"
    code, out, dest = _ssh(tmp_path, "apply", "on\n", OTHER_KEY + "\n", allowed=allowed)
    assert code == 1 and "none of the keys" in out and str(allowed) in out
    assert not _on(out)
    assert not (dest / "it").exists()


def test_an_allow_list_others_may_change_keeps_ssh_off(tmp_path: Path) -> None:
    allowed = _allow_list(tmp_path, KEY + "\n")
    allowed.chmod(0o666)
    code, out, dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", allowed=allowed)
    assert code == 1 and "only root can change" in out
    assert not (dest / "it").exists()
    allowed.chmod(0o644)
    allowed.parent.chmod(0o770)  # the kiosk group could swap the file
    code, out, dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", allowed=allowed)
    assert code == 1 and not (dest / "it").exists()


def test_keys_and_a_list_with_windows_line_ends_are_taken(tmp_path: Path) -> None:
    """A key file or a list saved on Windows (CRLF): its lines end in \r, which the key pattern
    refused, so IT was locked out."""
    allowed = _allow_list(tmp_path, KEY + "\r\n")
    code, out, dest = _ssh(tmp_path, "apply", "on\r\n", KEY + "\r\n", allowed=allowed)
    assert code == 0, out
    assert (dest / "it").read_text(encoding="ascii") == KEY + "\n"


def test_ssh_without_a_usable_key_stays_off(tmp_path: Path) -> None:
    code, out, dest = _ssh(tmp_path, "apply", "on\n", "password123\n")
    assert code == 1
    assert "systemctl stop ssh.service" in out
    assert "systemctl start" not in out
    assert not (dest / "it").exists()


def test_ssh_turned_off_stops_sshd_closes_the_port_and_drops_the_keys(tmp_path: Path) -> None:
    _ssh(tmp_path, "apply", "on\n", KEY + "\n")
    code, out, dest = _ssh(tmp_path, "apply", "off\n", KEY + "\n")
    assert code == 0
    assert "systemctl stop ssh.service ssh.socket" in out
    assert "nft flush set inet kiosk ssh_ports" in out
    assert not (dest / "it").exists()
    assert not (tmp_path / "data-ssh-state" / "kiosk-ssh.state").exists()  # the request is forgotten


def test_ssh_on_starts_the_minute_check_first_without_waiting_for_it(tmp_path: Path) -> None:
    """A blocking start of the timer could hang kiosk-ssh.service (a calendar timer waited for
    time-sync.target); the check must be running before SSH is."""
    until = int(time.time()) + 3600
    code, out, dest = _ssh(tmp_path, "apply", f"on\nuntil={until}\n", KEY + "\n")
    assert code == 0, out
    assert out.index("systemctl --no-block start kiosk-ssh-expire.timer") < out.index(
        "systemctl start ssh.service"
    )
    assert (dest / "it").exists()


def test_ssh_past_its_time_limit_goes_off_and_the_request_and_keys_go(tmp_path: Path) -> None:
    """GIVEN SSH on until a time WHEN the minute check runs before it, then after it
    THEN nothing happens the first time; the second turns SSH off and removes both files"""
    now = int(time.time())
    until = now + 3600
    _ssh(tmp_path, "apply", f"on\nuntil={until}\n", KEY + "\n", now=now)
    code, out, dest = _ssh(tmp_path, "expire", None, None, now=until - 60)
    assert code == 0 and out == ""  # quiet while the limit is ahead
    assert (dest / "it").exists()
    code, out, dest = _ssh(tmp_path, "expire", None, None, now=until)
    assert code == 0, out
    assert "systemctl stop ssh.service ssh.socket" in out and "time limit ran out" in out
    assert "systemctl stop kiosk-ssh-expire.timer" in out
    assert not (dest / "it").exists()
    assert not (tmp_path / "it" / "ssh").exists() and not (tmp_path / "it" / "authorized_keys").exists()


def test_the_limit_counts_from_when_root_first_saw_the_request_not_from_its_time_stamp(
    tmp_path: Path,
) -> None:
    """The request's time stamp is the kiosk user's to set: ``touch -d +365d`` kept SSH on for a
    year. Without until= a request lasts 4 hours from when kiosk-ssh first saw it."""
    now = int(time.time())
    code, out, _ = _ssh(tmp_path, "apply", "on\n", KEY + "\n", now=now)
    assert code == 0 and _on(out), out
    year = now + 365 * 86400
    os.utime(tmp_path / "it" / "ssh", (year, year))
    code, out, _ = _ssh(tmp_path, "expire", None, None, now=now + 4 * 3600 - 120)
    assert code == 0 and out == ""
    code, out, dest = _ssh(tmp_path, "expire", None, None, now=now + 4 * 3600 + 120)
    assert "time limit ran out" in out and not (dest / "it").exists()
    assert not (tmp_path / "it" / "ssh").exists()


def test_no_request_lasts_over_a_day_from_when_it_was_first_seen(tmp_path: Path) -> None:
    now = int(time.time())
    far = now + 30 * 86400
    code, out, _ = _ssh(tmp_path, "apply", f"on\nuntil={far}\n", KEY + "\n", now=now)
    assert code == 0 and _on(out), out
    os.utime(tmp_path / "it" / "ssh", (far, far))
    code, out, _ = _ssh(tmp_path, "expire", None, None, now=now + 86400 - 60)
    assert out == ""
    code, out, _ = _ssh(tmp_path, "expire", None, None, now=now + 86400 + 60)
    assert "time limit ran out" in out and not _on(out)


def test_a_new_request_counts_afresh_and_one_removed_is_forgotten(tmp_path: Path) -> None:
    now = int(time.time())
    _ssh(tmp_path, "apply", "on\n", KEY + "\n", now=now)
    later = now + 3 * 3600
    code, out, _ = _ssh(tmp_path, "apply", f"on\nuntil={later + 3 * 3600}\n", KEY + "\n", now=later)
    assert code == 0 and _on(out), out
    code, out, _ = _ssh(tmp_path, "expire", None, None, now=now + 5 * 3600)  # past the first's 4 h
    assert code == 0 and out == ""
    state = tmp_path / "data-ssh-state" / "kiosk-ssh.state"
    assert f"seen={later}\n" in state.read_text(encoding="ascii")
    _ssh(tmp_path, "apply", "off\n", None, now=now + 5 * 3600)
    assert not state.exists()


def test_a_clock_behind_the_requests_first_sighting_turns_ssh_off_for_good(tmp_path: Path) -> None:
    """A Pi has no real-time clock: after a reboot its clock starts behind until NTP answers. A
    request seen before the reboot must not come back on that clock: SSH goes off, the request goes,
    and the log says why."""
    now = int(time.time())
    _ssh(tmp_path, "apply", f"on\nuntil={now + 3 * 3600}\n", KEY + "\n", now=now)
    code, out, dest = _ssh(tmp_path, "apply", None, None, now=now - 3600)  # the boot's apply
    assert code == 0, out
    assert "is behind the time this request was first seen" in out and not _on(out)
    assert not (dest / "it").exists()
    assert not (tmp_path / "it" / "ssh").exists() and not (tmp_path / "it" / "authorized_keys").exists()
    code, out, _ = _ssh(tmp_path, "apply", None, None, now=now + 60)  # the clock right again
    assert not _on(out)


@pytest.mark.parametrize("check", ["apply", "expire"])
def test_a_request_from_before_a_reboot_holds_only_once_network_time_set_the_clock(
    tmp_path: Path, check: str
) -> None:
    """The clock now starts each boot at timesyncd's record of when the kiosk last ran (kept on the
    data partition), not behind it: "behind the first sighting" no longer tells a reboot. SSH on
    until 14:00, the kiosk off from 11:00 for two days and back without NTP would have kept SSH on
    for three more hours, over the 24-hour cap in real time. A request first seen in an earlier boot
    is withdrawn until NTP has set the clock (timesyncd's flag file)."""
    now = int(time.time())
    synced = tmp_path / "synchronized"
    boot_a = {"KIOSK_SSH_BOOT_ID": "boot-a", "KIOSK_SSH_SYNCED": str(synced)}
    boot_b = {**boot_a, "KIOSK_SSH_BOOT_ID": "boot-b"}
    code, out, _ = _ssh(
        tmp_path, "apply", f"on\nuntil={now + 3 * 3600}\n", KEY + "\n", now=now, more_env=boot_a
    )
    assert code == 0 and _on(out), out
    # the same boot: the minute check is quiet
    code, out, _ = _ssh(tmp_path, "expire", None, None, now=now + 60, more_env=boot_a)
    assert code == 0 and out == "", out
    # the next boot, its clock a minute on from its record, NTP not answered: withdrawn
    code, out, dest = _ssh(tmp_path, check, None, None, now=now + 120, more_env=boot_b)
    assert code == 0, out
    assert "the kiosk restarted since this request was first seen" in out and not _on(out)
    assert not (dest / "it").exists()
    assert not (tmp_path / "it" / "ssh").exists() and not (tmp_path / "it" / "authorized_keys").exists()


def test_a_request_from_before_a_reboot_holds_once_the_clock_is_synced(tmp_path: Path) -> None:
    """With NTP's time the limit is counted in real time, so the request goes on (and is recorded in
    this boot), within its limit as before."""
    now = int(time.time())
    synced = tmp_path / "synchronized"
    boot_a = {"KIOSK_SSH_BOOT_ID": "boot-a", "KIOSK_SSH_SYNCED": str(synced)}
    _ssh(tmp_path, "apply", f"on\nuntil={now + 3 * 3600}\n", KEY + "\n", now=now, more_env=boot_a)
    synced.write_text("", encoding="ascii")
    boot_b = {**boot_a, "KIOSK_SSH_BOOT_ID": "boot-b"}
    code, out, dest = _ssh(tmp_path, "apply", None, None, now=now + 600, more_env=boot_b)
    assert code == 0 and _on(out), out
    assert (dest / "it").exists()
    state = (tmp_path / "data-ssh-state" / "kiosk-ssh.state").read_text(encoding="ascii")
    assert f"seen={now}\n" in state and "boot=boot-b\n" in state
    code, out, _ = _ssh(tmp_path, "apply", None, None, now=now + 4 * 3600, more_env=boot_b)
    assert "its time limit ran out" in out and not _on(out)


def test_the_minute_check_turns_ssh_off_when_the_off_was_missed(tmp_path: Path) -> None:
    """systemd's PathChanged= does not look again after kiosk-ssh ran, so IT's "off" written while
    it ran was lost and SSH stayed on for hours. The minute check applies what changed."""
    now = int(time.time())
    _ssh(tmp_path, "apply", "on\n", KEY + "\n", now=now)
    (tmp_path / "it" / "ssh").write_text("off\n", encoding="ascii")  # as kiosk/staff_it.py turns off
    (tmp_path / "it" / "authorized_keys").unlink()
    code, out, dest = _ssh(tmp_path, "expire", None, None, now=now + 60)
    assert code == 0, out
    assert "systemctl stop ssh.service ssh.socket" in out and "nft flush set inet kiosk ssh_ports" in out
    assert "systemctl stop kiosk-ssh-expire.timer" in out
    assert not (dest / "it").exists()


def test_the_minute_check_applies_a_list_that_no_longer_names_the_key(tmp_path: Path) -> None:
    now = int(time.time())
    _ssh(tmp_path, "apply", "on\n", KEY + "\n", now=now)
    allowed = _allow_list(tmp_path, OTHER_KEY + "\n")  # IT took the key off the list
    code, out, dest = _ssh(tmp_path, "expire", None, None, now=now + 60, allowed=allowed)
    assert code == 1 and "none of the keys" in out and not _on(out)
    assert not (dest / "it").exists()


def test_a_change_made_while_kiosk_ssh_ran_is_applied_before_it_ends(tmp_path: Path) -> None:
    """GIVEN IT turns SSH off while kiosk-ssh is turning it on (here: while it starts sshd) WHEN
    kiosk-ssh finishes THEN it has read the files again and SSH is off"""
    request = tmp_path / "it" / "ssh"
    writes_off = f'if [ "$1 $2" = "start ssh.service" ]; then printf "off\\n" >"{request}"; fi\n'
    code, out, dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", systemctl=writes_off)
    assert code == 0, out
    assert "changed meanwhile" in out
    assert out.index("systemctl start ssh.service") < out.rindex("systemctl stop ssh.service")
    assert not _on(out) and not (dest / "it").exists()


def test_apply_and_the_minute_check_take_turns(tmp_path: Path) -> None:
    """kiosk-ssh.service and kiosk-ssh-expire.service may start together; side by side, one could
    turn SSH on again after the other turned it off. A run waits for the other (here: no wait)."""
    lock = tmp_path / "data-ssh-state" / "kiosk-ssh.state.lock"
    lock.parent.mkdir()
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code, out, dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", more_env={"KIOSK_SSH_LOCK_WAIT_S": "0"})
    assert code == 1 and "another kiosk-ssh has been running" in out
    assert "systemctl" not in out and "nft" not in out and not (dest / "it").exists()
    code, out, _ = _ssh(tmp_path, "apply", None, None, more_env={"KIOSK_SSH_LOCK_WAIT_S": "0"})
    assert code == 0 and _on(out), out


def test_a_request_folder_that_is_a_link_keeps_ssh_off_and_nothing_there_is_touched(tmp_path: Path) -> None:
    """The kiosk user owns the request's folder and could make it a link to a folder of root's:
    kiosk-ssh (root) then neither reads it nor removes anything through it."""
    roots = tmp_path / "root-ssh"
    roots.mkdir()
    (roots / "ssh").write_text(f"on\nuntil={int(time.time()) - 60}\n", encoding="ascii")  # ran out
    (roots / "authorized_keys").write_text(KEY + "\n", encoding="ascii")
    (tmp_path / "it").symlink_to(roots)
    code, out, dest = _ssh(tmp_path, "apply", None, None)
    assert code == 1, out
    assert "is a link or not a folder" in out and not _on(out)
    assert (roots / "ssh").exists() and (roots / "authorized_keys").exists()
    assert not (dest / "it").exists()
    (tmp_path / "it").unlink()
    (tmp_path / "it").write_text("on\n", encoding="ascii")
    code, out, _ = _ssh(tmp_path, "apply", None, None)
    assert code == 1 and "is a link or not a folder" in out


def test_a_request_that_is_a_link_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "it").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("on\n", encoding="ascii")
    (tmp_path / "it" / "ssh").symlink_to(elsewhere)
    code, out, dest = _ssh(tmp_path, "apply", None, KEY + "\n")
    assert code == 0 and not _on(out) and not (dest / "it").exists()


def test_a_link_swapped_in_after_the_request_was_checked_is_not_read(tmp_path: Path) -> None:
    """GIVEN a request "off", which the kiosk user replaces by a link to a file saying "on" just after
    kiosk-ssh has checked it is a plain file (here: as the read starts, by a stand-in for `timeout`
    that kiosk-ssh runs the read under)
    WHEN  kiosk-ssh applies it
    THEN  the link is not followed: SSH stays off. Root read through such a link before, and
          went on with what it pointed at (reproduced 66 times in 300 runs with a swapping loop).
          Found in review."""
    (tmp_path / "it").mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("on\n", encoding="ascii")
    real = shutil.which("timeout")
    assert real is not None
    _recorder(
        tmp_path / "path",
        "timeout",
        f'case "$*" in *./ssh*) rm -f ssh && ln -s "{elsewhere}" ssh ;; esac\nexec "{real}" "$@"\n',
    )
    _, out, dest = _ssh(
        tmp_path,
        "apply",
        "off\n",
        KEY + "\n",
        more_env={"PATH": f"{tmp_path / 'path'}:{os.environ['PATH']}"},
    )
    assert "timeout 5" in (tmp_path / "path" / "calls").read_text(encoding="ascii")  # the swap came
    assert (tmp_path / "it" / "ssh").is_symlink()
    # never on, not even until the next look at the files turns it off again
    assert "systemctl start ssh.service" not in out and not (dest / "it").exists(), out


def test_only_a_request_that_says_on_turns_ssh_on(tmp_path: Path) -> None:
    _, out, dest = _ssh(tmp_path, "apply", "only if asked\n", KEY + "\n")
    assert not _on(out) and not (dest / "it").exists(), out
    code, out, dest = _ssh(tmp_path, "apply", "on\r\n", KEY + "\n")  # saved on Windows: still on
    assert code == 0 and _on(out), out


@pytest.mark.parametrize(
    "line",
    [
        KEY,
        KEY.rsplit(" ", 1)[0],  # no comment
        KEY.rsplit(" ", 1)[0] + " ops@elsewhere",  # another comment
        KEY + "\r",  # saved on Windows
        "  " + KEY,  # leading blanks
        'command="/bin/sh" ' + KEY,  # options
        KEY + "\x07",  # a control character in the comment
        KEY.replace(" ", "  ", 1),  # two spaces after the type
        OTHER_KEY,
    ],
    ids=lambda line: repr(line[:12] + "..." + line[-6:]),
)
def test_the_kiosk_reads_its_list_as_kiosk_ssh_does(tmp_path: Path, line: str) -> None:
    """Maintenance mode tells IT up front whether a key is on IT's list (kiosk.maintenance.ssh_keys
    .allow_list) instead of writing a request kiosk-ssh refuses: the two must agree on every kind of
    line, or the screen says "on" for a key kiosk-ssh turns away (or refuses one it would take)."""
    from kiosk.maintenance.ssh_keys import allow_list

    allowed = _allow_list(tmp_path, f"# IT's keys\n{line}\n")
    code, out, _dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", allowed=allowed)
    assert code in (0, 1), out  # 1: SSH stays off, none of the keys is on the list
    # what on_list compares (the test's keys are made up: no PublicKey can be parsed from them)
    kind, blob = KEY.split()[:2]
    assert _on(out) == ((kind, blob) in allow_list(allowed.read_text(encoding="ascii"))), out


# --- set-it-keys.sh (install-kiosk.sh --it-keys) ------------------------------------------------------


def _set_it_keys(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(IMAGE / "set-it-keys.sh"), *args], capture_output=True, text=True, timeout=30, check=False
    )


def _key_line(script: Path) -> str:
    return next(
        line for line in script.read_text(encoding="utf-8").splitlines() if line.startswith("KEY_LINE=")
    )


def test_a_list_saved_on_windows_is_installed_plain_and_lets_its_key_in(tmp_path: Path) -> None:
    """GIVEN IT's keys saved with CRLF line ends WHEN the installer puts them on the image THEN the
    list holds no \r and kiosk-ssh lets the key in (a \r at the end of a key line locked IT out)."""
    assert _key_line(IMAGE / "set-it-keys.sh") == _key_line(SBIN / "kiosk-ssh")
    keys = tmp_path / "it-keys.pub"
    keys.write_bytes(f"# IT's laptops\r\n\r\n{KEY}\r\n".encode("ascii"))
    allowed = _allow_list(tmp_path, "")
    done = _set_it_keys(str(keys), str(allowed))
    assert done.returncode == 0, done.stderr
    assert "(1 key(s))" in done.stdout
    assert allowed.read_bytes() == f"# IT's laptops\n\n{KEY}\n".encode("ascii")
    assert stat.S_IMODE(allowed.stat().st_mode) == 0o644
    code, out, _dest = _ssh(tmp_path, "apply", "on\n", KEY + "\n", allowed=allowed)
    assert code == 0 and _on(out), out
    assert _set_it_keys("--check", str(keys)).returncode == 0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f'{KEY}\ncommand="/bin/sh" {KEY}\n', "line 2 is not an OpenSSH public key without options"),
        ("# nothing yet\n", "holds no OpenSSH public key"),
    ],
)
def test_a_list_kiosk_ssh_would_not_take_whole_is_refused_and_nothing_written(
    tmp_path: Path, text: str, said: str
) -> None:
    keys = tmp_path / "it-keys.pub"
    keys.write_text(text, encoding="ascii")
    dest = tmp_path / "it-ssh-keys"
    for args in ((str(keys), str(dest)), ("--check", str(keys))):
        done = _set_it_keys(*args)
        assert done.returncode == 1 and said in done.stderr, done.stderr
    assert not dest.exists()


# --- the installer and make image refuse clearly ----------------------------------------------------


def test_the_installer_says_what_it_needs(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(IMAGE / "install-kiosk.sh")], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    expected = "--bundle FILE is required" if os.geteuid() == 0 else "run it as root"
    assert expected in done.stderr


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://hq.example.cn", True),
        ("http://127.0.0.1:8080", True),
        ("https://hq-1.corp.example.cn:8443/kiosk_api/v1", True),
        ("hq.example.cn", False),
        ("ftp://hq.example.cn", False),
        ("https://", False),
        ("https:///path", False),
        ('https://hq"; rm -rf /', False),
        ("https://hq$(reboot)", False),
        ("https://hq.example.cn/a b", False),
        ("https://hq|x", False),
        ("https://hq.example.cn\n[payments]", False),
        ("https://hq:abc", False),
        ("https://hq.example.cn:99999", False),
        ("https://hq:0", False),
        ("https://:8080", False),
        ("https://it@hq.example.cn", False),
        ("https://-hq", False),
        ("https://hq.example.cn:65535/a", True),
    ],
)
def test_the_hq_url_an_image_is_built_with_is_checked(url: str, ok: bool) -> None:
    """--hq-url ends in kiosk.toml (a TOML string), in a sed replacement and on the stage's chroot
    command line: only what a URL needs gets through, so none of those can be broken out of."""
    done = subprocess.run(
        ["sh", str(IMAGE / "check-hq-url.sh"), url], capture_output=True, text=True, timeout=30, check=False
    )
    assert (done.returncode == 0) is ok, done.stderr
    assert bool(done.stderr) is not ok


def _set_hq_url(toml: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(IMAGE / "set-hq-url.sh"), str(toml), url],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_hq_url_goes_into_the_template_and_nowhere_else(tmp_path: Path) -> None:
    """GIVEN the image's kiosk.toml WHEN install-kiosk.sh --hq-url writes the fleet's HQ THEN [hq] url
    is that HQ, as the kiosk's own settings read it, and every other line is as the template has it."""
    from kiosk.settings import HqSection

    template = (ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8")
    toml = tmp_path / "kiosk.toml"
    toml.write_text(template, encoding="utf-8")
    toml.chmod(0o600)
    url = "https://hq-1.corp.example.cn:8443/kiosk_api"
    done = _set_hq_url(toml, url)
    assert done.returncode == 0, done.stderr
    assert f'[hq] url = "{url}"' in done.stdout
    written = toml.read_text(encoding="utf-8")
    assert tomllib.loads(written)["hq"]["url"] == url
    assert HqSection.model_validate(tomllib.loads(written)["hq"]).url == url
    changed = [(a, b) for a, b in zip(template.splitlines(), written.splitlines(), strict=True) if a != b]
    assert [b.split("#")[0].strip() for _, b in changed] == [f'url = "{url}"']
    assert stat.S_IMODE(toml.stat().st_mode) == 0o600


def test_an_hq_url_already_set_is_kept(tmp_path: Path) -> None:
    """Running the installer again with another --hq-url never overwrites what is set."""
    toml = tmp_path / "kiosk.toml"
    toml.write_text((ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert _set_hq_url(toml, "https://hq.example.cn").returncode == 0
    before = toml.read_bytes()
    again = _set_hq_url(toml, "https://other.example.cn")
    assert again.returncode == 0 and "kept [hq] url" in again.stdout
    assert toml.read_bytes() == before


@pytest.mark.parametrize("url", ["https://hq|x", 'https://hq"\n[payments]', "hq.example.cn"])
def test_a_bad_hq_url_leaves_the_settings_as_they_were(tmp_path: Path, url: str) -> None:
    toml = tmp_path / "kiosk.toml"
    toml.write_text((ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8"), encoding="utf-8")
    before = toml.read_bytes()
    done = _set_hq_url(toml, url)
    assert done.returncode == 1 and "HQ url" in done.stderr
    assert toml.read_bytes() == before


def test_the_installer_refuses_a_bad_hq_url_before_it_does_anything(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            "bash",
            str(IMAGE / "install-kiosk.sh"),
            "--bundle",
            str(tmp_path / "none.tar"),
            "--hq-url",
            "hq.cn",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "must start with https://" in done.stderr and "--hq-url" in done.stderr


def test_make_image_stops_where_docker_cannot_build(tmp_path: Path) -> None:
    """A docker whose daemon does not answer: the build stops before it clones or builds anything."""
    fake = tmp_path / "bin"
    _recorder(fake, "docker", "exit 1\n")
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "KIOSK_IMAGE_WORK": str(tmp_path / "work"),
        "KIOSK_IMAGE_MIN_WORK_GB": "0",  # whatever this machine's disk has
    }
    done = subprocess.run(
        ["bash", str(IMAGE / "build.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "daemon does not answer" in done.stderr
    assert not (tmp_path / "work").exists()


def test_make_image_stops_where_the_work_folder_is_too_small(tmp_path: Path) -> None:
    """Before Docker is asked, and before pi-gen fills the disk an hour in."""
    env = {
        **os.environ,
        "KIOSK_IMAGE_WORK": str(tmp_path / "work" / "deeper"),
        "KIOSK_IMAGE_MIN_WORK_GB": str(10**9),
    }
    done = subprocess.run(
        ["bash", str(IMAGE / "build.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "MB free; the build needs about" in done.stderr and "set KIOSK_IMAGE_WORK" in done.stderr
    assert not (tmp_path / "work").exists()


def test_make_image_stops_where_dockers_own_disk_is_too_small(tmp_path: Path) -> None:
    """pi-gen builds the root in a Docker volume, on Docker's data disk, not in the work folder:
    that disk is the one checked for the 20 GB. Found in review: the work folder's was."""
    docker_data = tmp_path / "docker-data"
    docker_data.mkdir()
    fake = tmp_path / "bin"
    _recorder(fake, "docker", f'case "$*" in *DockerRootDir*) echo "{docker_data}" ;; esac\nexit 0\n')
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "KIOSK_IMAGE_WORK": str(tmp_path / "work"),
        "KIOSK_IMAGE_MIN_WORK_GB": "0",
        "KIOSK_IMAGE_MIN_FREE_GB": str(10**9),
    }
    done = subprocess.run(
        ["bash", str(IMAGE / "build.sh")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert f"Docker's data ({docker_data}) has " in done.stderr and "docker system prune" in done.stderr
    assert not (tmp_path / "work").exists()


def test_the_kiosk_command_refuses_root(tmp_path: Path) -> None:
    """``sudo kiosk ...`` would leave root's files in the kiosk's data, which the kiosk then cannot
    open; the wrapper says how to run it instead."""
    fake = tmp_path / "bin"
    _recorder(fake, "id", "echo 0\n")
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["sh", str(ROOTFS / "usr/local/bin/kiosk"), "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "sudo -u kiosk kiosk doctor" in done.stderr


# --- kiosk-firstboot ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hq_url", "told"),
    [
        (
            None,
            "Set [hq] url in {config}, then make a code at HQ:\n    hq device enroll-code --store STORE "
            "--kiosk-id kiosk-abcd1234 --hq-url URL",
        ),
        (
            "https://hq.corp.example.cn",
            "It enrols at HQ https://hq.corp.example.cn. Make a code at HQ:\n"
            "    hq device enroll-code --store STORE --kiosk-id kiosk-abcd1234 --hq-url https://hq.corp.example.cn",
        ),
    ],
    ids=["template", "built-with-hq-url"],
)
def test_first_boot_names_the_kiosk_and_makes_its_keys_and_store(
    tmp_path: Path, hq_url: str | None, told: str
) -> None:
    """GIVEN the image's settings (id "@KIOSK_ID@") WHEN first boot runs THEN the kiosk is named after
    the Pi's serial number, has SSH host keys of its own, a store with its device key (0600), the
    installer is told what to do (no url to set when the image was built with --hq-url), and the
    marker that keeps it from running again is written."""
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "kiosk.toml"
    mark = tmp_path / "root-data" / ".first-boot-done"  # /data's top, root's
    text = (ROOTFS / "etc/kiosk/kiosk.toml").read_text(encoding="utf-8")
    if hq_url is not None:  # as install-kiosk.sh --hq-url leaves it
        text = text.replace('url = "https://hq.example.com"', f'url = "{hq_url}"')
    config.write_text(text + f'\n[store]\npath = "{data / "kiosk.sqlite3"}"\n', encoding="utf-8")
    config.chmod(0o600)
    env = {
        **os.environ,
        "KIOSK_CONFIG": str(config),
        "KIOSK_DATA": str(data),
        "KIOSK_SSH_DIR": str(tmp_path / "ssh"),
        "KIOSK_APP": sys.executable,
        "KIOSK_USER": getpass.getuser(),
        "KIOSK_SERIAL": "10000000ABCD1234",
        "KIOSK_FIRSTBOOT_MARK": str(mark),
    }
    done = subprocess.run(
        [str(SBIN / "kiosk-firstboot")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert 'id = "kiosk-abcd1234"' in config.read_text(encoding="utf-8")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # sed -i keeps the mode
    assert (tmp_path / "ssh/ssh_host_ed25519_key").is_file()
    assert stat.S_IMODE((tmp_path / "ssh/ssh_host_ed25519_key").stat().st_mode) == 0o600
    key = data / "kiosk.sqlite3.key"
    assert key.is_file() and stat.S_IMODE(key.stat().st_mode) == 0o600
    secret = key.read_text("ascii").strip()
    assert secret[:16] not in done.stdout + done.stderr  # the device key is never printed
    assert told.format(config=config) in done.stdout
    assert mark.is_file() and not mark.is_symlink()
    assert not (data / ".first-boot-done").exists()  # not in the kiosk user's folder any more


def _first_boot_env(tmp_path: Path, mark: Path) -> dict[str, str]:
    """kiosk-firstboot's overrides for a kiosk already named, whose store check is a recorder."""
    config = tmp_path / "kiosk.toml"
    config.write_text('[kiosk]\nid = "kiosk-abcd1234"\n', encoding="utf-8")
    app = _recorder(tmp_path / "bin", "app")
    for key in ("ssh_host_ed25519_key", "ssh_host_rsa_key"):  # made already: no key generation here
        (tmp_path / "ssh").mkdir(exist_ok=True)
        (tmp_path / "ssh" / key).touch()
    return {
        **os.environ,
        "KIOSK_CONFIG": str(config),
        "KIOSK_DATA": str(tmp_path / "data"),
        "KIOSK_SSH_DIR": str(tmp_path / "ssh"),
        "KIOSK_APP": str(app),
        "KIOSK_USER": getpass.getuser(),
        "KIOSK_FIRSTBOOT_MARK": str(mark),
    }


def test_a_link_put_where_the_marker_was_does_not_make_first_boot_write_through_it(tmp_path: Path) -> None:
    """GIVEN the kiosk user (who owns /var/lib/kiosk) replaced the old marker there with a dangling
    link to a path only root may create (the unit's condition takes it for a missing marker)
    WHEN  first boot runs again, as root
    THEN  nothing is made at the link's target: the marker goes to root's /data only, and a link
          found where that marker goes is replaced, not followed."""
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "etc" / "nologin"
    target.parent.mkdir()
    (data / ".first-boot-done").symlink_to(target)
    mark = tmp_path / "root-data" / ".first-boot-done"
    mark.parent.mkdir()
    elsewhere = tmp_path / "elsewhere"
    mark.symlink_to(elsewhere)
    done = subprocess.run(
        [str(SBIN / "kiosk-firstboot")],
        env=_first_boot_env(tmp_path, mark),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not target.exists() and not elsewhere.exists()
    assert mark.is_file() and not mark.is_symlink()


def test_the_unit_skips_first_boot_on_either_marker_and_the_script_writes_the_one_it_checks() -> None:
    """Kiosks set up before the marker moved have it in /var/lib/kiosk: still a done first boot."""
    unit = UNITS_DIR / "kiosk-firstboot.service"
    conditions = set(unit_values(unit, "ConditionPathExists"))
    assert conditions == {"!/data/.first-boot-done", "!/var/lib/kiosk/.first-boot-done"}
    script = (SBIN / "kiosk-firstboot").read_text(encoding="utf-8")
    assert "MARK=${KIOSK_FIRSTBOOT_MARK:-/data/.first-boot-done}" in script
    assert "/data" in set(" ".join(unit_values(unit, "RequiresMountsFor")).split())


# --- kiosk-lockdown ---------------------------------------------------------------------------------

#: what dumpkeys prints with Raspberry Pi OS's console-setup keymap ("us") loaded, cut to its first 16
#: of 128 modifier planes (plain, shift, altgr, shift+altgr, control, ..., alt = 8, control+alt = 12)
#: and to the keys that matter: F1 and F12, SysRq under Alt (84), PrintScreen (99), Left (105), Delete
#: (111), and one ordinary key
CONSOLE_SETUP_KEYMAP = """keymaps 0-15
keycode 30 = +a +A +a +A Control_a Control_a Control_a Control_a Meta_a Meta_A Meta_a Meta_A Meta_Control_a Meta_Control_a Meta_Control_a Meta_Control_a
keycode 59 = F1 F13 Console_13 Console_25 F25 F37 Console_13 Console_25 Console_1 Console_13 F1 F1 Console_1 Console_13 F1 F1
keycode 88 = F12 F24 Console_24 Console_36 F36 F48 Console_24 Console_36 Console_12 Console_24 F12 F12 Console_12 Console_24 F12 F12
keycode 84 = Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console Last_Console
keycode 99 = VoidSymbol VoidSymbol Control_backslash Control_backslash Control_backslash Control_backslash Control_backslash Control_backslash Last_Console Last_Console Last_Console Last_Console Meta_Control_backslash Meta_Control_backslash Meta_Control_backslash Meta_Control_backslash
keycode 105 = Left Left Left Left Left Left Left Left Decr_Console Left Left Left Left Left Left Left
keycode 111 = Remove Remove Remove Remove Remove Remove Remove Remove Remove Remove Remove Remove Boot Boot Remove Remove
string F1 = "\033[[A"
compose '`' 'A' to U+00C0
"""


def _lockdown(tmp_path: Path, loads: bool = True) -> tuple[subprocess.CompletedProcess[str], Path]:
    """kiosk-lockdown against a console whose keymap is the file ``keymap``: dumpkeys prints it,
    loadkeys (unless ``loads`` is False: a console that ignores it) replaces it with its input."""
    keymap = tmp_path / "keymap"
    keymap.write_text(CONSOLE_SETUP_KEYMAP, encoding="utf-8")
    bin_ = tmp_path / "bin"
    dumpkeys = _recorder(bin_, "dumpkeys", f'cat "{keymap}"\n')
    loadkeys = _recorder(bin_, "loadkeys", f'cat >"{keymap}"\n' if loads else "cat >/dev/null\n")
    done = subprocess.run(
        [str(SBIN / "kiosk-lockdown")],
        env={**os.environ, "KIOSK_DUMPKEYS": str(dumpkeys), "KIOSK_LOADKEYS": str(loadkeys)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, keymap


def test_the_lock_down_voids_vt_switching_in_every_plane_of_the_loaded_keymap(tmp_path: Path) -> None:
    """GIVEN console-setup's keymap, with Console_N on Shift+Alt+Fn, AltGr+Fn, Ctrl+AltGr+Fn... (a
    map of fixed lines for Alt, Ctrl+Alt and AltGr left those)
    WHEN  kiosk-lockdown runs
    THEN  no key in any plane switches virtual terminals or reboots, and every other key, plane by
          plane, is as it was."""
    done, keymap = _lockdown(tmp_path)
    assert done.returncode == 0, done.stderr
    after = keymap.read_text(encoding="utf-8").splitlines()
    before = CONSOLE_SETUP_KEYMAP.splitlines()
    assert len(after) == len(before)
    switching = {"Last_Console", "Incr_Console", "Decr_Console", "Boot"}
    for old, new in zip(before, after, strict=True):
        old_words, new_words = old.split(), new.split()
        assert len(old_words) == len(new_words), new
        for was, now in zip(old_words, new_words, strict=True):
            if was in switching or was.startswith("Console_"):
                assert now == "VoidSymbol", new
            else:
                assert now == was, new
    assert "Console_" not in keymap.read_text(encoding="utf-8")


def test_the_lock_down_fails_when_the_keymap_still_switches_after_it(tmp_path: Path) -> None:
    done, _ = _lockdown(tmp_path, loads=False)
    assert done.returncode == 1
    assert "still switch virtual terminals" in done.stderr


@pytest.mark.parametrize("theme", ["kiosk", "spinner"])
def test_the_initramfs_hook_puts_the_kiosks_picture_back(tmp_path: Path, theme: str) -> None:
    # plymouth's own hook writes Debian's logo over a two-step theme's watermark.png when
    # desktop-base is installed; ours runs after it and puts the kiosk's picture back, and leaves
    # an initramfs alone when the kiosk's theme is not the one chosen
    hook = IMAGE / "rootfs/etc/initramfs-tools/hooks/kiosk-splash"
    dest = tmp_path / "initramfs"
    landed = dest / "usr/share/plymouth/themes/kiosk/watermark.png"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(b"debian logo")
    set_theme = tmp_path / "plymouth-set-default-theme"
    set_theme.write_text(f"#!/bin/sh\necho {theme}\n")
    set_theme.chmod(0o755)
    source = IMAGE / "rootfs/usr/share/plymouth/themes/kiosk"
    env = {
        "PATH": os.environ["PATH"],
        "DESTDIR": str(dest),
        "KIOSK_SPLASH_SOURCE": str(source),
        "KIOSK_SPLASH_SET_THEME": str(set_theme),
    }
    assert (
        subprocess.run([str(hook), "prereqs"], capture_output=True, text=True, env=env, check=True).stdout
        == "\n"
    )
    subprocess.run([str(hook)], env=env, check=True, timeout=60)
    expected = (source / "watermark.png").read_bytes() if theme == "kiosk" else b"debian logo"
    assert landed.read_bytes() == expected
