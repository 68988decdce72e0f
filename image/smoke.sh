#!/usr/bin/env bash
# `make image-smoke`: the image's install path, run for real in an arm64 Debian 13 (trixie) root.
#
#   image/smoke.sh [--keep]
#
# debootstraps an arm64 trixie root with the packages the image's stage installs
# (image/pi-gen/stage-kiosk/00-kiosk/00-packages), builds a release bundle of this checkout for
# aarch64 / Python 3.13, and installs it with image/install-kiosk.sh in a chroot, as the stage does.
# Then, inside the root (under qemu on an x86-64 host): `systemd-analyze verify` on the installed
# units, kiosk-firstboot, `ota boot-check`, `kiosk enroll` at an HQ this script runs on the host
# (127.0.0.1), `kiosk doctor`, and a headless `kiosk demo --orders 3` whose sales go to that HQ.
#
# Needs: Linux on x86-64 or arm64, root, the network (the Debian archive and PyPI), ~4 GB in build/,
# make deps (the checkout's .venv builds the bundle and runs the HQ); on x86-64, binfmt_misc with
# qemu-aarch64 (qemu-user-static, binfmt-support). Missing Debian packages are installed with apt.
# The debootstrap download is cached in build/image-smoke/ (a rerun only unpacks it); --keep leaves
# the root there after the run. Every step prints its time; a step that did not run is never "ok".
# Takes far longer than CI's budget under emulation (docs/benchmarks.md, "Image smoke").
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${KIOSK_SMOKE_WORK:-$REPO/build/image-smoke}
ROOT=$WORK/root
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
PY=$REPO/.venv/bin/python
KEEP=0
ORDERS=3

die() {
    echo "image-smoke: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        --keep) KEEP=1; shift ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (image/smoke.sh --help)" ;;
    esac
done

# --- progress: every step says what it did and how long it took
STEP=0
STEPS=$(grep -c '^begin "' "${BASH_SOURCE[0]}") # the steps below, counted, so that none is left out
RUN_START=$(date +%s.%N)
SUMMARY=()
CURRENT=""
step_start=0

elapsed() { # seconds since $1, one decimal
    awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
}

begin() {
    STEP=$((STEP + 1))
    CURRENT="[$STEP/$STEPS] $1"
    echo
    echo "== $CURRENT"
    step_start=$(date +%s.%N)
}

ok() { # ok [note]
    local t
    t=$(elapsed "$step_start")
    echo "-- ok (${t} s)${1:+: $1}"
    SUMMARY+=("ok      ${t} s  ${CURRENT#*] }${1:+ ($1)}")
    CURRENT=""
}

report() {
    local status=$1 t
    if [ -n "$CURRENT" ]; then
        t=$(elapsed "$step_start")
        SUMMARY+=("FAILED  ${t} s  ${CURRENT#*] }")
    fi
    echo
    echo "== image-smoke summary (total $(elapsed "$RUN_START") s, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m) host)"
    local line
    for line in "${SUMMARY[@]}"; do
        echo "   $line"
    done
    if [ "$STEP" -lt "$STEPS" ]; then
        echo "   not run: steps $((STEP + 1))..$STEPS"
    fi
    if [ "$status" -eq 0 ] && [ "$STEP" -eq "$STEPS" ] && [ -z "$CURRENT" ]; then
        echo "image-smoke: passed"
    else
        echo "image-smoke: FAILED at ${CURRENT:-the end}" >&2
        return 1
    fi
}

# --- the root's mounts: never remove the root while the host's /dev or /proc is mounted inside it
MOUNTS=()
mount_into_root() {
    mount -t proc proc "$ROOT/proc"
    MOUNTS+=("$ROOT/proc")
    mount -t sysfs sysfs "$ROOT/sys"
    MOUNTS+=("$ROOT/sys")
    mount --bind /dev "$ROOT/dev"
    MOUNTS+=("$ROOT/dev")
    mount --bind /dev/pts "$ROOT/dev/pts"
    MOUNTS+=("$ROOT/dev/pts")
}

unmount_root() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}"
    done
    MOUNTS=()
}

