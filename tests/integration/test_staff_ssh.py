"""IT's SSH switch on real files: the ItConsole action with a real store's audit log, a folder the
mount table reports as a USB stick, IT's list of keys and the request and keys files in a temporary
data folder; then the image's own kiosk-ssh (with nft and systemctl recorded) applies what the kiosk
wrote.

sshd's state is the fixture's ``sshd``; while the kiosk waits for sshd after turning SSH on, each
wait stands for ``kiosk-ssh`` having run: with ``kiosk_ssh_starts_sshd`` it starts sshd when the
request says on (as it does for keys on IT's list), else sshd stays as it was (as when it refuses)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from kiosk.maintenance.roles import Action
from kiosk.maintenance.ssh_keys import parse_key_line
from kiosk.settings import Settings, load_settings
from kiosk.staff_it import ItConsole, SystemReaders
from kiosk.store.db import open_store
from kiosk.store.models import AuditLog
from kiosk.store.sales import SaleStore
from kiosk.ui.controller_api import ActionAnswer
from tests.image.recipe import ROOTFS
from tests.image.test_image_scripts import _allow_list, _recorder

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
ACTOR = "staff:9"


def public(key: object) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode("ascii")
    )


ED = public(ed25519.Ed25519PrivateKey.generate()) + " zhao@laptop"
RSA = public(rsa.generate_private_key(public_exponent=65537, key_size=3072)) + " ops@hq"
#: a good key that is not on IT's list
OTHER = public(ed25519.Ed25519PrivateKey.generate()) + " guest@laptop"
RSA_SHORT = public(rsa.generate_private_key(public_exponent=65537, key_size=2048)) + " old@pc"


class Kiosk:
    def __init__(self, tmp: Path) -> None:
        self.stick = tmp / "media" / "STICK"
        self.stick.mkdir(parents=True)
        self.data = tmp / "data"
        self.data.mkdir()
        #: IT's list of keys as the image holds it (root's, readable by the kiosk)
        self.allow_list = tmp / "etc-kiosk" / "it-ssh-keys"
        self.allow_list.parent.mkdir()
        self.allow_list.write_text(f"{ED}\n{RSA}\n")
        self.settings: Settings = load_settings(
            environ={},
            overrides={
                "kiosk": {
                    "id": "k1",
                    "data_dir": str(self.data),
                    "language": "en",
                    "timezone": "Asia/Shanghai",
                },
                "maintenance": {
                    "usb_roots": [str(tmp / "media")],
                    "ssh_limit_min": 240,
                    "ssh_allow_list": str(self.allow_list),
                },
            },
        )
        self.store = SaleStore(open_store(self.data / "kiosk.sqlite3"), "k1")
        self.now = NOW
        self.sshd = "inactive"
        self.kiosk_ssh_starts_sshd = True
        self.waits: list[float] = []
        self.console = ItConsole(
            self.settings,
            self.store.audit,
            lambda: "en",
            checks=None,  # SSH asks no diagnostics
            hq_client=lambda: pytest.fail("SSH never asks HQ"),
            bundle_sources=lambda: pytest.fail("no bundle"),
            readers=SystemReaders(
                mounts=lambda: f"/dev/sda1 {self.stick} vfat rw,nosuid 0 0\n",
                ssh_active=lambda: self.sshd,
                now=lambda: self.now,
                sleep=self.wait,
            ),
        )

    def wait(self, seconds: float) -> None:
        """The kiosk waits for sshd: meanwhile kiosk-ssh ran (see the module's docstring)."""
        self.waits.append(seconds)
        if self.kiosk_ssh_starts_sshd and self.request.read_text().startswith("on"):
            self.sshd = "active"

    def ssh(self, **args: str) -> ActionAnswer:
        return self.console.run(ACTOR, Action.SSH, dict(args))

    @property
    def request(self) -> Path:
        return self.data / "it" / "ssh"

    @property
    def keys(self) -> Path:
        return self.data / "it" / "authorized_keys"


def audited() -> list[dict[str, object]]:
    rows = AuditLog.select().where(AuditLog.action == "ssh").order_by(AuditLog.id)
    return [json.loads(r.detail) for r in rows]


@pytest.fixture
def kiosk(tmp_path: Path) -> Kiosk:
    return Kiosk(tmp_path)


def test_the_default_paths_are_the_images(tmp_path: Path) -> None:
    s = load_settings(environ={}, overrides={"kiosk": {"data_dir": "/var/lib/kiosk"}})
    assert s.ssh_switch_path == Path("/var/lib/kiosk/it/ssh")
    assert s.ssh_keys_path == Path("/var/lib/kiosk/it/authorized_keys")
    script = (ROOTFS / "usr/local/sbin/kiosk-ssh").read_text(encoding="utf-8")
    assert "${KIOSK_SSH_REQUEST:-/var/lib/kiosk/it/ssh}" in script
    assert "${KIOSK_SSH_KEYS:-/var/lib/kiosk/it/authorized_keys}" in script
    assert s.maintenance.ssh_allow_list == Path("/etc/kiosk/it-ssh-keys")
    assert "${KIOSK_SSH_ALLOWED:-/etc/kiosk/it-ssh-keys}" in script


def test_ssh_is_off_and_the_sticks_key_files_are_offered(kiosk: Kiosk) -> None:
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    (kiosk.stick / "notes.txt").write_text("not offered")
    answer = kiosk.ssh()
    assert answer.ok
    assert "SSH is off" in answer.text and "sshd on this kiosk: inactive" in answer.text
    assert [i.key for i in answer.items] == [str(kiosk.stick / "it.pub")]
    assert audited()[-1]["after"] == {"shown": "status", "on": False, "keys": []}


def test_without_a_list_of_its_keys_the_screen_says_so_up_front_and_turning_on_is_refused(
    kiosk: Kiosk,
) -> None:
    """The image's kiosk-ssh lets in only keys on IT's list, so on a kiosk without one (an image
    built without --it-keys) SSH cannot be turned on: the screen says why and what to do before IT
    picks anything, offers no file, and turning on writes nothing. Turning off still works."""
    kiosk.allow_list.unlink()
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    answer = kiosk.ssh()
    assert not answer.ok and answer.items == ()
    said = f"this kiosk has no list of IT's keys ({kiosk.allow_list}), so SSH cannot be turned on"
    assert answer.message.startswith(said) and "--it-keys" in answer.message
    assert answer.text.splitlines()[0] == answer.message and "SSH is off" in answer.text
    refused = kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on")
    assert not refused.ok and refused.message.startswith(f"SSH not turned on: {said}")
    assert not kiosk.request.exists() and not kiosk.keys.exists()
    assert audited()[-1]["after"] == {"refused": "no_allow_list"}
    assert kiosk.ssh(turn="off").ok
    kiosk.console._language = lambda: "zh_CN"
    assert kiosk.ssh().message.startswith(f"本机没有 IT 的密钥清单（{kiosk.allow_list}），无法开启 SSH")


def fingerprint(line: str) -> str:
    return parse_key_line(line).fingerprint


def test_a_list_the_kiosk_cannot_read_is_said_to_be_so_and_turning_on_is_refused(kiosk: Kiosk) -> None:
    """A list that is there but cannot be read (here a folder in its place) is not "no list": the
    screen says it cannot read it, and turning on is refused since the keys cannot be checked."""
    kiosk.allow_list.unlink()
    kiosk.allow_list.mkdir()
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    answer = kiosk.ssh()
    said = (
        f"cannot read IT's list of keys {kiosk.allow_list} (Is a directory), so the kiosk cannot check keys"
    )
    assert not answer.ok and answer.items == ()
    assert answer.message.startswith(said) and "mode 0644" in answer.message
    assert answer.text.splitlines()[0] == answer.message
    checked = kiosk.ssh(file=str(kiosk.stick / "it.pub"))
    assert not checked.ok and checked.message.startswith(said)
    assert "[on IT's list]" not in checked.text and "[NOT on IT's list]" not in checked.text
    refused = kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on")
    assert not refused.ok and refused.message.startswith(f"SSH not turned on: {said}")
    assert not kiosk.request.exists() and not kiosk.keys.exists()
    assert audited()[-1]["after"] == {"refused": "allow_list_unreadable"}
    kiosk.console._language = lambda: "zh_CN"
    assert kiosk.ssh().message.startswith(f"无法读取 IT 的密钥清单 {kiosk.allow_list}（Is a directory）")


def test_a_file_with_no_key_on_its_list_is_refused_up_front_and_nothing_is_written(kiosk: Kiosk) -> None:
    """kiosk-ssh lets in only keys on IT's list: a request with none of them would only be refused
    in its journal while the screen said SSH was on. The check already says so, and turning on is
    refused with what to do, audited by fingerprint."""
    (kiosk.stick / "guest.pub").write_text(OTHER + "\n")
    file = str(kiosk.stick / "guest.pub")
    checked = kiosk.ssh(file=file)
    assert not checked.ok
    said = f"none of the keys in guest.pub is on IT's list of keys {kiosk.allow_list}: add the key to that list as root"
    assert checked.message.startswith(f"these keys cannot turn SSH on: {said}")
    assert f"{fingerprint(OTHER)} guest@laptop  [NOT on IT's list]" in checked.text
    assert audited()[-1]["after"] == {"checked": [fingerprint(OTHER)], "not_on_list": [fingerprint(OTHER)]}

    refused = kiosk.ssh(file=file, turn="on")
    assert not refused.ok and refused.message.startswith(f"SSH not turned on: {said}")
    assert "IT's allow-list" in refused.message
    assert "[NOT on IT's list]" in refused.text
    assert not kiosk.request.exists() and not kiosk.keys.exists()
    assert kiosk.waits == []  # nothing asked, nothing waited for
    assert audited()[-1]["after"] == {"refused": "not_on_list", "keys": [fingerprint(OTHER)]}
    assert OTHER.split()[1][:40] not in json.dumps(audited())  # fingerprints only, never the key

    kiosk.console._language = lambda: "zh_CN"
    zh = kiosk.ssh(file=file, turn="on").message
    assert zh.startswith(
        f"未开启 SSH：guest.pub 中的密钥都不在 IT 的密钥清单 {kiosk.allow_list} 上：请以 root 身份"
    )


def test_only_the_listed_keys_are_written_and_the_ones_left_out_are_named(kiosk: Kiosk) -> None:
    """Same key = same type and base64: the list's comment and Windows line ends do not matter."""
    kiosk.allow_list.write_bytes(f"# IT\r\n{ED.rsplit(' ', 1)[0]} zhao@desk\r\n".encode())
    (kiosk.stick / "authorized_keys").write_text(f"{OTHER}\n{ED}\n")
    file = str(kiosk.stick / "authorized_keys")
    checked = kiosk.ssh(file=file)
    assert checked.ok and checked.message.startswith("2 key(s) checked, 1 of them not on IT's list of keys")
    assert f"{fingerprint(ED)} zhao@laptop  [on IT's list]" in checked.text
    assert f"{fingerprint(OTHER)} guest@laptop  [NOT on IT's list]" in checked.text

    on = kiosk.ssh(file=file, turn="on")
    assert on.ok, on.message
    assert kiosk.keys.read_text() == f"{ED}\n"
    assert on.message.startswith("SSH is on for 1 key(s) until 2026-12-02 18:00")
    assert on.message.endswith(f"Left out, not on IT's list: {fingerprint(OTHER)}")
    assert f"{fingerprint(ED)} zhao@laptop  [on IT's list]" in on.text
    assert f"Left out (1, not on IT's list):\n  ed25519 256 {fingerprint(OTHER)} guest@laptop" in on.text
    row = audited()[-1]["after"]
    assert [k.split()[2] for k in row["keys"]] == [fingerprint(ED)]
    assert row["not_on_list"] == [fingerprint(OTHER)]
    kiosk.console._language = lambda: "zh_CN"
    kiosk.ssh(turn="off")
    zh = kiosk.ssh(file=file, turn="on").message
    assert zh.endswith(f"。不在 IT 清单上、已略去的密钥：{fingerprint(OTHER)}")


def test_the_status_says_on_only_when_sshd_runs(kiosk: Kiosk) -> None:
    """The request in force is what the kiosk asked; kiosk-ssh may still have refused it (a list
    only root may change, the firewall, sshd). On a machine without systemd sshd's state is unknown
    and the request is all the screen has."""
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    assert kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on").ok
    kiosk.sshd = "inactive"  # kiosk-ssh turned it off again (or never kept it on)
    status = kiosk.ssh().text.splitlines()
    assert status[0] == (
        "SSH was asked on (until 2026-12-02 18:00) but is not running: the kiosk's SSH service did"
        " not turn it on (journalctl -u kiosk-ssh says why: IT's list changed or not root's alone, or a"
        " restart before network time, for example)"
    )
    assert status[1] == "sshd on this kiosk: inactive"
    assert "SSH is ON" not in "\n".join(status)
    kiosk.console._language = lambda: "zh_CN"
    assert kiosk.ssh().text.startswith("已请求开启 SSH（到 2026-12-02 18:00），但 SSH 没有运行")
    kiosk.console._language = lambda: "en"

    kiosk.sshd = "active"
    assert kiosk.ssh().text.splitlines()[:2] == [
        "SSH is ON until 2026-12-02 18:00, then it turns itself off",
        "sshd on this kiosk: active",
    ]
    kiosk.sshd = "unknown"
    assert kiosk.ssh().text.splitlines()[:2] == [
        "SSH is ON until 2026-12-02 18:00, then it turns itself off",
        "sshd on this kiosk: unknown",
    ]
    # turned off, and kiosk-ssh has not stopped sshd yet (or failed to): not simply "off"
    assert kiosk.ssh(turn="off").ok
    kiosk.sshd = "active"
    assert kiosk.ssh().text.splitlines()[:2] == [
        "SSH is being turned off: sshd still runs, and the kiosk's SSH service stops it within a"
        " minute (if it does not, see journalctl -u kiosk-ssh)",
        "sshd on this kiosk: active",
    ]
    kiosk.sshd = "inactive"
    assert kiosk.ssh().text.splitlines()[0] == "SSH is off"


def test_each_written_key_is_marked_on_or_not_on_its_list(kiosk: Kiosk) -> None:
    """The list is root's and may change while SSH is on: the status marks each written key."""
    (kiosk.stick / "authorized_keys").write_text(f"{ED}\n{RSA}\n")
    kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    kiosk.allow_list.write_text(f"{RSA}\n")  # root took ED off the list
    text = kiosk.ssh().text
    assert f"{fingerprint(ED)} zhao@laptop  [NOT on IT's list]" in text
    assert f"{fingerprint(RSA)} ops@hq  [on IT's list]" in text


def test_when_sshd_does_not_start_turning_on_says_so(kiosk: Kiosk) -> None:
    """kiosk-ssh can refuse what the kiosk cannot see (a list another user may change, the
    firewall, sshd): the kiosk waits for sshd a while, then says it is not running and where to look."""
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    kiosk.kiosk_ssh_starts_sshd = False
    on = kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on")
    assert not on.ok
    assert on.message == (
        "SSH was asked on for 1 key(s) until 2026-12-02 18:00, but sshd is still not running after 10 s:"
        " the kiosk's SSH service did not turn it on (see journalctl -u kiosk-ssh); press Refresh to look again"
    )
    assert sum(kiosk.waits) == 10 and set(kiosk.waits) == {0.5}
    assert on.text.startswith("SSH was asked on (until 2026-12-02 18:00) but is not running")
    # what IT asked stays (kiosk-ssh tries it again at boot); "Turn SSH off" withdraws it
    assert kiosk.request.read_text().startswith("on\n")


def test_turning_on_waits_only_until_sshd_runs(kiosk: Kiosk) -> None:
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    assert kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on").ok
    assert kiosk.waits == [0.5]
    kiosk.waits.clear()
    kiosk.sshd = "unknown"  # no systemd: nothing to wait for
    assert kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on").ok
    assert kiosk.waits == []


def test_turning_on_writes_checked_keys_and_a_time_limit_and_audits_fingerprints_only(kiosk: Kiosk) -> None:
    (kiosk.stick / "authorized_keys").write_text(f"# IT\n{ED}\n{RSA}\n")
    file = str(kiosk.stick / "authorized_keys")
    checked = kiosk.ssh(file=file)
    assert checked.ok and "2 key(s) checked" in checked.message
    assert "SHA256:" in checked.text and "zhao@laptop" in checked.text
    assert not kiosk.request.exists()  # a check writes nothing

    on = kiosk.ssh(file=file, turn="on")
    assert on.ok, on.message
    assert "until 2026-12-02 18:00" in on.message  # 4 h, local time
    assert kiosk.keys.read_text() == f"{ED}\n{RSA}\n"
    until = NOW + timedelta(hours=4)
    assert kiosk.request.read_text() == f"on\nuntil={int(until.timestamp())}\n"
    assert stat.S_IMODE(kiosk.keys.stat().st_mode) == 0o640
    assert "SSH is ON until 2026-12-02 18:00" in on.text

    row = audited()[-1]
    assert row["after"]["on"] is True and row["after"]["until"] == "2026-12-02T10:00:00Z"
    assert len(row["after"]["keys"]) == 2
    assert row["before"] == {"on": False, "keys": []}
    every_row = json.dumps(audited())
    for line in (ED, RSA):
        assert line.split()[1] not in every_row  # never the key itself
        assert line.split()[1][:40] not in every_row


def test_fingerprints_are_the_ones_ssh_keygen_prints(kiosk: Kiosk, tmp_path: Path) -> None:
    tool = shutil.which("ssh-keygen")
    if tool is None:
        pytest.fail("ssh-keygen is missing: run bash scripts/install-debian-deps.sh (openssh-client)")
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    checked = kiosk.ssh(file=str(kiosk.stick / "it.pub"))
    done = subprocess.run(
        [tool, "-l", "-f", str(kiosk.stick / "it.pub")], capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[1] in checked.text


def test_a_file_with_one_bad_line_is_refused_whole_and_nothing_is_written(kiosk: Kiosk) -> None:
    (kiosk.stick / "authorized_keys").write_text(f'{ED}\ncommand="/bin/sh" {RSA}\n')
    (kiosk.stick / "old.pub").write_text(RSA_SHORT + "\n")
    for name, said in (
        ("authorized_keys", 'line 2: keys with options (command="/bin/sh"...) are not accepted'),
        ("old.pub", "the RSA key has 2048 bits, at least 3072 are needed"),
    ):
        answer = kiosk.ssh(file=str(kiosk.stick / name), turn="on")
        assert not answer.ok and said in answer.message, answer.message
    assert not kiosk.request.exists() and not kiosk.keys.exists()
    assert [r["after"]["refused"] for r in audited()] == ["options", "rsa_short"]


def test_only_a_listed_file_on_a_mounted_stick_is_read(kiosk: Kiosk, tmp_path: Path) -> None:
    elsewhere = tmp_path / "authorized_keys"
    elsewhere.write_text(ED + "\n")
    answer = kiosk.ssh(file=str(elsewhere), turn="on")
    assert not answer.ok and "not a key file listed" in answer.message
    assert not kiosk.request.exists()


def test_turning_off_writes_off_and_removes_the_keys_file(kiosk: Kiosk) -> None:
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on")
    off = kiosk.ssh(turn="off")
    assert off.ok and "turned off" in off.message
    assert kiosk.request.read_text() == "off\n"
    assert not kiosk.keys.exists()
    assert (kiosk.stick / "it.pub").exists()  # the stick's own file is never touched
    row = audited()[-1]
    assert row["before"]["on"] is True and len(row["before"]["keys"]) == 1
    assert row["after"] == {"on": False, "keys_removed": True}


def test_past_its_time_limit_the_screen_says_it_ran_out(kiosk: Kiosk) -> None:
    (kiosk.stick / "it.pub").write_text(ED + "\n")
    kiosk.ssh(file=str(kiosk.stick / "it.pub"), turn="on")
    kiosk.now = NOW + timedelta(hours=4, minutes=1)
    answer = kiosk.ssh()
    # sshd still runs until kiosk-ssh's minute check stops it: the screen says both
    assert answer.text.splitlines()[0] == (
        "SSH's time limit ran out at 2026-12-02 18:00: sshd still runs, and the kiosk's SSH service"
        " stops it within a minute (if it does not, see journalctl -u kiosk-ssh)"
    )
    assert audited()[-1]["after"]["on"] is False
    kiosk.sshd = "inactive"
    assert kiosk.ssh().text.splitlines()[0] == "SSH is off: its time limit ran out at 2026-12-02 18:00"


def _kiosk_ssh_apply(
    kiosk: Kiosk, tmp_path: Path, allowed: Path
) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
    """The image's kiosk-ssh ``apply`` (as root does) on what the kiosk wrote, with nft and systemctl
    recorded in ``tmp_path/bin/calls``: its run, the folder sshd's keys go to, and the recorders'."""
    fake = tmp_path / "bin"
    _recorder(fake, "nft")
    _recorder(fake, "systemctl")
    dest = tmp_path / "data-ssh"
    env = {
        **os.environ,
        "KIOSK_SSH_REQUEST": str(kiosk.request),
        "KIOSK_SSH_KEYS": str(kiosk.keys),
        "KIOSK_SSH_DEST": str(dest),
        "KIOSK_SSH_STATE": str(tmp_path / "data-ssh-state"),
        "KIOSK_SSH_ALLOWED": str(allowed),
        "NFT": str(fake / "nft"),
        "SYSTEMCTL": str(fake / "systemctl"),
    }
    script = str(ROOTFS / "usr/local/sbin/kiosk-ssh")
    done = subprocess.run([script, "apply"], env=env, capture_output=True, text=True, timeout=60, check=False)
    return done, dest, fake


def test_kiosk_ssh_applies_what_the_kiosk_wrote(kiosk: Kiosk, tmp_path: Path) -> None:
    """The root side takes the kiosk's file as it is: every checked key on IT's list, port 22, sshd,
    the timer."""
    (kiosk.stick / "authorized_keys").write_text(f"{ED}\n{RSA}\n")
    allowed = _allow_list(tmp_path, f"{ED}\n{RSA}\n")
    kiosk.now = datetime.now(UTC)  # kiosk-ssh compares with the real clock
    assert kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on").ok
    done, dest, fake = _kiosk_ssh_apply(kiosk, tmp_path, allowed)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "it").read_text() == f"{ED}\n{RSA}\n"
    calls = (fake / "calls").read_text()
    assert (
        "systemctl start ssh.service" in calls
        and "systemctl --no-block start kiosk-ssh-expire.timer" in calls
    )
    assert "with 2 key(s)" in done.stdout

    assert kiosk.ssh(turn="off").ok
    done, dest, _fake = _kiosk_ssh_apply(kiosk, tmp_path, allowed)
    assert done.returncode == 0 and not (dest / "it").exists()


def test_kiosk_ssh_lets_in_exactly_the_keys_the_kiosk_wrote_from_a_partly_listed_file(
    kiosk: Kiosk, tmp_path: Path
) -> None:
    """The kiosk's reading of IT's list is kiosk-ssh's: from a file with a key not on the list, and a
    list whose comments and line ends differ, sshd gets exactly the keys the kiosk wrote and said."""
    (kiosk.stick / "authorized_keys").write_text(f"{OTHER}\n{RSA}\n{ED}\n")
    listed = f"# IT\r\n{RSA.rsplit(' ', 1)[0]} ops@elsewhere\r\n\r\n{ED.rsplit(' ', 1)[0]}\r\n"
    assert _allow_list(tmp_path, listed) == kiosk.allow_list  # rewritten with root's modes
    kiosk.now = datetime.now(UTC)  # kiosk-ssh compares with the real clock
    on = kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    assert on.ok and on.message.endswith(f"Left out, not on IT's list: {fingerprint(OTHER)}")
    assert kiosk.keys.read_text() == f"{RSA}\n{ED}\n"
    done, dest, _fake = _kiosk_ssh_apply(kiosk, tmp_path, kiosk.allow_list)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "it").read_text() == kiosk.keys.read_text()


def test_the_answers_are_in_the_kiosks_language(kiosk: Kiosk) -> None:
    (kiosk.stick / "authorized_keys").write_text(f"{ED}\nssh-dss AAAAB3NzaC1kc3MAAACBAP\n")
    kiosk.console._language = lambda: "zh_CN"
    refused = kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    assert refused.message.startswith("未开启 SSH：第 2 行：不接受 ssh-dss 类型的密钥")
    (kiosk.stick / "authorized_keys").write_text(ED + "\n")
    on = kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    assert on.message.startswith("SSH 已开启，1 个密钥，到 2026-12-02 18:00 自动关闭")
    assert "SSH 已关闭" in kiosk.ssh(turn="off").message
