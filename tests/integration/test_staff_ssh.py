"""IT's SSH switch on real files: the ItConsole action with a real store's audit log, a folder the
mount table reports as a USB stick, and the request and keys files in a temporary data folder; then
the image's own kiosk-ssh (with nft and systemctl recorded) applies what the kiosk wrote."""

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
RSA_SHORT = public(rsa.generate_private_key(public_exponent=65537, key_size=2048)) + " old@pc"


class Kiosk:
    def __init__(self, tmp: Path) -> None:
        self.stick = tmp / "media" / "STICK"
        self.stick.mkdir(parents=True)
        self.data = tmp / "data"
        self.data.mkdir()
        #: IT's list of keys as the image holds it (root's): the app only looks whether it is there
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
        self.console = ItConsole(
            self.settings,
            self.store.audit,
            lambda: "en",
            checks=None,  # SSH asks no diagnostics
            hq_client=lambda: pytest.fail("SSH never asks HQ"),
            bundle_sources=lambda: pytest.fail("no bundle"),
            readers=SystemReaders(
                mounts=lambda: f"/dev/sda1 {self.stick} vfat rw,nosuid 0 0\n",
                ssh_active=lambda: "inactive",
                now=lambda: self.now,
            ),
        )

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
    assert "time limit ran out at 2026-12-02 18:00" in answer.text
    assert audited()[-1]["after"]["on"] is False


def test_kiosk_ssh_applies_what_the_kiosk_wrote(kiosk: Kiosk, tmp_path: Path) -> None:
    """The root side takes the kiosk's file as it is: every checked key on IT's list, port 22, sshd,
    the timer."""
    (kiosk.stick / "authorized_keys").write_text(f"{ED}\n{RSA}\n")
    allowed = _allow_list(tmp_path, f"{ED}\n{RSA}\n")
    kiosk.now = datetime.now(UTC)  # kiosk-ssh compares with the real clock
    assert kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on").ok
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
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "it").read_text() == f"{ED}\n{RSA}\n"
    calls = (fake / "calls").read_text()
    assert (
        "systemctl start ssh.service" in calls
        and "systemctl --no-block start kiosk-ssh-expire.timer" in calls
    )
    assert "with 2 key(s)" in done.stdout

    assert kiosk.ssh(turn="off").ok
    done = subprocess.run([script, "apply"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not (dest / "it").exists()


def test_the_answers_are_in_the_kiosks_language(kiosk: Kiosk) -> None:
    (kiosk.stick / "authorized_keys").write_text(f"{ED}\nssh-dss AAAAB3NzaC1kc3MAAACBAP\n")
    kiosk.console._language = lambda: "zh_CN"
    refused = kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    assert refused.message.startswith("未开启 SSH：第 2 行：不接受 ssh-dss 类型的密钥")
    (kiosk.stick / "authorized_keys").write_text(ED + "\n")
    on = kiosk.ssh(file=str(kiosk.stick / "authorized_keys"), turn="on")
    assert on.message.startswith("SSH 已开启，1 个密钥，到 2026-12-02 18:00 自动关闭")
    assert "SSH 已关闭" in kiosk.ssh(turn="off").message
