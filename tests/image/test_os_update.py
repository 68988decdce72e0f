"""kiosk-os-update reboots only a kiosk that is idle: the real HOLD handshake, the real script.

The kiosk side is real: a ``CheckoutController`` on a real store and its ``OtaLink`` socket in a
temporary data folder, pumped on this (the UI) thread while the script runs. The script runs as on
a kiosk, with the commands that would change this machine (apt-get, unattended-upgrade,
overlayroot-chroot, mount, the reboot) replaced by recorders, the only fakes here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.gpio.indicators import NullIndicators
from drivers.printer.file_printer import FileReceiptPrinter
from kiosk.controller import CheckoutController, ControllerOptions
from kiosk.core import checkout as co
from kiosk.core.receipt import ReceiptTemplate
from kiosk.ota_link import OtaLink
from kiosk.ports import CatalogItem
from kiosk.store.db import open_store
from kiosk.store.sales import SaleStore
from tests.fakes.clock import FakeClock
from tests.fakes.payments import FakePaymentGateway
from tests.image.recipe import ROOTFS
from tests.image.test_image_scripts import _recorder

SCRIPT = ROOTFS / "usr/local/sbin/kiosk-os-update"
#: the upgrade as the overlayroot-chroot recorder logs it
UPGRADE = "overlayroot-chroot sh -c apt-get update -qq && unattended-upgrade"
WATER = CatalogItem("w", "矿泉水", "Water", 200, "6901234567892", "drinks")


class Kiosk:
    """A real checkout with its update socket, in ``tmp/data``."""

    def __init__(self, tmp: Path) -> None:
        self.data = tmp / "data"
        store = SaleStore(open_store(tmp / "kiosk.sqlite3"), "k1")
        store.replace_catalog([WATER])
        self.controller = CheckoutController(
            options=ControllerOptions(kiosk_id="k1", store_name="店", idle_timeout_s=60, done_timeout_s=5),
            store=store,
            gateway=FakePaymentGateway(),
            printer=FileReceiptPrinter(tmp / "receipts"),
            indicators=NullIndicators(),
            template=ReceiptTemplate.default(),
            clock=FakeClock(),
            background=False,
        )
        self.link = OtaLink(self.data, self.controller, "1.0.0", answer_timeout_s=60)

    def customer_with_a_cart(self) -> None:
        self.controller.dispatch(co.StartTapped())
        self.controller.dispatch(co.ProductTapped(self.controller.catalog()[0]))

    def customer_leaves(self) -> None:
        self.controller.dispatch(co.CancelTapped())
        assert self.controller.state.phase is co.Phase.ATTRACT


class Run:
    """kiosk-os-update with recorded commands; ``run`` pumps the kiosk's UI thread meanwhile."""

    def __init__(self, tmp: Path, kiosk: Kiosk) -> None:
        self.tmp, self.kiosk = tmp, kiosk
        self.bin = tmp / "bin"
        self.state = tmp / "os-update"
        #: the mark of a reboot still to come (its reason), and the boot it was made in
        self.pending = self.state / "reboot-pending"
        self.pending_boot = self.state / "reboot-pending-boot"
        self.reboot_required = tmp / "run" / "reboot-required"
        self.reboot_required.parent.mkdir()
        self.config = tmp / "kiosk.toml"
        self.config.write_text(
            f'[kiosk]\nid = "k1"\ndata_dir = "{kiosk.data}"\n\n[ota]\nmaintenance_window = "00:00-24:00"\n',
            encoding="utf-8",
        )
        self.config.chmod(0o600)
        self.mounts = tmp / "mounts"
        self.mounts.write_text("/dev/mmcblk0p2 / ext4 rw 0 0\n", encoding="ascii")
        self.fstab = tmp / "fstab"  # the root's own, for a root without overlay (none: nothing listed)
        self.lower = tmp / "root-ro"
        self.drop_caches = tmp / "drop_caches"
        #: this boot's id, as the kernel gives it
        self.boot_id = tmp / "boot_id"
        self.boot_id.write_text("8f0c1a52-6a3e-4a61-9a0e-2f4f2b1f0c11\n", encoding="ascii")
        _recorder(self.bin, "apt-get")
        # a security update that needs a reboot, as Debian's packages say so
        _recorder(self.bin, "unattended-upgrade", f'touch "{self.reboot_required}"\n')
        _recorder(self.bin, "mount")
        _recorder(self.bin, "umount")
        #: kiosk-firewall, which puts the archives' current addresses in the firewall's sets
        _recorder(self.bin, "kiosk-firewall")
        self.reboot_exit = 0
        #: what the reboot stand-in does before it exits with ``reboot_exit``
        self.reboot_body = ""
        #: the kiosk's Python, which ``ota hold-kiosk`` runs in
        self.python = sys.executable
        #: folders searched before $PATH for the programs the script runs by name
        self.path_first: list[Path] = []
        # (file, action): once a recorder creates the file, the action gets the script's process
        self.on_marker: tuple[Path, Callable[[subprocess.Popen[str]], None]] | None = None

    def overlay_root(self, chroot_body: str = "") -> None:
        """The image's read-only root with its boot partition mounted: the upgrade changes the lower
        root's dpkg status (then runs ``chroot_body``)."""
        self.mounts.write_text(
            "overlayroot / overlay rw 0 0\ndevpts /dev/pts devpts rw,nosuid,noexec 0 0\n"
            "tmpfs /dev/shm tmpfs rw,nosuid,nodev 0 0\nmqueue /dev/mqueue mqueue rw 0 0\n"
            "/dev/mmcblk0p1 /boot/firmware vfat rw,relatime 0 0\n",
            encoding="ascii",
        )
        status = self.lower / "var/lib/dpkg/status"
        status.parent.mkdir(parents=True, exist_ok=True)
        status.write_text("Package: openssl\nVersion: 3.0.1\n", encoding="ascii")
        _recorder(
            self.bin,
            "overlayroot-chroot",
            f'echo "Package: openssl\nVersion: 3.0.2" >"{status}"\n' + chroot_body,
        )

    def undone(self) -> list[str]:
        """What the script logs when it undoes the upgrade's binds and writable boot partition."""
        return [
            f"umount {self.lower}/boot/firmware",
            f"umount {self.lower}/dev/mqueue",
            f"umount {self.lower}/dev/shm",
            f"umount {self.lower}/dev/pts",
            f"umount {self.lower}/dev",
            "mount -o remount,ro /boot/firmware",
        ]

    def calls(self) -> str:
        path = self.bin / "calls"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def run(self, hold_wait_s: int = 0) -> tuple[int, str]:
        _recorder(self.bin, "reboot", f"{self.reboot_body}exit {self.reboot_exit}\n")
        env = {
            **os.environ,
            "KIOSK_CONFIG": str(self.config),
            "KIOSK_PYTHON": self.python,
            "KIOSK_OS_UPDATE_STATE": str(self.state),
            "KIOSK_OS_UPDATE_HOLD_WAIT_S": str(hold_wait_s),
            "KIOSK_OS_UPDATE_HOLD_RETRY_S": "1",
            "KIOSK_OS_UPDATE_LOWER": str(self.lower),
            "KIOSK_OS_UPDATE_MOUNTS": str(self.mounts),
            "KIOSK_OS_UPDATE_FSTAB": str(self.fstab),
            "KIOSK_OS_UPDATE_REBOOT_REQUIRED": str(self.reboot_required),
            "KIOSK_OS_UPDATE_REBOOT": str(self.bin / "reboot"),
            "APT_GET": str(self.bin / "apt-get"),
            "UNATTENDED_UPGRADE": str(self.bin / "unattended-upgrade"),
            "OVERLAYROOT_CHROOT": str(self.bin / "overlayroot-chroot"),
            "MOUNT": str(self.bin / "mount"),
            "UMOUNT": str(self.bin / "umount"),
            "KIOSK_OS_UPDATE_FIREWALL": str(self.bin / "kiosk-firewall"),
            "KIOSK_OS_UPDATE_DROP_CACHES": str(self.drop_caches),
            "KIOSK_OS_UPDATE_BOOT_ID": str(self.boot_id),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            # programs the script runs by name (rm): a test's stand-ins first, when it has any
            "PATH": os.pathsep.join([*map(str, self.path_first), os.environ["PATH"]]),
        }
        proc = subprocess.Popen(
            ["sh", str(SCRIPT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            for _ in range(12000):  # the kiosk's UI thread answers HOLD; bounded (about 2 min at most)
                if proc.poll() is not None:
                    break
                if self.on_marker is not None and self.on_marker[0].exists():
                    act = self.on_marker[1]
                    self.on_marker = None
                    act(proc)
                self.kiosk.controller.pump(timeout=0.01)
            else:
                proc.kill()
        except BaseException:
            proc.kill()  # an action's assertion failed: no script left running
            proc.communicate(timeout=60)
            raise
        out, _ = proc.communicate(timeout=60)
        return proc.returncode, out


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    """The OS update's run beside a kiosk answering on its update socket (``run.kiosk``)."""
    kiosk = Kiosk(tmp_path)
    kiosk.link.start()
    try:
        yield Run(tmp_path, kiosk)
    finally:
        kiosk.link.stop()


def test_a_kiosk_mid_sale_is_not_rebooted_and_the_next_run_reboots_it_once_it_is_idle(
    run: Run,
) -> None:
    """GIVEN a security update that needs a reboot and a customer with a cart
    WHEN  the OS update runs, and runs again (the next hour) after the customer left
    THEN  the first run installs it but does not reboot (the reboot stays pending); the second asks
          the kiosk again, which holds (starts no sale), and reboots, without upgrading again"""
    kiosk = run.kiosk
    kiosk.customer_with_a_cart()
    code, out = run.run()
    assert code == 0, out
    assert "unattended-upgrade" in run.calls()
    assert "reboot" not in run.calls().split()
    assert "the kiosk was not idle" in out and "stayed busy" in out
    assert run.pending.read_text(encoding="utf-8").strip() == "a package asks for a reboot"
    assert kiosk.controller.update_hold is False
    assert kiosk.controller.state.cart.item_count == 1  # the sale goes on

    kiosk.customer_leaves()
    upgrades = run.calls().count("unattended-upgrade")
    code, out = run.run()
    assert code == 0, out
    assert run.calls().splitlines()[-1] == "reboot "
    assert run.calls().count("unattended-upgrade") == upgrades  # the pending reboot, nothing else
    assert not run.pending.exists()
    assert kiosk.controller.update_hold is True
    kiosk.controller.dispatch(co.StartTapped())
    assert kiosk.controller.state.phase is co.Phase.ATTRACT  # no new sale before the reboot


def test_an_update_on_the_read_only_root_reboots_an_idle_kiosk(run: Run) -> None:
    kiosk = run.kiosk
    run.overlay_root()
    code, out = run.run()
    assert code == 0, out
    calls = run.calls().splitlines()
    lower = run.lower
    chroot = calls.index(UPGRADE)
    # /dev, what is mounted under it (/dev/pts, /dev/shm, /dev/mqueue) and the boot
    # partition (writable) in the lower root for the upgrade, each bind a slave of the host's mount
    # before anything is mounted under it; undone after it
    assert calls[:chroot] == [
        "mount -o remount,rw /boot/firmware",
        f"mount --bind /dev {lower}/dev",
        f"mount --make-rslave {lower}/dev",
        f"mount --bind /dev/pts {lower}/dev/pts",
        f"mount --make-rslave {lower}/dev/pts",
        f"mount --bind /dev/shm {lower}/dev/shm",
        f"mount --make-rslave {lower}/dev/shm",
        f"mount --bind /dev/mqueue {lower}/dev/mqueue",
        f"mount --make-rslave {lower}/dev/mqueue",
        f"mount --bind /boot/firmware {lower}/boot/firmware",
        f"mount --make-rslave {lower}/boot/firmware",
        "kiosk-firewall ",  # the archives' current addresses let through, right before apt-get update
    ]
    assert calls[chroot + 1 : chroot + 1 + len(run.undone())] == run.undone()
    assert calls[-1] == "reboot "
    assert "the kiosk is idle and holds" in out
    assert kiosk.controller.update_hold is True


def test_a_lower_root_left_writable_after_the_upgrade_is_put_back_read_only(
    run: Run,
) -> None:
    # overlayroot-chroot's own remount to read-only failed ("busy") in a boot test: the lower root
    # then stayed writable under the overlay until the reboot
    run.overlay_root()
    run.mounts.write_text(
        f"overlayroot / overlay rw 0 0\n/dev/vda2 {run.lower} ext4 rw,relatime 0 0\n", encoding="ascii"
    )
    code, out = run.run()
    assert code == 0, out
    calls = run.calls().splitlines()
    chroot = calls.index(UPGRADE)
    assert f"mount -o remount,ro {run.lower}" in calls[chroot:]
    assert run.drop_caches.read_text(encoding="ascii") == "2\n"
    assert f"{run.lower} is read-only again" in out
    # already read-only (overlayroot-chroot managed): nothing more
    run.bin.joinpath("calls").unlink()
    (run.state / "last-run").unlink()
    run.mounts.write_text(
        f"overlayroot / overlay rw 0 0\n/dev/vda2 {run.lower} ext4 ro,relatime 0 0\n", encoding="ascii"
    )
    code, out = run.run()
    assert code == 0, out
    assert f"mount -o remount,ro {run.lower}" not in run.calls().splitlines()


def test_no_kiosk_answering_means_no_reboot(run: Run) -> None:
    """A kiosk that is stopped or still starting cannot say it is idle: nothing is rebooted under it."""
    kiosk = run.kiosk
    kiosk.link.stop()
    code, out = run.run()
    assert code == 0, out
    assert "reboot" not in run.calls().split()
    assert run.pending.exists()


def test_a_failed_reboot_gives_the_kiosk_back_and_stays_pending(run: Run) -> None:
    kiosk = run.kiosk
    run.reboot_exit = 1
    code, out = run.run()
    assert code == 1, out
    assert run.calls().splitlines()[-1] == "reboot "
    assert "the reboot failed" in out
    assert run.pending.exists()
    assert kiosk.controller.update_hold is False  # released: selling again


def test_no_boot_partition_mounted_or_listed_means_only_dev_is_bound(run: Run) -> None:
    """Nor are /dev/pts and /dev/shm bound where nothing is mounted there."""
    run.overlay_root()
    run.mounts.write_text("overlayroot / overlay rw 0 0\n", encoding="ascii")
    code, out = run.run()
    assert code == 0, out
    calls = run.calls().splitlines()
    assert "/boot/firmware" not in run.calls()
    chroot = calls.index(UPGRADE)
    assert calls[chroot - 3 : chroot + 2] == [
        f"mount --bind /dev {run.lower}/dev",
        f"mount --make-rslave {run.lower}/dev",
        "kiosk-firewall ",
        calls[chroot],
        f"umount {run.lower}/dev",
    ]


def test_a_boot_partition_in_fstab_but_not_mounted_means_no_upgrade(run: Run) -> None:
    """A kernel update would land beside the partition the Pi boots from: better none that day."""
    run.overlay_root()
    run.mounts.write_text("overlayroot / overlay rw 0 0\n", encoding="ascii")
    (run.lower / "etc").mkdir()
    (run.lower / "etc/fstab").write_text(
        "# pi-gen's\nLABEL=bootfs /boot/firmware vfat defaults,ro 0 2\n", encoding="ascii"
    )
    code, out = run.run()
    assert code == 1, out
    assert "/boot/firmware is in" in out and "not mounted; no update today" in out
    assert run.calls() == ""  # nothing bound, nothing upgraded


def test_a_boot_partition_that_cannot_be_bound_means_no_upgrade_and_all_undone(
    run: Run,
) -> None:
    run.overlay_root()
    _recorder(run.bin, "mount", 'case "$*" in *"--bind /boot/firmware"*) exit 32 ;; esac\n')
    code, out = run.run()
    assert code == 1, out
    assert "cannot bind /boot/firmware" in out and "no update today" in out
    calls = run.calls()
    assert "overlayroot-chroot" not in calls and "reboot" not in calls.split()
    # /dev unbound and the boot partition read-only again
    assert calls.splitlines()[-len(run.undone()) + 1 :] == run.undone()[1:]


def test_a_bind_that_cannot_be_made_a_slave_means_no_upgrade_and_all_undone(run: Run) -> None:
    """A bind that stayed a peer of the host's /dev would carry what is mounted under it (the
    /dev/pts bind next) to the host's /dev/pts: nothing more is bound, and nothing upgraded."""
    run.overlay_root()
    _recorder(run.bin, "mount", 'case "$*" in *"--make-rslave"*) exit 32 ;; esac\n')
    code, out = run.run()
    assert code == 1, out
    assert f"cannot keep {run.lower}/dev from reaching /dev" in out and "no update today" in out
    assert run.calls().splitlines() == [
        "mount -o remount,rw /boot/firmware",
        f"mount --bind /dev {run.lower}/dev",
        f"mount --make-rslave {run.lower}/dev",
        f"umount {run.lower}/dev",
        "mount -o remount,ro /boot/firmware",
    ]


def test_a_failed_upgrade_still_undoes_what_it_needed(run: Run) -> None:
    run.overlay_root(chroot_body="exit 100\n")
    code, out = run.run()
    assert code == 100, out  # unattended-upgrade's own status, for systemd to show
    assert "unattended-upgrade failed (100)" in out
    calls = run.calls().splitlines()
    chroot = calls.index(UPGRADE)
    assert calls[chroot + 1 : chroot + 1 + len(run.undone())] == run.undone()


def test_a_stop_lets_the_upgrade_finish_then_undoes_what_it_needed(tmp_path: Path, run: Run) -> None:
    """systemd stops the unit with SIGTERM to the script alone (KillMode=mixed): dpkg must not be
    cut off mid-package, and the binds must outlive the upgrade, or a kernel hook still running would
    write the root's empty /boot/firmware folder."""
    started, go = tmp_path / "upgrade-started", tmp_path / "upgrade-go"
    # the upgrade says it started, then goes on until the test lets it finish (bounded: 60 s)
    run.overlay_root(
        chroot_body=f'touch "{started}"\n'
        f'i=0; while [ ! -e "{go}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done\n'
        f'echo "upgrade finished" >>"{run.bin}/calls"\n'
    )

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGTERM)
        go.touch()

    run.on_marker = (started, stop)
    code, out = run.run()
    assert code == -signal.SIGTERM, out  # ended by the stop, as systemd expects
    calls = run.calls().splitlines()
    finished = calls.index("upgrade finished")
    assert calls[finished + 1 :] == run.undone(), calls
    assert "stopping once the upgrade under way has finished" in out
    # what it installed still gets its reboot, at the next run inside a window
    assert "its reboot (packages changed on the read-only root) waits for the next run" in out
    pending = run.pending
    assert pending.read_text(encoding="utf-8") == "packages changed on the read-only root\n"
    assert run.pending_boot.read_text(encoding="ascii") == run.boot_id.read_text(encoding="ascii")
    unit = (ROOTFS.parent / "systemd/kiosk-os-update.service").read_text(encoding="utf-8")
    assert "\nKillMode=mixed\n" in unit and "\nTimeoutStopSec=" in unit


def test_a_stop_as_the_upgrade_starts_still_lets_it_finish(tmp_path: Path, run: Run) -> None:
    """The stop reaches the script as the upgrade is being started (here the upgrade sends it, first
    thing): it is acted on once the script knows the upgrade's process, so the upgrade finishes
    before the binds it runs on are undone. A stop before the script had noted that process used to
    undo the binds under the upgrade and leave dpkg to systemd's kill. The signal cannot be placed
    inside that gap on purpose; this checks the stop is handled the same on either side of it."""
    started, go = tmp_path / "upgrade-started", tmp_path / "upgrade-go"
    run.overlay_root(
        chroot_body='kill -s TERM "$PPID"\n'  # the script: this recorder is its child
        f'touch "{started}"\n'
        f'i=0; while [ ! -e "{go}" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done\n'
        f'echo "upgrade finished" >>"{run.bin}/calls"\n'
    )
    run.on_marker = (started, lambda _proc: go.touch())
    code, out = run.run()
    assert code == -signal.SIGTERM, out
    calls = run.calls().splitlines()
    assert calls[calls.index("upgrade finished") + 1 :] == run.undone(), calls
    assert "stopping once the upgrade under way has finished" in out
    assert run.pending.read_text(encoding="utf-8") == "packages changed on the read-only root\n"


def test_a_stop_while_waiting_for_the_hold_ends_at_once_without_a_reboot(run: Run) -> None:
    kiosk = run.kiosk
    kiosk.customer_with_a_cart()  # busy: the hold would be asked for for ten minutes
    pending = run.pending

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGTERM)

    run.on_marker = (pending, stop)
    code, out = run.run(hold_wait_s=600)
    assert code == -signal.SIGTERM, out
    assert "reboot" not in run.calls().split()
    assert pending.exists()  # tried again at the next run inside a window
    assert "kiosk-os-update: stopped" in out


def test_a_stop_after_the_kiosk_held_gives_the_hold_back(tmp_path: Path, run: Run) -> None:
    """GIVEN an idle kiosk that has just answered "held" (it starts no new sale from then on)
    WHEN  the OS update is stopped before it could ask for the reboot
    THEN  the kiosk gets its hold back and sells again, rather than turning customers away until
          someone notices; the reboot stays pending for the next run"""
    kiosk = run.kiosk
    held = tmp_path / "held"
    # `ota hold-kiosk` itself, which then lingers as if the stop came before the script saw it end
    run.python = str(
        _recorder(
            tmp_path / "python",
            "python",
            f'"{sys.executable}" "$@" || exit $?\n'
            f'case "$*" in *--release*) ;; *hold-kiosk*) touch "{held}"; exec sleep 60 ;; esac\n',
        )
    )

    def stop(proc: subprocess.Popen[str]) -> None:
        assert kiosk.controller.update_hold is True  # the kiosk did hold
        proc.send_signal(signal.SIGTERM)

    run.on_marker = (held, stop)
    code, out = run.run()
    assert code == -signal.SIGTERM, out
    assert "reboot" not in run.calls().split()
    assert "giving the kiosk its hold back" in out
    assert kiosk.controller.update_hold is False  # selling again
    kiosk.controller.dispatch(co.StartTapped())
    assert kiosk.controller.state.phase is not co.Phase.ATTRACT
    assert run.pending.read_text(encoding="utf-8") == "a package asks for a reboot\n"


def test_a_held_answer_lost_on_its_way_is_given_back(tmp_path: Path, run: Run) -> None:
    """GIVEN an idle kiosk whose "held" never reached the OS update (the socket failed on the last
    try), so the update counts it as busy
    WHEN  the run ends without a reboot
    THEN  the kiosk is not left held: it sells again. Before, the update agent's own RELEASE freed
          any hold; each holder's hold being its own (kiosk.ota_link), only this one can. Found in
          review."""
    kiosk = run.kiosk
    run.python = str(
        _recorder(
            tmp_path / "python",
            "python",
            f'"{sys.executable}" "$@" || exit $?\n'
            'case "$*" in *--release*) ;; *hold-kiosk*) exit 1 ;; esac\n',  # held, but "not held"
        )
    )
    code, out = run.run()
    assert code == 0, out
    assert "the kiosk was not idle" in out and "reboot" not in run.calls().split()
    assert kiosk.controller.update_hold is False  # selling again
    kiosk.controller.dispatch(co.StartTapped())
    assert kiosk.controller.state.phase is not co.Phase.ATTRACT
    assert run.pending.read_text(encoding="utf-8") == "a package asks for a reboot\n"


def test_a_stop_just_after_the_pending_mark_was_cleared_keeps_the_reboot_pending(
    tmp_path: Path, run: Run
) -> None:
    """The kiosk held and the script has just cleared reboot-pending, about to reboot, when the stop
    comes: the hold is given back and the reboot is marked pending again; without the mark, the
    next run would see it had run today, and the next night's would find nothing new to install,
    so the packages installed would wait for some unrelated reboot."""
    kiosk = run.kiosk
    real_rm = shutil.which("rm")
    assert real_rm is not None
    # the stop arrives the moment rm has removed the mark (a signal to the script that ran it)
    _recorder(
        tmp_path / "path",
        "rm",
        f'"{real_rm}" "$@" || exit $?\ncase "$*" in *reboot-pending*) kill -s TERM "$PPID" ;; esac\n',
    )
    run.path_first = [tmp_path / "path"]
    code, out = run.run()
    assert code == -signal.SIGTERM, out
    assert "reboot" not in run.calls().split()
    assert "the kiosk is idle and holds" in out and "giving the kiosk its hold back" in out
    assert kiosk.controller.update_hold is False
    assert run.pending.read_text(encoding="utf-8") == "a package asks for a reboot\n"


def test_the_shutdown_the_reboot_starts_does_not_give_the_hold_back(tmp_path: Path, run: Run) -> None:
    """``systemctl reboot`` stops this unit among the rest: the kiosk must stay held until it is
    stopped itself, or a customer could start a sale in the seconds before the reboot."""
    kiosk = run.kiosk
    run.reboot_body = 'kill -s TERM "$PPID"\n'  # the shutdown's stop reaches the script
    code, out = run.run()
    assert code == -signal.SIGTERM, out
    assert run.calls().splitlines()[-1] == "reboot "
    assert "giving the kiosk its hold back" not in out
    assert kiosk.controller.update_hold is True
    assert not run.pending.exists()


def test_a_pending_reboot_from_an_earlier_boot_is_not_done_again(run: Run) -> None:
    """GIVEN a reboot marked pending in an earlier boot (the kiosk was busy), and the kiosk since
          rebooted for another reason (a power cut), which applied what was installed
    WHEN  the OS update runs inside the window
    THEN  it drops the mark instead of rebooting the kiosk once more, and goes on with the day's run"""
    run.kiosk.customer_with_a_cart()  # busy: this run's own update cannot reboot it either
    code, out = run.run()
    assert code == 0, out
    assert run.pending.exists()
    run.boot_id.write_text("1d9e7b40-0c55-4f0e-8f43-0b6f5d2a9e77\n", encoding="ascii")  # rebooted
    (run.state / "last-run").unlink()  # a new day
    run.reboot_required.unlink()  # the reboot cleared it
    _recorder(run.bin, "unattended-upgrade")  # nothing new today
    upgrades = run.calls().count("unattended-upgrade")
    code, out = run.run()
    assert code == 0, out
    assert "the pending reboot (a package asks for a reboot) has happened since" in out
    assert not run.pending.exists()
    assert not run.pending_boot.exists()
    assert run.calls().count("unattended-upgrade") == upgrades + 1  # the day's run went on
    assert "reboot" not in run.calls().split()


def test_a_root_without_overlay_makes_the_boot_partition_writable_for_the_upgrade(
    run: Run,
) -> None:
    run.mounts.write_text(
        "/dev/mmcblk0p2 / ext4 rw 0 0\n/dev/mmcblk0p1 /boot/firmware vfat ro,relatime 0 0\n",
        encoding="ascii",
    )
    code, out = run.run()
    assert code == 0, out
    calls = run.calls().splitlines()
    assert calls[:4] == [
        "mount -o remount,rw /boot/firmware",
        "kiosk-firewall ",
        "apt-get update -qq",
        "unattended-upgrade ",
    ]
    assert calls[4] == "mount -o remount,ro /boot/firmware"


def test_a_firewall_refresh_that_fails_is_said_and_the_update_goes_on(run: Run) -> None:
    """The sets still hold what the last refresh (at most 10 minutes ago) put in."""
    _recorder(run.bin, "kiosk-firewall", "exit 1\n")
    code, out = run.run()
    assert code == 0, out
    calls = run.calls().splitlines()
    assert calls.index("kiosk-firewall ") + 1 == calls.index("apt-get update -qq")
    assert "the firewall's addresses could not be refreshed" in out
    assert "unattended-upgrade " in calls
