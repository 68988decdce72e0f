"""make image-boot's stand-in for Debian's security archive (image/qemu-boot/os-update-repo.sh).

The boot test's OS update only proves something if apt really takes the repository and sees it as
Debian-Security's, the one origin the image's unattended-upgrades lets through. So the script runs
for real on a bare folder standing for the root, with only its chroot replaced by a recorder (this
host is not arm64), and this host's apt reads the repository it wrote.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.image.recipe import IMAGE
from tests.image.test_image_scripts import _recorder

SCRIPT = IMAGE / "qemu-boot/os-update-repo.sh"
PACKAGE = "kiosk-boot-probe-update"
UNATTENDED = IMAGE / "rootfs/etc/apt/apt.conf.d/52kiosk-unattended-upgrades"


def _root(tmp: Path) -> Path:
    root = tmp / "root"
    (root / "etc/apt/sources.list.d").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "etc/os-release").write_text('ID=debian\nVERSION_CODENAME="trixie"\n', encoding="ascii")
    (root / "etc/apt/sources.list.d/debian.sources").write_text("Types: deb\n", encoding="ascii")
    (root / "etc/apt/sources.list").write_text(
        "deb http://deb.debian.org/debian trixie main\n", encoding="ascii"
    )
    return root


def _run(tmp: Path, root: Path) -> subprocess.CompletedProcess[str]:
    # the recorder keeps the control fields of the .deb handed to dpkg -i inside the root
    bin_dir = tmp / "bin"
    body = f'deb="{root}$7"; [ -f "$deb" ] && dpkg-deb -f "$deb" Package Version >>"{bin_dir}/calls"\n'
    chroot = _recorder(bin_dir, "chroot", body)
    return subprocess.run(
        ["bash", str(SCRIPT), str(root)],
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "KIOSK_BOOT_CHROOT": str(chroot)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_old_version_is_installed_in_the_root_and_the_new_one_offered(tmp_path: Path) -> None:
    root = _root(tmp_path)
    done = _run(tmp_path, root)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "bin/calls").read_text(encoding="utf-8")
    assert f"dpkg -i /tmp/{PACKAGE}_1.0_all.deb" in calls
    assert f"Package: {PACKAGE}\nVersion: 1.0" in calls
    assert not list((root / "tmp").iterdir()), "the .deb handed to dpkg stays behind in the root"
    assert [p.name for p in (root / "srv/kiosk-boot-repo").glob("*.deb")] == [f"{PACKAGE}_2.0_all.deb"]


def test_the_new_version_writes_the_boot_partition_when_configured(tmp_path: Path) -> None:
    # boot 2's probe reads what 2.0's postinst wrote to /boot/firmware: only a boot partition bound
    # into the upgrade's chroot gets it (kiosk-os-update; docs/adr/0017)
    root = _root(tmp_path)
    assert _run(tmp_path, root).returncode == 0
    control = tmp_path / "control"
    deb = root / f"srv/kiosk-boot-repo/{PACKAGE}_2.0_all.deb"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True, timeout=60)
    postinst = control / "postinst"
    assert postinst.stat().st_mode & 0o111
    # run it as dpkg would, with /boot/firmware pointed at a folder of this test
    boot = tmp_path / "boot-firmware"
    boot.mkdir()
    script = postinst.read_text(encoding="ascii").replace("/boot/firmware/", f"{boot}/")
    done = subprocess.run(
        ["sh", "-c", script, "postinst", "configure", "1.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    said = (boot / PACKAGE).read_text(encoding="ascii")
    assert re.fullmatch(
        r"configured from 1\.0 dev=(udev|root-folder) pts=(devpts|none) shm=\S+ host_pts=\d+\n", said
    ), said


def test_apt_takes_the_repository_as_debian_security(tmp_path: Path) -> None:
    root = _root(tmp_path)
    assert _run(tmp_path, root).returncode == 0
    # this host's apt, on its own state folder, with the root's only source pointed at the repository
    repo = root / "srv/kiosk-boot-repo"
    state = tmp_path / "apt"
    for d in ("lists/partial", "cache/archives/partial", "etc/sources.list.d", "etc/preferences.d"):
        (state / d).mkdir(parents=True)
    (state / "status").write_text("", encoding="ascii")
    line = (root / "etc/apt/sources.list.d/kiosk-boot-repo.list").read_text(encoding="ascii")
    (state / "etc/sources.list").write_text(
        line.replace("file:/srv/kiosk-boot-repo", f"file:{repo}"), encoding="ascii"
    )
    opts = [
        f"-oDir::State={state}",
        f"-oDir::State::Lists={state / 'lists'}",
        f"-oDir::State::status={state / 'status'}",
        f"-oDir::Cache={state / 'cache'}",
        f"-oDir::Etc={state / 'etc'}",
        "-oDir::Etc::Parts=/nonexistent",
        "-oAPT::Sandbox::User=root",
    ]
    update = subprocess.run(
        ["apt-get", *opts, "update"], capture_output=True, text=True, timeout=120, check=False
    )
    assert update.returncode == 0 and "W:" not in update.stdout + update.stderr, update.stdout + update.stderr
    policy = subprocess.run(
        ["apt-cache", *opts, "policy", PACKAGE], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "Candidate: 2.0" in policy, policy
    sources = subprocess.run(
        ["apt-cache", *opts, "policy"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    release = re.search(r"kiosk-boot-repo \./ Packages\n\s+release (\S+)", sources)
    assert release is not None, sources
    fields = dict(kv.split("=", 1) for kv in release.group(1).split(","))
    # unattended-upgrades' pattern in the image, with ${distro_codename} as the root's os-release says
    pattern = re.search(r'"(origin=[^"]+)"', UNATTENDED.read_text(encoding="utf-8"))
    assert pattern is not None
    wanted = dict(
        kv.split("=", 1) for kv in pattern.group(1).replace("${distro_codename}", "trixie").split(",")
    )
    short = {"origin": "o", "codename": "n", "label": "l"}
    assert {key: fields[short[key]] for key in wanted} == wanted


def test_the_other_sources_are_set_aside_not_deleted_and_the_window_is_all_day(tmp_path: Path) -> None:
    root = _root(tmp_path)
    assert _run(tmp_path, root).returncode == 0
    off = root / "etc/apt/boot-test-off"
    assert sorted(p.name for p in off.iterdir()) == ["debian.sources", "sources.list"]
    assert [p.name for p in (root / "etc/apt/sources.list.d").iterdir()] == ["kiosk-boot-repo.list"]
    dropin = (root / "etc/systemd/system/kiosk-os-update.service.d/boot-test.conf").read_text(
        encoding="ascii"
    )
    assert "KIOSK_OS_UPDATE_WINDOW=00:00-24:00" in dropin


def test_a_root_without_a_codename_is_refused(tmp_path: Path) -> None:
    root = _root(tmp_path)
    (root / "etc/os-release").write_text("ID=debian\n", encoding="ascii")
    done = _run(tmp_path, root)
    assert done.returncode == 1
    assert "no VERSION_CODENAME" in done.stderr
    assert not (root / "srv").exists()
