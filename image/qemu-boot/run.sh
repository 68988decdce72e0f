#!/usr/bin/env bash
# `make image-boot`: boot the kiosk's root as a disk in qemu-system-aarch64, twice, and check what
# only a real boot shows.
#
#   image/qemu-boot/run.sh [--keep]
#
# Takes the root `make image-smoke` saved right after the stage's 01-run.sh installed the kiosk
# (build/image-smoke/installed-root.tar) and, in a copy of it, adds only what a virtual arm64
# machine needs in place of the Pi's firmware and kernel: Debian's linux-image-arm64 (its initramfs
# carries overlayroot, as the Pi's does with auto_initramfs=1) and the probe (probe.sh, its unit).
# The disk is laid out as the image's: a FAT boot partition and an ext4 root labelled rootfs, with
# the rest of the disk free for kiosk-storage to make the data partition on the first boot.
#
# The kernel's command line is the image's cmdline.txt (as 01-run.sh edited it) plus console=hvc0,
# a virtio console the host logs, since the image has no console at all. The guest's network is
# qemu's user network restricted to the guest: nothing leaves this host. Standing in for the Pi's
# parts: virtio-gpu for the vc4 display (Mesa draws in software), a virtio tablet for the
# touchscreen, an i6300esb for the bcm2835 watchdog. Not checked here: the Pi's firmware,
# config.txt, plymouth's theme on the Pi's screen, the UART, the camera, lgpio.
#
# Boot 1 is the first boot (data partition, first-boot identity, the kiosk up, a hung kiosk that the
# watchdog restarts, then the OS's security update, whose reboot starts boot 2: os-update-repo.sh
# stands in for Debian's security archive); boot 2 checks what a reboot keeps and drops, and that
# the update is on the read-only root. drive.py prints every check; the
# screen at each "kiosk up" is saved as build/image-boot/boot1.png and boot2.png.
#
# KIOSK_BOOT_DEBUG=1 puts systemd's status and the journal on the console log (no splash then).
#
# Needs: root, make image-smoke run first (with this checkout), qemu-system-arm (installed with apt),
# arm64 emulation for the chroot on an x86-64 host (as image-smoke), ~8 GB in build/, the Debian
# archive for the kernel. Under emulation on a 2-core host it takes tens of minutes
# (docs/benchmarks.md, "Image boot").
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SMOKE=${KIOSK_SMOKE_WORK:-$REPO/build/image-smoke}
WORK=${KIOSK_BOOT_WORK:-$REPO/build/image-boot}
ROOT=$WORK/root
TARBALL=$SMOKE/installed-root.tar
PY=$REPO/.venv/bin/python
KEEP=0
DATA_MB=${KIOSK_BOOT_DATA_MB:-4096}

die() {
    echo "image-boot: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n "2,32p" "$0"; exit 0 ;;
        *) die "unknown argument $1 (image/qemu-boot/run.sh --help)" ;;
    esac
done

MOUNTS=()
unmount_root() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}"
    done
    MOUNTS=()
}
mounted_under() {
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}
trap unmount_root EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$(date +%s)
step() { echo; echo "== [$(($(date +%s) - t0)) s] $*"; }