mounted_under() { # is anything mounted at or below $1?
    awk -v p="$1" '$2 == p || index($2, p "/") == 1 { found = 1 } END { exit !found }' /proc/self/mounts
}

HQ_PID=""
cleanup() {
    local status=$?
    if [ -n "$HQ_PID" ]; then
        kill "$HQ_PID" 2>/dev/null || true
        wait "$HQ_PID" 2>/dev/null || true
    fi
    unmount_root
    report "$status" || [ "$status" -ne 0 ] || status=1
    exit "$status"
}
trap cleanup EXIT
# a signal ends the run as a failure: without these the EXIT trap sees the status of the last
# command (often 0) and would call an interrupted run passed
trap 'exit 130' INT
trap 'exit 143' TERM

in_root() { # run a command in the root as root, with a plain environment
    chroot "$ROOT" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 "$@"
}

as_kiosk() { # run a command in the root as the kiosk user, with its groups
    # numeric ids from the root's own files: the host has no kiosk user for chroot to look up
    local uid gid groups
    uid=$(awk -F: '$1 == "kiosk" { print $3 }' "$ROOT/etc/passwd")
    gid=$(awk -F: '$1 == "kiosk" { print $4 }' "$ROOT/etc/passwd")
    groups=$(awk -F: '$1 == "kiosk" || ("," $4 ",") ~ /,kiosk,/ { print $3 }' "$ROOT/etc/group" | paste -sd, -)
    if [ -z "$uid" ] || [ -z "$gid" ]; then
        die "the root has no kiosk user (install-kiosk.sh makes it)"
    fi
    chroot --userspec="$uid:$gid" --groups="$groups" "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin \
        HOME=/var/lib/kiosk LANG=C.UTF-8 "$@"
}

# ---------------------------------------------------------------------------------------------
begin "host: Linux, root, arm64 emulation, tools"
[ "$(uname -s)" = Linux ] || die "the smoke needs Linux (this is $(uname -s))"
[ "$(id -u)" -eq 0 ] || die "run it as root (debootstrap, chroot and mounts need it): sudo make image-smoke"
HOST_ARCH=$(uname -m)
case $HOST_ARCH in
    x86_64 | aarch64) ;;
    *) die "the smoke runs on an x86-64 (with qemu) or arm64 host, not $HOST_ARCH" ;;
esac
"$PY" -c 'import ota.release, hq.cli' 2>/dev/null ||
    die "$REPO/.venv with the [hq] extra is missing (it builds the bundle and runs the HQ): run make deps"
want=(debootstrap)
[ "$HOST_ARCH" = aarch64 ] || want+=(qemu-user-static binfmt-support)
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi
[ -e /usr/share/debootstrap/scripts/$SUITE ] ||
    die "this debootstrap does not know $SUITE (/usr/share/debootstrap/scripts/$SUITE): install a newer debootstrap (bookworm-backports or newer)"
if [ "$HOST_ARCH" = x86_64 ]; then
    if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
            die "binfmt_misc is not mounted and cannot be: this kernel (or container) cannot run arm64 programs; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc"
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        update-binfmts --enable qemu-aarch64 ||
            die "qemu-aarch64 could not be registered in binfmt_misc (update-binfmts --enable qemu-aarch64 failed): a container may need --privileged, or register it on its host"
    fi
    grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
        die "/proc/sys/fs/binfmt_misc/qemu-aarch64 is registered but disabled: update-binfmts --enable qemu-aarch64"
    grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 ||
        die "qemu-aarch64 is registered without the F flag, so a chroot cannot find its interpreter: use Debian's qemu-user-static (it registers with F)"
