#!/usr/bin/env bash
# make image-boot's stand-in for Debian's security archive, in its copy of the root only (run.sh):
#
#   image/qemu-boot/os-update-repo.sh ROOT
#
# kiosk-os-update (run by the probe at the end of boot 1) upgrades the read-only root through
# overlayroot-chroot with unattended-upgrades, which takes Debian-Security's origin, label and
# codename (and the Raspberry Pi archive's, which a Debian root has not: apt.conf.d/52kiosk-unattended-upgrades). Here:
# - a probe package, kiosk-boot-probe-update 1.0, is installed in ROOT;
# - a local repository in ROOT/srv/kiosk-boot-repo offers its 2.0 under that origin, label and
#   "<codename>-security" (the codename from ROOT's os-release); 2.0's postinst writes
#   /boot/firmware/kiosk-boot-probe-update, as a kernel update writes the boot partition;
# - ROOT's other apt sources are set aside in ROOT/etc/apt/boot-test-off (the guest has no network,
#   and one failed source makes `apt-get update` fail, so no upgrade would run);
# - kiosk-os-update.service gets an all-day window and waits at most 10 minutes for the kiosk to hold.
# The probe then checks on boot 2 that 2.0 is installed, on the read-only root.
set -euo pipefail

ROOT=${1:?usage: os-update-repo.sh ROOT}
PACKAGE=kiosk-boot-probe-update
CHROOT=${KIOSK_BOOT_CHROOT:-chroot} # a recorder in tests/image/test_os_update_repo.py
[ -f "$ROOT/etc/os-release" ] || {
    echo "os-update-repo: $ROOT has no etc/os-release" >&2
    exit 1
}
codename=$(sed -n 's/^VERSION_CODENAME=//p' "$ROOT/etc/os-release" | tr -d '"')
[ -n "$codename" ] || {
    echo "os-update-repo: no VERSION_CODENAME in $ROOT/etc/os-release" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

deb() { # deb VERSION -> the .deb's path on stdout
    local tree=$work/tree-$1 out=$work/${PACKAGE}_$1_all.deb
    mkdir -p "$tree/DEBIAN" "$tree/usr/share/$PACKAGE"
    cat >"$tree/DEBIAN/control" <<CONTROL
Package: $PACKAGE
Version: $1
Architecture: all
Maintainer: make image-boot <root@localhost>
Section: misc
Priority: optional
Description: make image-boot's stand-in for a security update
 Installed only in make image-boot's copy of the root, never in an image.
CONTROL
    echo "$1" >"$tree/usr/share/$PACKAGE/version"
    if [ "$1" != 1.0 ]; then
        # as a kernel's or the firmware's package does, the update writes the boot partition; and
        # it says whether the upgrade saw udev's /dev, the pseudo-terminals (apt's log needs one)
        # and /dev/shm, and how many mounts the host (PID 1, outside the chroot) has on /dev/pts:
        # one, unless the bind under the chroot's /dev reached it. Boot 2's probe checks them
        cat >"$tree/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if [ -d /dev/disk/by-label ]; then dev=udev; else dev=root-folder; fi
    if [ -e /dev/pts/ptmx ]; then pts=devpts; else pts=none; fi
    shm=$(awk '$5 == "/dev/shm" { for (i = 7; i < NF; i++) if ($i == "-") { print $(i + 1); exit } }' /proc/self/mountinfo)
    host_pts=$(awk '$5 == "/dev/pts" { n++ } END { print n + 0 }' /proc/1/mountinfo)
    echo "configured from ${2:-nothing} dev=$dev pts=$pts shm=${shm:-none} host_pts=$host_pts" \
        >/boot/firmware/kiosk-boot-probe-update
fi
POSTINST
        chmod 0755 "$tree/DEBIAN/postinst"
    fi
    dpkg-deb --root-owner-group -Zxz -b "$tree" "$out" >/dev/null
    echo "$out"
}

old=$(deb 1.0)
new=$(deb 2.0)

# 1.0 installed, as an ordinary package of the image
cp "$old" "$ROOT/tmp/"
$CHROOT "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin dpkg -i "/tmp/$(basename "$old")" >/dev/null
rm -f "$ROOT/tmp/$(basename "$old")"

# 2.0 in a flat repository with Debian-Security's Release fields (unsigned: [trusted=yes])
repo=$ROOT/srv/kiosk-boot-repo
rm -rf "$repo" && mkdir -p "$repo"
cp "$new" "$repo/"
{
    dpkg-deb -f "$new"
    echo "Filename: ./$(basename "$new")"
    echo "Size: $(stat -c %s "$new")"
    echo "SHA256: $(sha256sum "$new" | cut -d' ' -f1)"
    echo
} >"$repo/Packages"
cat >"$repo/Release" <<RELEASE
Origin: Debian
Label: Debian-Security
Suite: stable-security
Codename: $codename-security
Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')
Architectures: all arm64
Components: main
Description: make image-boot's stand-in for Debian's security archive
SHA256:
 $(sha256sum "$repo/Packages" | cut -d' ' -f1) $(stat -c %s "$repo/Packages") Packages
RELEASE

# the only source: the guest has no network to reach the others
off=$ROOT/etc/apt/boot-test-off
mkdir -p "$off"
[ ! -e "$ROOT/etc/apt/sources.list" ] || mv "$ROOT/etc/apt/sources.list" "$off/"
find "$ROOT/etc/apt/sources.list.d" -maxdepth 1 -type f \( -name '*.list' -o -name '*.sources' \) \
    -exec mv -t "$off/" {} +
echo "deb [trusted=yes] file:/srv/kiosk-boot-repo ./" >"$ROOT/etc/apt/sources.list.d/kiosk-boot-repo.list"

dropin=$ROOT/etc/systemd/system/kiosk-os-update.service.d
mkdir -p "$dropin"
cat >"$dropin/boot-test.conf" <<DROPIN
# make image-boot only: an all-day window, and a shorter wait for the kiosk to hold
[Service]
Environment=KIOSK_OS_UPDATE_WINDOW=00:00-24:00
Environment=KIOSK_OS_UPDATE_HOLD_WAIT_S=600
DROPIN
echo "os-update stand-in: $PACKAGE 1.0 installed, 2.0 offered as Debian-Security $codename-security"