# ---------------------------------------------------------------------------------------------
step "host: root, qemu-system-aarch64, filesystem tools, the smoke's root"
[ "$(id -u)" -eq 0 ] || die "run it as root (chroot and the kernel's install need it): sudo make image-boot"
[ -f "$TARBALL" ] || die "$TARBALL is missing: run make image-smoke first (it saves the installed root there)"
[ -x "$PY" ] || die "$PY is missing: run make deps"
want=(qemu-system-arm qemu-utils ipxe-qemu e2fsprogs dosfstools mtools fdisk)
[ "$(uname -m)" = aarch64 ] || want+=(qemu-user-static binfmt-support)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
if [ "$(uname -m)" != aarch64 ]; then
    [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64 ||
        die "qemu-aarch64 is not registered in binfmt_misc (make image-smoke says how)"
fi
mkdir -p "$WORK"
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_kb" -ge 8000000 ] || die "$WORK has $((free_kb / 1024)) MB free; the boot test needs about 8 GB"
if [ -d "$ROOT" ] && mounted_under "$ROOT"; then
    die "something is still mounted under $ROOT (an earlier run was killed): umount -R $ROOT first"
fi
echo "the installed root: $TARBALL ($(date -u -r "$TARBALL" +%Y-%m-%dT%H:%M:%SZ))"

# ---------------------------------------------------------------------------------------------
step "a copy of the installed root, with Debian's arm64 kernel and the probe"
rm -rf "$ROOT"
mkdir -p "$ROOT"
tar -C "$ROOT" --numeric-owner --xattrs --acls -xf "$TARBALL"
mount -t proc proc "$ROOT/proc" && MOUNTS+=("$ROOT/proc")
mount -t sysfs sysfs "$ROOT/sys" && MOUNTS+=("$ROOT/sys")
mount --bind /dev "$ROOT/dev" && MOUNTS+=("$ROOT/dev")
mkdir -p "$SMOKE/apt-archives/partial"
mount --bind "$SMOKE/apt-archives" "$ROOT/var/cache/apt/archives" && MOUNTS+=("$ROOT/var/cache/apt/archives")
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
in_root() {
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
in_root apt-get update -q >"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get update failed"; }
in_root apt-get install -y -q --no-install-recommends -o APT::Keep-Downloaded-Packages=true \
    linux-image-arm64 >>"$WORK/apt.log" 2>&1 || { tail -n 30 "$WORK/apt.log" >&2; die "the kernel's install failed: $WORK/apt.log"; }
# kiosk-os-update's stand-in for Debian's security archive (the probe runs the update on boot 1)
"$REPO/image/qemu-boot/os-update-repo.sh" "$ROOT" || die "the OS update's stand-in could not be set up"
rm -f "$ROOT/usr/sbin/policy-rc.d"
unmount_root
kernel=$(find "$ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' | sort | tail -n 1)
initrd=$(find "$ROOT/boot" -maxdepth 1 -name 'initrd.img-*' | sort | tail -n 1)
if [ -z "$kernel" ] || [ -z "$initrd" ]; then
    die "no kernel or initramfs in $ROOT/boot after the install"
fi
in_root lsinitramfs "/boot/$(basename "$initrd")" >"$WORK/initramfs.list"
grep -q overlayroot "$WORK/initramfs.list" || die "the initramfs has no overlayroot ($initrd, $WORK/initramfs.list)"
# the splash in the initramfs: the theme's images, and the kiosk's picture, not Debian's logo
for image in watermark.png lock.png entry.png bullet.png throbber-0001.png; do
    grep -q "usr/share/plymouth/themes/kiosk/$image\$" "$WORK/initramfs.list" ||
        die "the initramfs has no $image of the kiosk splash ($initrd, $WORK/initramfs.list)"
done
rm -rf "$ROOT/tmp/kiosk-initramfs"
in_root unmkinitramfs "/boot/$(basename "$initrd")" /tmp/kiosk-initramfs ||
    die "unmkinitramfs could not unpack $initrd"
picture=$(find "$ROOT/tmp/kiosk-initramfs" -path '*/usr/share/plymouth/themes/kiosk/watermark.png' | head -n 1)
cmp -s "$picture" "$REPO/image/rootfs/usr/share/plymouth/themes/kiosk/watermark.png" ||
    die "the initramfs's splash picture ${picture:-(none)} is not the kiosk's"
rm -rf "$ROOT/tmp/kiosk-initramfs"
install -m 0755 "$REPO/image/qemu-boot/probe.sh" "$ROOT/usr/local/sbin/kiosk-boot-probe"
install -m 0644 "$REPO/image/qemu-boot/kiosk-boot-probe.service" "$ROOT/etc/systemd/system/"
mkdir -p "$ROOT/etc/systemd/system/graphical.target.wants"
ln -sf /etc/systemd/system/kiosk-boot-probe.service "$ROOT/etc/systemd/system/graphical.target.wants/"
# as pi-gen's export does: no machine id in the image, every kiosk makes its own
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
echo "kernel $(basename "$kernel"), $(basename "$initrd") (overlayroot in it)"

# ---------------------------------------------------------------------------------------------
step "the disk: boot (FAT, bootfs), root (ext4, rootfs), the rest free for the data partition"
cp "$kernel" "$WORK/vmlinuz"
cp "$initrd" "$WORK/initrd.img"
BOOTFILES=$WORK/bootfiles
rm -rf "$BOOTFILES" && mkdir -p "$BOOTFILES"
cp -a "$ROOT/boot/firmware/." "$BOOTFILES/"
find "$ROOT/boot/firmware" -mindepth 1 -delete
boot_mb=256
root_mb=$(($(du -smx "$ROOT" | cut -f1) * 13 / 10 + 256))
rm -f "$WORK/boot.vfat" "$WORK/root.ext4" "$WORK/disk.img"
# pi-gen's label, lower case as there (mkfs.fat warns about that; the warning is dropped)
mkfs.vfat -n bootfs -F 32 -C "$WORK/boot.vfat" $((boot_mb * 1024)) >/dev/null 2>&1
mcopy -s -i "$WORK/boot.vfat" "$BOOTFILES"/* "$WORK/vmlinuz" "$WORK/initrd.img" ::
truncate -s "${root_mb}M" "$WORK/root.ext4"
mkfs.ext4 -q -L rootfs -d "$ROOT" "$WORK/root.ext4"
total_mb=$((4 + boot_mb + root_mb + DATA_MB))
truncate -s "${total_mb}M" "$WORK/disk.img"
sfdisk --quiet "$WORK/disk.img" <<SFDISK
label: dos
start=8192, size=$((boot_mb * 2048)), type=c
start=$((8192 + boot_mb * 2048)), size=$((root_mb * 2048)), type=83
SFDISK
dd if="$WORK/boot.vfat" of="$WORK/disk.img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$WORK/root.ext4" of="$WORK/disk.img" bs=1M seek=$((4 + boot_mb)) conv=notrunc,sparse status=none
rm -f "$WORK/boot.vfat" "$WORK/root.ext4"
[ "$KEEP" -eq 1 ] || rm -rf "$ROOT"
cmdline="$(cat "$BOOTFILES/cmdline.txt") console=hvc0"
# KIOSK_BOOT_DEBUG=1: systemd's status lines and the journal on the console log, no splash
if [ "${KIOSK_BOOT_DEBUG:-0}" = 1 ]; then
    cmdline="$cmdline loglevel=6 systemd.show_status=1 plymouth.enable=0 systemd.journald.forward_to_console=1"
fi
echo "disk.img ${total_mb} MB: boot ${boot_mb} MB, root ${root_mb} MB, ${DATA_MB} MB free"
echo "command line: $cmdline"

# ---------------------------------------------------------------------------------------------
step "two boots in qemu-system-aarch64 (the probe reports; drive.py checks)"
rm -f "$WORK"/boot1.png "$WORK"/boot2.png "$WORK"/report.json
"$PY" "$REPO/image/qemu-boot/drive.py" --disk "$WORK/disk.img" --kernel "$WORK/vmlinuz" \
    --initrd "$WORK/initrd.img" --append "$cmdline" --out "$WORK"
step "done: $WORK/report.json, boot1.png, boot2.png"