fi
mkdir -p "$WORK"
free_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
[ "$free_kb" -ge 4000000 ] || die "$WORK has $((free_kb / 1024)) MB free; the smoke needs about 4 GB"
if [ -d "$ROOT" ] && mounted_under "$ROOT"; then
    die "something is still mounted under $ROOT (an earlier run was killed): umount -R $ROOT first"
fi
ok "$HOST_ARCH, $(debootstrap --version 2>/dev/null | head -n 1 || echo debootstrap)"

# ---------------------------------------------------------------------------------------------
begin "release bundle of this checkout (aarch64, Python 3.13, as ota release build makes it)"
# lgpio is not in it: releases take the OS's (docs/adr/0016-lgpio-from-the-os.md), which plain
# Debian does not have, so the smoke's kiosk has gpiozero without its Pi backend, as on any non-Pi.
rm -rf "$WORK/bundle"
version=$("$PY" -c 'import kiosk; print(kiosk.__version__)')
"$PY" - "$version" "$WORK/bundle" <<'PYTHON'
import sys
from pathlib import Path

from ota import release

built = release.build(
    sys.argv[1], Path(sys.argv[2]), platform="manylinux_2_28_aarch64", python="3.13"
)
print(release.bundle_summary(built))
PYTHON
BUNDLE=$WORK/bundle/kiosk-$version.tar
[ -f "$BUNDLE" ] || die "the bundle build made no $BUNDLE"
ok "$(basename "$BUNDLE"), $(($(stat -c %s "$BUNDLE") / 1048576)) MB"

# ---------------------------------------------------------------------------------------------
begin "debootstrap download: $SUITE arm64 base (cached in build/)"
# a minbase root plus what Raspberry Pi OS Lite has and minbase lacks (systemd as init, udev, dbus,
# certificates, apt's https); the kiosk's own packages come next, from apt as pi-gen's stage does
base=systemd,systemd-sysv,udev,dbus,ca-certificates,python3
key=$(printf '%s %s %s\n' "$SUITE" "$MIRROR" "$base" | sha256sum | cut -c1-12)
TARBALL=$WORK/debootstrap-$SUITE-arm64-$key.tgz
if [ -f "$TARBALL" ]; then
    ok "cached: $(basename "$TARBALL") (delete it to download again)"
else
    scratch=$WORK/tarball-scratch
    rm -rf "$scratch" "$TARBALL.part"
    debootstrap --arch=arm64 --variant=minbase --include="$base" \
        --make-tarball="$TARBALL.part" "$SUITE" "$scratch" "$MIRROR"
    rm -rf "$scratch"
    mv "$TARBALL.part" "$TARBALL"
    ok "downloaded $(basename "$TARBALL"), $(($(stat -c %s "$TARBALL") / 1048576)) MB"
fi

# ---------------------------------------------------------------------------------------------
begin "debootstrap: unpack and configure the root (second stage$([ "$HOST_ARCH" = aarch64 ] || echo ' under qemu'))"
rm -rf "$ROOT"
debootstrap --arch=arm64 --variant=minbase --include="$base" \
    --unpack-tarball="$TARBALL" "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 30 "$WORK/debootstrap.log" >&2; die "debootstrap failed: $WORK/debootstrap.log (and $ROOT/debootstrap/debootstrap.log)"; }
arch=$(in_root dpkg --print-architecture)
[ "$arch" = arm64 ] || die "the root's dpkg says $arch, not arm64"
# shellcheck disable=SC2016 # dpkg-query's own ${Version}
systemd_version=$(in_root dpkg-query -W -f='${Version}' systemd)
ok "$(in_root python3 --version), systemd $systemd_version, $(du -smx "$ROOT" | cut -f1) MB"

