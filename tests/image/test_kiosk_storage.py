"""kiosk-storage, run for real on a disk laid out as the Raspberry Pi image is.

The disk is a sparse file on a loop device (root only: make test runs as root, as the README says),
partitioned as pi-gen does (boot at 4 MiB, then the root), with labels of this test's own so that
nothing else on the host is ever touched. The script makes the third partition, formats it and
seeds it from a scratch tree (``KIOSK_SEED_FROM``) in place of the image's folders.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.image.recipe import ROOTFS
from tests.image.test_image_scripts import KEY, _on, _ssh

SCRIPT = ROOTFS / "usr/local/sbin/kiosk-storage"
MIB = 1024 * 1024
SECTOR = 512


def _run(
    *argv: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=check, timeout=120)


@dataclass
class Card:
    loop: str
    root_label: str
    data_label: str
    seed_from: Path

    def storage(self, min_mb: int = 64, fstab: str | None = None) -> subprocess.CompletedProcess[str]:
        """Runs kiosk-storage; ``fstab`` is /etc/fstab's text (default: the image's, which mounts
        the data partition)."""
        fstab_file = self.seed_from.parent / "fstab"
        if fstab is None:
            fstab = f"LABEL={self.root_label} / ext4 defaults 0 1\nLABEL={self.data_label} /data ext4 defaults 0 2\n"
        fstab_file.write_text(fstab, encoding="ascii")
        env = {
            **os.environ,
            "KIOSK_ROOT_LABEL": self.root_label,
            "KIOSK_DATA_LABEL": self.data_label,
            "KIOSK_SEED_FROM": str(self.seed_from),
            "KIOSK_DATA_MIN_MB": str(min_mb),
            "KIOSK_FSTAB": str(fstab_file),
        }
        return _run("sh", str(SCRIPT), env=env, check=False)

    def partitions(self) -> list[tuple[int, int]]:
        """(start, size) in sectors of each partition, as the kernel sees them."""
        name = Path(self.loop).name
        out = []
        for part in sorted(Path("/sys/class/block", name).glob(f"{name}p*")):
            out.append((int((part / "start").read_text()), int((part / "size").read_text())))
        return out

    def mounted(self, tmp: Path, number: int) -> _Mounted:
        return _Mounted(f"{self.loop}p{number}", tmp / f"mnt{number}")


class _Mounted:
    def __init__(self, device: str, where: Path) -> None:
        self.device, self.where = device, where

    def __enter__(self) -> Path:
        self.where.mkdir(exist_ok=True)
        _run("mount", self.device, str(self.where))
        return self.where

    def __exit__(self, *_exc: object) -> None:
        _run("umount", str(self.where))


def _seed_tree(top: Path) -> Path:
    """What the image holds in the three folders kiosk-storage copies, with their modes."""
    (top / "opt/kiosk/releases/1.0.0/venv").mkdir(parents=True)
    (top / "opt/kiosk/releases/1.0.0/venv/marker").write_text("release 1.0.0\n")
    (top / "opt/kiosk/current").symlink_to("releases/1.0.0")
    lib = top / "var/lib/kiosk"
    lib.mkdir(parents=True)
    (lib / "kiosk.sqlite3.key").write_text("k" * 32)
    os.chown(lib / "kiosk.sqlite3.key", 4242, 4242)
    (lib / "kiosk.sqlite3.key").chmod(0o600)
    os.chown(lib, 4242, 4242)
    lib.chmod(0o750)
    etc = top / "etc/kiosk"
    etc.mkdir(parents=True)
    os.chown(etc, 0, 4242)  # root:kiosk 0750, as install-kiosk.sh makes it
    etc.chmod(0o750)
    (etc / "kiosk.toml").write_text('[kiosk]\nid = "@KIOSK_ID@"\n')
    (etc / "kiosk.toml").chmod(0o600)
    # IT's list of keys, as --it-keys leaves it or as IT puts it in the card's root partition
    (etc / "it-ssh-keys").write_text(KEY + "\n")
    (etc / "it-ssh-keys").chmod(0o644)
    return top


def _need_root_and_loop() -> None:
    if os.geteuid() != 0:
        pytest.fail("kiosk-storage partitions a loop device: run make test as root (README)")
    for tool in ("losetup", "sfdisk", "partx", "mkfs.ext4", "blkid", "lsblk"):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is missing (util-linux, fdisk and e2fsprogs: scripts/install-debian-deps.sh)"
            )


def _make_card(
    tmp_path: Path,
    *,
    size_mb: int,
    extra_partition: bool = False,
    extra_start: int = 212992,
    extra_type: str = "83",
) -> Iterator[Card]:
    _need_root_and_loop()
    image = tmp_path / "card.img"
    with image.open("wb") as f:
        f.truncate(size_mb * MIB)
    # pi-gen's layout: the boot partition at 4 MiB (so sectors 2048..8191 are free), then the root
    layout = "label: dos\nstart=8192, size=65536, type=c\nstart=73728, size=131072, type=83\n"
    if extra_partition:
        layout += f"start={extra_start}, size=65536, type={extra_type}\n"
    subprocess.run(
        ["sfdisk", "--quiet", str(image)],
        input=layout,
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    loop = _run("losetup", "--find", "--show", "--partscan", str(image)).stdout.strip()
    # --partscan does not always make the partitions' nodes (seen on a 6.18 kernel): partx does
    _run("partx", "--add", loop, check=False)
    if not Path(f"{loop}p2").exists():
        _run("losetup", "-d", loop)
        pytest.fail(f"{loop} shows no partitions after losetup --partscan and partx --add")
    suffix = secrets.token_hex(3)
    card = Card(loop, f"ktroot{suffix}", f"ktdata{suffix}", _seed_tree(tmp_path / "from"))
    try:
        _run("mkfs.ext4", "-q", "-F", "-L", card.root_label, f"{loop}p2")
        yield card
    finally:
        for mnt in tmp_path.glob("mnt*"):
            subprocess.run(["umount", str(mnt)], capture_output=True, timeout=60)
        subprocess.run(["losetup", "-d", loop], capture_output=True, timeout=60)


@pytest.fixture
def card(tmp_path: Path) -> Iterator[Card]:
    yield from _make_card(tmp_path, size_mb=512)


def test_the_data_partition_takes_the_rest_of_the_card_after_the_root(card: Card, tmp_path: Path) -> None:
    done = card.storage()
    assert done.returncode == 0, done.stderr
    parts = card.partitions()
    assert len(parts) == 3
    (_, _), (root_start, root_size), (data_start, data_size) = parts
    # after the root, not in the 3 MiB gap before the boot partition where sfdisk would put it
    assert data_start >= root_start + root_size
    assert data_start % 8192 == 0
    assert data_size * SECTOR > 200 * MIB
    label = _run("blkid", "-o", "value", "-s", "LABEL", f"{card.loop}p3").stdout.strip()
    assert label == card.data_label
    assert _entry_type(f"{card.loop}p3") == "0x83"  # marked finished


def _entry_type(node: str) -> str:
    return _run("blkid", "-p", "-o", "value", "-s", "PART_ENTRY_TYPE", node).stdout.strip()


def test_the_seed_keeps_owners_and_modes_and_is_marked_complete(card: Card, tmp_path: Path) -> None:
    assert card.storage().returncode == 0
    with card.mounted(tmp_path, 3) as data:
        assert (data / "opt-kiosk/releases/1.0.0/venv/marker").read_text() == "release 1.0.0\n"
        assert os.readlink(data / "opt-kiosk/current") == "releases/1.0.0"
        key = (data / "lib-kiosk/kiosk.sqlite3.key").stat()
        assert (key.st_uid, key.st_mode & 0o777) == (4242, 0o600)
        lib = (data / "lib-kiosk").stat()
        assert (lib.st_uid, lib.st_mode & 0o777) == (4242, 0o750)
        assert (data / "etc-kiosk/kiosk.toml").stat().st_mode & 0o777 == 0o600
        # IT's list of keys in the card's root partition reaches the data partition at first boot
        # as a list kiosk-ssh takes (root's, in a folder only root can change)
        code, out, _ = _ssh(tmp_path, "apply", "on\n", KEY + "\n", allowed=data / "etc-kiosk/it-ssh-keys")
        assert code == 0 and _on(out), out
        for folder in ("journal", "ssh", "os-update", "timesync"):
            assert (data / folder).is_dir()
        assert (data / ".kiosk-seeded").exists()


def test_a_second_boot_changes_nothing(card: Card, tmp_path: Path) -> None:
    assert card.storage().returncode == 0
    with card.mounted(tmp_path, 3) as data:
        (data / "lib-kiosk/kiosk.sqlite3").write_text("sales")
    before = _superblock(f"{card.loop}p3")
    again = card.storage()
    assert again.returncode == 0, again.stderr
    assert "making" not in again.stdout and "seeding" not in again.stdout
    assert len(card.partitions()) == 3
    # it looked for the seed's marker read-only: the partition was not written before its fsck
    assert _superblock(f"{card.loop}p3") == before
    with card.mounted(tmp_path, 3) as data:
        assert (data / "lib-kiosk/kiosk.sqlite3").read_text() == "sales"


def test_a_partition_an_earlier_image_seeded_gets_the_folders_it_lacks(card: Card, tmp_path: Path) -> None:
    """/etc/fstab binds /data/timesync (timesyncd's record of the time); a partition seeded before
    that folder existed would fail the bind, and timesyncd with it. It is added once, the rest kept."""
    assert card.storage().returncode == 0
    with card.mounted(tmp_path, 3) as data:
        (data / "timesync").rmdir()
        (data / "lib-kiosk/kiosk.sqlite3").write_text("sales")
    again = card.storage()
    assert again.returncode == 0, again.stderr
    assert "adding timesync" in again.stdout and "seeding" not in again.stdout
    with card.mounted(tmp_path, 3) as data:
        info = (data / "timesync").stat()
        assert (info.st_uid, info.st_mode & 0o777) == (0, 0o755)
        assert (data / "lib-kiosk/kiosk.sqlite3").read_text() == "sales"
    before = _superblock(f"{card.loop}p3")
    assert "adding" not in card.storage().stdout
    assert _superblock(f"{card.loop}p3") == before


def _superblock(node: str) -> dict[str, str]:
    """What a read-write mount changes in an ext4 superblock: its mount count and times."""
    fields = ("Mount count", "Last mount time", "Last write time")
    header = _run("dumpe2fs", "-h", node).stdout
    found = dict(line.split(":", 1) for line in header.splitlines() if line.startswith(fields))
    assert set(found) == set(fields), header
    return found


def test_a_seed_cut_short_is_completed_on_the_next_boot(card: Card, tmp_path: Path) -> None:
    assert card.storage().returncode == 0
    with card.mounted(tmp_path, 3) as data:
        # what a power cut in the middle of the copy leaves: part of the files, no marker
        (data / ".kiosk-seeded").unlink()
        shutil.rmtree(data / "etc-kiosk")
        (data / "lib-kiosk/kiosk.sqlite3.key").unlink()
    again = card.storage()
    assert again.returncode == 0, again.stderr
    assert "seeding" in again.stdout
    assert len(card.partitions()) == 3
    with card.mounted(tmp_path, 3) as data:
        assert (data / "etc-kiosk/kiosk.toml").exists()
        assert (data / "lib-kiosk/kiosk.sqlite3.key").stat().st_mode & 0o777 == 0o600
        assert (data / ".kiosk-seeded").exists()


def test_a_kiosk_installed_by_hand_gets_no_partition_nothing_would_mount(card: Card) -> None:
    """Raspberry Pi OS's own fstab (a hand install, image/README.md) mounts no data partition: one
    made here would be formatted and never used, or, on a card whose root was grown, the unit would
    fail at every boot with "use a larger card". Found in review."""
    done = card.storage(fstab=f"LABEL={card.root_label} / ext4 defaults 0 1\n")
    assert done.returncode == 0, done.stderr
    assert "installed by hand" in done.stdout and "nothing to do" in done.stdout
    assert len(card.partitions()) == 2


def test_a_card_too_small_for_the_data_is_refused_untouched(card: Card) -> None:
    refused = card.storage(min_mb=4096)
    assert refused.returncode == 1
    assert "use a larger card" in refused.stderr
    assert len(card.partitions()) == 2


#: where kiosk-storage puts the data partition on the card above: just after the root, 4 MiB aligned
DATA_START = 73728 + 131072


def test_a_first_boot_cut_short_before_the_file_system_is_finished_at_the_next(tmp_path: Path) -> None:
    """GIVEN power lost after the data partition was made (type da, "not finished") and before its
    file system was WHEN the next boot runs kiosk-storage THEN it formats and seeds that partition,
    its own, and marks it finished. Found in review: it stopped with "Re-flash the card"."""
    for card in _make_card(
        tmp_path, size_mb=512, extra_partition=True, extra_start=DATA_START, extra_type="da"
    ):
        done = card.storage()
        assert done.returncode == 0, done.stderr
        assert "cut short" in done.stdout
        label = _run("blkid", "-o", "value", "-s", "LABEL", f"{card.loop}p3").stdout.strip()
        assert label == card.data_label
        assert _entry_type(f"{card.loop}p3") == "0x83"
        with card.mounted(tmp_path, 3) as data:
            assert (data / ".kiosk-seeded").exists()


def test_an_unfinished_partition_over_an_earlier_cards_data_is_made_afresh(tmp_path: Path) -> None:
    """A re-flashed card: the earlier kiosk's data partition is still on the card where the new one
    goes. Cut short before mkfs, the new partition shows that old file system, label and all; it is
    formatted again rather than taken, so the kiosk never comes up with another kiosk's store."""
    for card in _make_card(
        tmp_path, size_mb=512, extra_partition=True, extra_start=DATA_START, extra_type="da"
    ):
        _run("mkfs.ext4", "-q", "-F", "-L", card.data_label, f"{card.loop}p3")
        with card.mounted(tmp_path, 3) as old:
            (old / "from-the-earlier-kiosk").write_text("sales")
            (old / ".kiosk-seeded").write_text("")
        done = card.storage()
        assert done.returncode == 0, done.stderr
        assert "cut short" in done.stdout
        with card.mounted(tmp_path, 3) as data:
            assert not (data / "from-the-earlier-kiosk").exists()
            assert (data / "lib-kiosk/kiosk.sqlite3.key").exists()


def test_a_data_partition_with_a_damaged_superblock_is_never_formatted(tmp_path: Path) -> None:
    """A finished data partition whose primary superblock is damaged (a failing card) shows no file
    system to blkid or wipefs: it is refused, its bytes untouched, so e2fsck -b can still recover it.
    Found in review: an earlier fix would have formatted it."""
    for card in _make_card(tmp_path, size_mb=512, extra_partition=True, extra_start=DATA_START):
        node = f"{card.loop}p3"
        _run("mkfs.ext4", "-q", "-F", "-L", card.data_label, node)
        with open(node, "r+b") as dev:  # the ext4 magic, 0x438 into the partition
            dev.seek(0x438)
            dev.write(b"\0\0")
        before = hashlib.sha256(Path(node).read_bytes()).hexdigest()
        refused = card.storage()
        assert refused.returncode == 1
        assert "Re-flash the card" in refused.stderr
        assert hashlib.sha256(Path(node).read_bytes()).hexdigest() == before


@pytest.mark.parametrize("start", [212992, DATA_START], ids=["elsewhere", "where-ours-goes"])
def test_a_card_with_a_third_partition_of_its_own_is_never_formatted(tmp_path: Path, start: int) -> None:
    """Not even where kiosk-storage would have put its own: anything on it is someone's."""
    for card in _make_card(tmp_path, size_mb=512, extra_partition=True, extra_start=start):
        _run("mkfs.ext4", "-q", "-F", "-L", "theirs", f"{card.loop}p3")
        refused = card.storage()
        assert refused.returncode == 1
        assert "Re-flash the card" in refused.stderr
        label = _run("blkid", "-o", "value", "-s", "LABEL", f"{card.loop}p3").stdout.strip()
        assert label == "theirs"
