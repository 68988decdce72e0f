"""kiosk-machine-id, run for real against a read-only ext4 root mounted from a loop device.

A qemu boot of the image showed a new machine id on every boot (the id systemd made went to the RAM
overlay), so the journal of the boot before was out of sight. The script writes the id into the
real root once and leaves it read-only again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.image.recipe import ROOTFS

SCRIPT = ROOTFS / "usr/local/sbin/kiosk-machine-id"
ID = "0123456789abcdef0123456789abcdef"


def _options(where: Path) -> set[str]:
    out = subprocess.run(
        ["findmnt", "-n", "-o", "OPTIONS", str(where)], capture_output=True, text=True, timeout=30
    )
    return set(out.stdout.strip().split(","))


@pytest.fixture
def root_ro(tmp_path: Path) -> Iterator[Path]:
    """An ext4 root with an empty /etc/machine-id, as the image ships it, mounted read-only."""
    if os.geteuid() != 0:
        pytest.fail("kiosk-machine-id remounts a loop-mounted file system: run make test as root (README)")
    for tool in ("mkfs.ext4", "losetup", "mount", "findmnt"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing (e2fsprogs, util-linux: scripts/install-debian-deps.sh)")
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc/machine-id").write_text("")
    image = tmp_path / "root.ext4"
    subprocess.run(
        ["mkfs.ext4", "-q", "-d", str(tree), str(image), "16M"], check=True, capture_output=True, timeout=60
    )
    where = tmp_path / "root-ro"
    where.mkdir()
    # a writable loop device mounted read-only, as the card under /media/root-ro (mount -o loop,ro
    # would make the device itself read-only, which no remount can change)
    loop = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    try:
        subprocess.run(["mount", "-o", "ro", loop, str(where)], check=True, timeout=60)
        yield where
    finally:
        subprocess.run(["umount", str(where)], capture_output=True, timeout=60)
        subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=60)


def _keep(root_ro: Path, tmp_path: Path, machine_id: str) -> subprocess.CompletedProcess[str]:
    current = tmp_path / "machine-id"
    current.write_text(machine_id + "\n")
    env = {**os.environ, "KIOSK_ROOT_RO": str(root_ro), "KIOSK_MACHINE_ID_FILE": str(current)}
    return subprocess.run(["sh", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)


def test_this_boots_id_is_written_into_the_real_root_which_stays_read_only(
    root_ro: Path, tmp_path: Path
) -> None:
    assert "ro" in _options(root_ro)
    # on the kiosk the overlay holds the root's /etc/machine-id open; a new file renamed over it
    # would leave an unlinked inode in use, and ext4 then refuses to go back to read-only
    with (root_ro / "etc/machine-id").open("rb"):
        done = _keep(root_ro, tmp_path, ID)
    assert done.returncode == 0, done.stderr
    assert (root_ro / "etc/machine-id").read_text() == ID + "\n"
    assert "ro" in _options(root_ro)


def test_an_id_already_kept_is_never_replaced(root_ro: Path, tmp_path: Path) -> None:
    assert _keep(root_ro, tmp_path, ID).returncode == 0
    again = _keep(root_ro, tmp_path, "f" * 32)
    assert again.returncode == 0, again.stderr
    assert (root_ro / "etc/machine-id").read_text() == ID + "\n"


@pytest.mark.parametrize("bad", ["", "uninitialized", "0123", "0123456789ABCDEF0123456789ABCDEF"])
def test_no_valid_id_writes_nothing(root_ro: Path, tmp_path: Path, bad: str) -> None:
    refused = _keep(root_ro, tmp_path, bad)
    assert refused.returncode == 1
    assert "nothing written" in refused.stderr
    assert (root_ro / "etc/machine-id").read_text() == ""
    assert "ro" in _options(root_ro)