# ---------------------------------------------------------------------------------------------
begin "the stage's packages with apt-get (image/pi-gen/stage-kiosk/00-kiosk/00-packages)"
# as pi-gen installs them: apt-get install with the file's names (apt, unlike debootstrap, takes a
# name that only one package provides). pi-gen also installs what they recommend; this does not, so
# the list must name every package the kiosk needs (busybox, for one). The downloaded .debs are
# kept in build/ for the next run.
# Not 01-packages: python3-lgpio is in Raspberry Pi OS's archive only (docs/adr/0016-lgpio-from-the-os.md).
mapfile -t stage_packages < <(sed -e 's/#.*//' "$REPO/image/pi-gen/stage-kiosk/00-kiosk/00-packages" | tr -s '[:blank:]' '\n' | sed '/^$/d')
mount_into_root
mkdir -p "$WORK/apt-archives/partial"
mount --bind "$WORK/apt-archives" "$ROOT/var/cache/apt/archives"
MOUNTS+=("$ROOT/var/cache/apt/archives")
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# no service starts inside the root (pi-gen does the same)
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 0755 "$ROOT/usr/sbin/policy-rc.d"
in_root apt-get update -q
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o APT::Keep-Downloaded-Packages=true "${stage_packages[@]}" >"$WORK/apt.log" 2>&1 ||
    { tail -n 30 "$WORK/apt.log" >&2; die "apt-get install of the stage's packages failed: $WORK/apt.log"; }
grep -i '^Note, selecting' "$WORK/apt.log" || true
rm -f "$ROOT/usr/sbin/policy-rc.d"
# -x: /proc, /sys and /dev are mounted in the root now (du read the host's processes through them)
ok "${#stage_packages[@]} names, root now $(du -smx --exclude=var/cache/apt/archives "$ROOT" | cut -f1) MB"

# ---------------------------------------------------------------------------------------------
begin "the stage's 01-run.sh in the root: install-kiosk.sh, boot partition, fstab"
# pi-gen runs the stage's script on the host with ROOTFS_DIR and an on_chroot that reads commands
# from its stdin; so does this, with the files/ folder image/build.sh fills, and the boot partition
# and fstab pi-gen's stage1 leaves (labels, not pi-gen's PARTUUIDs: make image-boot's disk has them)
mkdir -p "$ROOT/boot/firmware"
printf 'console=serial0,115200 console=tty1 root=LABEL=rootfs rootfstype=ext4 fsck.repair=yes rootwait resize\n' >"$ROOT/boot/firmware/cmdline.txt"
printf '# pi-gen stage1 config.txt (abridged)\narm_64bit=1\n' >"$ROOT/boot/firmware/config.txt"
cat >"$ROOT/etc/fstab" <<'FSTAB'
proc            /proc           proc    defaults          0       0
LABEL=bootfs    /boot/firmware  vfat    defaults          0       2
LABEL=rootfs    /               ext4    defaults,noatime  0       1
FSTAB
stage=$WORK/stage-kiosk
rm -rf "$stage"
cp -a "$REPO/image/pi-gen/stage-kiosk/00-kiosk" "$stage"
mkdir -p "$stage/files/kiosk"
cp -a "$REPO/image" "$REPO/docs" "$stage/files/kiosk/"
cp "$BUNDLE" "$stage/files/bundle.tar"
# as make image --hq-url leaves it; the steps below reach the host's HQ through KIOSK_HQ__URL
SMOKE_HQ_URL=https://hq.smoke.invalid
printf '%s\n' "$SMOKE_HQ_URL" >"$stage/files/hq-url"
on_chroot() {
    chroot "$ROOTFS_DIR" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 /bin/bash -e "$@"
}
export -f on_chroot
ROOTFS_DIR=$ROOT bash -e "$stage/01-run.sh"
rm -rf "$stage"
current=$(readlink "$ROOT/opt/kiosk/current")
# every release venv sees the OS's modules (lgpio on the image; none in plain Debian)
pth=$(find "$ROOT/opt/kiosk/current/venv/lib" -path '*/site-packages/kiosk-os-python.pth' | head -n 1)
if [ -z "$pth" ] || ! grep -qx /opt/kiosk/os-python "$pth"; then
    die "the release venv has no kiosk-os-python.pth naming /opt/kiosk/os-python (ota/slots.py)"
fi
grep -q '^LABEL=KIOSKDATA' "$ROOT/etc/fstab" || die "01-run.sh did not add the data partition to /etc/fstab"
grep -q 'overlayroot=tmpfs' "$ROOT/boot/firmware/cmdline.txt" || die "01-run.sh did not edit cmdline.txt"
grep -q "^url = \"$SMOKE_HQ_URL\"" "$ROOT/etc/kiosk/kiosk.toml" || die "kiosk.toml's [hq] url is not the image's --hq-url ($SMOKE_HQ_URL)"
# numeric: the host has no kiosk user to name the owner by
kiosk_uid=$(awk -F: '$1 == "kiosk" { print $3 }' "$ROOT/etc/passwd")
kiosk_gid=$(awk -F: '$1 == "kiosk" { print $3 }' "$ROOT/etc/group")
# root's to change, the kiosk's to read: the firewall lets the kiosk reach the hosts they name
settings_owned() {
    [ "$(stat -c '%a %u %g' "$ROOT/etc/kiosk/kiosk.toml")" = "640 0 $kiosk_gid" ] ||
        die "kiosk.toml is not 0640 root:kiosk ($kiosk_gid) $1: $(stat -c '%a %u %g' "$ROOT/etc/kiosk/kiosk.toml")"
}
settings_owned "after --hq-url"
# the kiosk's folders the root services read (its update socket and health files, IT's SSH switch)
# are the kiosk user's: the update agent never makes them (ota/kiosk_files.py)
for d in var/lib/kiosk/ota var/lib/kiosk/it; do
    [ "$(stat -c '%a %u' "$ROOT/$d")" = "750 $kiosk_uid" ] ||
        die "/$d is not 0750 and the kiosk user's ($kiosk_uid): $(stat -c '%a %u' "$ROOT/$d" 2>&1)"
done
if grep -qw resize "$ROOT/boot/firmware/cmdline.txt"; then
    die "cmdline.txt still asks for Raspberry Pi OS's first-boot resize, which would take the data partition's space"
fi
theme=$(in_root plymouth-set-default-theme)
[ "$theme" = kiosk ] || die "the boot splash is Plymouth theme '$theme', not kiosk (install-kiosk.sh sets it)"
for image in throbber-0001.png animation-0001.png lock.png entry.png bullet.png watermark.png; do
    [ -f "$ROOT/usr/share/plymouth/themes/kiosk/$image" ] || die "the kiosk splash has no $image (two-step needs it)"
done
cmp -s "$ROOT/usr/share/plymouth/themes/kiosk/watermark.png" "$REPO/image/rootfs/usr/share/plymouth/themes/kiosk/watermark.png" ||
    die "the kiosk splash's watermark.png is not the kiosk's picture"
# the root as the image holds it, before anything below changes it: make image-boot boots this
unmount_root
tar -C "$ROOT" --numeric-owner --xattrs --acls -cf "$WORK/installed-root.tar.part" .
mv "$WORK/installed-root.tar.part" "$WORK/installed-root.tar"
mount_into_root
ok "current -> $current; os-python on the venv's path; root saved as installed-root.tar ($(($(stat -c %s "$WORK/installed-root.tar") / 1048576)) MB)"

# ---------------------------------------------------------------------------------------------
begin "systemd-analyze verify on the installed units (any output fails)"
mapfile -t units < <(cd "$ROOT/etc/systemd/system" && ls kiosk*.service kiosk*.timer kiosk*.path)
said=$(in_root systemd-analyze verify --man=no "${units[@]/#//etc/systemd/system/}" 2>&1) || {
    echo "$said" >&2
    die "systemd-analyze verify failed"
}
[ -z "$said" ] || { echo "$said" >&2; die "systemd-analyze verify said something (above)"; }
ok "${#units[@]} units, no output"

# ---------------------------------------------------------------------------------------------
begin "which archives the OS updates take (unattended-upgrades' own matching, the root's apt configuration)"
# Debian's security suite and the Raspberry Pi archive (its kernel and firmware), nothing else
# (ADR 0017): decided by the root's unattended-upgrades on Release fields as each archive publishes them
cat >"$ROOT/tmp/kiosk-smoke-origins.py" <<'PYTHON'
import importlib.machinery
import importlib.util
import sys
import types

loader = importlib.machinery.SourceFileLoader("unattended_upgrade", "/usr/bin/unattended-upgrade")
uu = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
loader.exec_module(uu)
allowed = uu.get_allowed_origins()
n = uu.DISTRO_CODENAME


def archive(origin, label, suite, codename, site):
    return types.SimpleNamespace(origin=origin, label=label, archive=suite, codename=codename, component="main", site=site)


pi = "Raspberry Pi Foundation"
cases = [
    ("Debian's security suite", archive("Debian", "Debian-Security", "stable-security", f"{n}-security", "security.debian.org"), True),
    ("the Raspberry Pi archive", archive(pi, pi, "stable", n, "archive.raspberrypi.com"), True),
    ("Debian's point releases", archive("Debian", "Debian", "stable", n, "deb.debian.org"), False),
    ("Debian's -updates", archive("Debian", "Debian", "stable-updates", f"{n}-updates", "deb.debian.org"), False),
    ("the Raspberry Pi archive of another release", archive(pi, pi, "oldoldstable", "buster", "archive.raspberrypi.com"), False),
]
wrong = 0
for name, origin, wanted in cases:
    taken = uu.is_allowed_origin(origin, allowed)
    print(f"{'taken' if taken else 'left'}: {name}{'' if taken == wanted else '  <- wrong'}")
    wrong += taken != wanted
print("patterns: " + "; ".join(allowed))
sys.exit(1 if wrong else 0)
PYTHON
said=$(in_root python3 /tmp/kiosk-smoke-origins.py 2>&1) || {
    echo "$said" >&2
    die "unattended-upgrades takes the wrong archives (above; image/rootfs/etc/apt/apt.conf.d/52kiosk-unattended-upgrades)"
}
rm -f "$ROOT/tmp/kiosk-smoke-origins.py"
ok "$(echo "$said" | grep -c '^taken') taken, $(echo "$said" | grep -c '^left') left, as meant"

# ---------------------------------------------------------------------------------------------
begin "first boot: kiosk-firstboot, ota boot-check"
in_root /usr/local/sbin/kiosk-firstboot
grep -q '@KIOSK_ID@' "$ROOT/etc/kiosk/kiosk.toml" && die "kiosk-firstboot left id = \"@KIOSK_ID@\" in /etc/kiosk/kiosk.toml"
kiosk_id=$(sed -n 's/^id = "\(.*\)".*/\1/p' "$ROOT/etc/kiosk/kiosk.toml" | head -n 1)
settings_owned "after kiosk-firstboot named the kiosk"
# what kiosk-firewall lets through, from the installed settings (root's alone, so they count)
in_root /opt/kiosk/.venv/bin/python -m kiosk firewall-hosts --config /etc/kiosk/kiosk.toml >"$WORK/firewall-hosts" ||
    die "kiosk firewall-hosts refused the installed settings (above): HQ would stay blocked"
grep -qx "${SMOKE_HQ_URL#https://} 443" "$WORK/firewall-hosts" ||
    die "kiosk firewall-hosts does not let HQ ($SMOKE_HQ_URL) through: $(tr '\n' ' ' <"$WORK/firewall-hosts")"
in_root /opt/kiosk/.venv/bin/python -m ota boot-check --root /opt/kiosk --data /var/lib/kiosk
ok "kiosk id $kiosk_id"

# ---------------------------------------------------------------------------------------------
begin "HQ on the host (127.0.0.1) and kiosk enroll in the root"
hq_dir=$WORK/hq
rm -rf "$hq_dir" && mkdir -p "$hq_dir"
hq_db="sqlite:///$hq_dir/hq.sqlite3"
"$REPO/.venv/bin/hq" store add smoke --name "Image smoke" --db "$hq_db" >/dev/null
"$REPO/.venv/bin/hq" catalog seed-demo --db "$hq_db" >/dev/null
code=$("$REPO/.venv/bin/hq" device enroll-code --store smoke --kiosk-id "$kiosk_id" --db "$hq_db" 2>/dev/null)
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HQ_URL=http://127.0.0.1:$port
"$REPO/.venv/bin/hq" serve --host 127.0.0.1 --port "$port" --workers 1 --db "$hq_db" >"$hq_dir/serve.log" 2>&1 &
HQ_PID=$!
for _ in $(seq 1 120); do
    "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$HQ_URL/healthz" 2>/dev/null && break
    kill -0 "$HQ_PID" 2>/dev/null || { cat "$hq_dir/serve.log" >&2; die "hq serve exited (log above)"; }
    sleep 0.5
done
"$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$HQ_URL/healthz" ||
    die "HQ at $HQ_URL did not answer /healthz within 60 s ($hq_dir/serve.log)"
as_kiosk /usr/local/bin/kiosk enroll "$code" --hq "$HQ_URL" --config /etc/kiosk/kiosk.toml
ok "enrolled $kiosk_id at $HQ_URL"

# ---------------------------------------------------------------------------------------------
begin "kiosk doctor (no printer or camera here: it must run and report them, exit 0 or 1)"
set +e
as_kiosk KIOSK_HQ__URL="$HQ_URL" /usr/local/bin/kiosk doctor --config /etc/kiosk/kiosk.toml --json \
    >"$WORK/doctor.json" 2>"$WORK/doctor.err"
doctor_rc=$?
set -e
"$PY" - "$WORK/doctor.json" "$doctor_rc" <<'PYTHON' || { cat "$WORK/doctor.err" >&2; die "kiosk doctor did not produce its report (exit $doctor_rc)"; }
import json
import sys

rc = int(sys.argv[2])
with open(sys.argv[1], encoding="utf-8") as f:
    report = json.load(f)
print(json.dumps(report, ensure_ascii=False, indent=1)[:4000])
sys.exit(0 if rc in (0, 1) else 1)
PYTHON
ok "exit $doctor_rc"

# ---------------------------------------------------------------------------------------------
begin "headless kiosk demo --orders $ORDERS, its sales to the host's HQ"
# --no-screenshots: the screenshot tour needs a screen (Xvfb and Mesa), which the image has no use
# for; the scripted customers use the real controller, store, payment adapters, printer and sync
as_kiosk /opt/kiosk/current/venv/bin/python -m kiosk demo --headless --orders "$ORDERS" --no-screenshots \
    --hq "$HQ_URL" --config /etc/kiosk/kiosk.toml --out /var/lib/kiosk/smoke-demo | tee "$WORK/demo.json"
"$PY" - "$WORK/demo.json" "$ORDERS" <<'PYTHON' || die "the demo did not serve every order (summary above)"
import json
import sys

summary = json.loads(open(sys.argv[1], encoding="utf-8").read().strip().splitlines()[-1])
n = int(sys.argv[2])
sys.exit(0 if summary["orders"] == summary["paid"] == summary["printed"] == summary["synced"] == n else 1)
PYTHON
ok "$(tail -n 1 "$WORK/demo.json")"

unmount_root
[ "$KEEP" -eq 1 ] || { mounted_under "$ROOT" || rm -rf "$ROOT"; }
