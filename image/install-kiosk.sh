#!/usr/bin/env bash
# Install the kiosk into the system this runs on, as root: the image's stage runs it in the chroot of
# the image being built (image/pi-gen/stage-kiosk), `make image-smoke` will run it in a debootstrap
# arm64 root, and IT can run it on a Pi that runs Raspberry Pi OS Lite (64-bit).
#
#   install-kiosk.sh --bundle kiosk-V.tar [--ota-root 1.root.json] [--it-keys keys.pub]
#                    [--hq-url URL] [--no-enable]
#
# --bundle    a release bundle from `ota release build` (the kiosk's wheels for aarch64 and the
#             target's Python); its wheels build both venvs below, offline
# --ota-root  the TUF repository's first root (1.root.json from `ota repo init` at HQ), installed as
#             /etc/kiosk/ota-root.json; without it the update agent waits for one
# --it-keys   IT's public keys (OpenSSH, one a line), installed as /etc/kiosk/it-ssh-keys (root's):
#             maintenance mode's SSH switch lets in only keys on this list, and without one SSH
#             stays off (kiosk-ssh; docs/operations.md "IT's allow-list" for adding it later)
# --hq-url    the fleet's HQ (https://hq.example.cn), written as [hq] url into a kiosk.toml that
#             still has the template's: the kiosk enrols at first boot with nothing to edit
# --no-enable install only, leave the units' enablement as it is (a system without systemd)
#
# What it makes (image/README.md has the why):
#   users      kiosk (system user, no password, /usr/sbin/nologin, groups video render input dialout
#              gpio); kiosk-it (the group SSH lets in); root and the IT user get locked passwords
#   /opt/kiosk/.venv            the image's venv: the update agent and the boot check run from it
#   /opt/kiosk/releases/V       the first release slot (its own venv), current -> releases/V
#   /etc/kiosk                  settings (root:kiosk 0750; kiosk.toml 0640 root:kiosk), never overwritten
#   /var/lib/kiosk              the kiosk's data (kiosk:kiosk 0750)
#   every file in image/files.manifest, with the mode and owner it names
#   the boot splash  Plymouth theme kiosk (its picture, the spinner's frames), in the initramfs
# Running it again is safe: settings are kept, a current release is kept, the image venv is rebuilt.
set -euo pipefail

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
MANIFEST="$SOURCE/image/files.manifest"
BUNDLE=""
OTA_ROOT=""
IT_KEYS=""
HQ_URL=""
ENABLE=1
PYTHON=${PYTHON:-python3}
APP_ROOT=/opt/kiosk
DATA=/var/lib/kiosk
IT_USER=${KIOSK_IT_USER:-it}

die() {
    echo "install-kiosk: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        --bundle) BUNDLE=${2:?--bundle needs a file}; shift 2 ;;
        --ota-root) OTA_ROOT=${2:?--ota-root needs a file}; shift 2 ;;
        --it-keys) IT_KEYS=${2:?--it-keys needs a file}; shift 2 ;;
        --hq-url) HQ_URL=${2:?--hq-url needs a URL}; shift 2 ;;
        --no-enable) ENABLE=0; shift ;;
        -h | --help) sed -n '2,29p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (install-kiosk.sh --help)" ;;
    esac
done

if [ -n "$HQ_URL" ]; then
    sh "$SOURCE/image/check-hq-url.sh" "$HQ_URL" || die "--hq-url: see the line above"
fi
[ "$(id -u)" -eq 0 ] || die "run it as root (in the image's chroot, or with sudo on a Pi)"
[ -n "$BUNDLE" ] || die "--bundle FILE is required: build one with ota release build --version V --python 3.13 --platform manylinux_2_28_aarch64 --out DIR"
[ -r "$BUNDLE" ] || die "cannot read the bundle $BUNDLE"
[ -z "$OTA_ROOT" ] || [ -r "$OTA_ROOT" ] || die "cannot read the TUF root $OTA_ROOT"
if [ -n "$IT_KEYS" ]; then
    sh "$SOURCE/image/set-it-keys.sh" --check "$IT_KEYS" || die "--it-keys: see the line above"
fi
[ -r "$MANIFEST" ] || die "$MANIFEST is missing: run the script from a checkout of the kiosk's repository"
"$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    die "$PYTHON 3.11 or newer with venv is needed: apt-get install python3 python3-venv"
BUNDLE=$(cd "$(dirname "$BUNDLE")" && pwd)/$(basename "$BUNDLE")

echo "== accounts"
getent group kiosk >/dev/null || groupadd --system kiosk
for g in video render input dialout gpio kiosk-it; do
    getent group "$g" >/dev/null || groupadd --system "$g"
done
if ! getent passwd kiosk >/dev/null; then
    useradd --system --gid kiosk --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
        --comment "Self-checkout kiosk" kiosk
fi
usermod --append --groups video,render,input,dialout,gpio kiosk
# no password and no login shell, even for a kiosk user an older install made
usermod --lock --shell /usr/sbin/nologin kiosk
passwd --lock root >/dev/null
if getent passwd "$IT_USER" >/dev/null; then
    usermod --append --groups kiosk-it "$IT_USER"
    passwd --lock "$IT_USER" >/dev/null # keys only (sshd_config.d/kiosk.conf)
fi

echo "== folders"
install -d -m 0755 -o root -g root "$APP_ROOT" /data
install -d -m 0750 -o root -g kiosk /etc/kiosk
install -d -m 0750 -o kiosk -g kiosk "$DATA"
# maintenance mode writes IT's SSH switch here (kiosk-ssh)
install -d -m 0750 -o kiosk -g kiosk "$DATA/it"
# the kiosk's update socket, health files and check-now; the agent (root) only publishes its state
# here and never makes this folder, which must be the kiosk's (ota/kiosk_files.py)
install -d -m 0750 -o kiosk -g kiosk "$DATA/ota"

echo "== files (image/files.manifest)"
while read -r mode owner group src dest keep; do
    case $mode in '' | '#'*) continue ;; esac
    [ -f "$SOURCE/$src" ] || die "$src (named in image/files.manifest) is missing from $SOURCE"
    if [ "${keep:-}" = keep ] && [ -e "$dest" ]; then
        echo "kept $dest (already there)"
        continue
    fi
    install -D -m "$mode" -o "$owner" -g "$group" "$SOURCE/$src" "$dest"
done <"$MANIFEST"
if [ -n "$HQ_URL" ]; then
    # only the template's placeholder is replaced: settings someone already set are never overwritten
    sh "$SOURCE/image/set-hq-url.sh" /etc/kiosk/kiosk.toml "$HQ_URL"
fi
# the settings are root's to change and the kiosk's to read: they name the hosts the firewall lets
# the kiosk reach (kiosk firewall-hosts refuses them otherwise). Kept settings of an earlier install
# (0600 kiosk:kiosk) are made so too; their contents are left as they are.
chown root:kiosk /etc/kiosk/kiosk.toml
chmod 0640 /etc/kiosk/kiosk.toml
if [ -n "$IT_KEYS" ]; then
    # CRLF made plain (kiosk-ssh would take no key from a line ending in \r)
    sh "$SOURCE/image/set-it-keys.sh" "$IT_KEYS" /etc/kiosk/it-ssh-keys
    chown root:root /etc/kiosk/it-ssh-keys
else
    echo "no --it-keys: SSH stays off on this kiosk until /etc/kiosk/it-ssh-keys holds IT's keys (docs/operations.md, \"IT's allow-list\")"
fi
if [ -n "$OTA_ROOT" ]; then
    if [ -e /etc/kiosk/ota-root.json ] && ! cmp -s "$OTA_ROOT" /etc/kiosk/ota-root.json; then
        echo "kept /etc/kiosk/ota-root.json: it differs from $OTA_ROOT; the agent moves its root forward itself"
    else
        install -m 0644 -o root -g kiosk "$OTA_ROOT" /etc/kiosk/ota-root.json
    fi
fi

echo "== the boot splash (Plymouth theme kiosk)"
themes=/usr/share/plymouth/themes
if command -v plymouth-set-default-theme >/dev/null && [ -f "$themes/spinner/throbber-0001.png" ]; then
    # two-step loads every image from the theme's own folder, and starts only with all of them
    # (lock.png, entry.png, bullet.png for its password prompt too): the spinner theme's images go
    # beside the kiosk's picture, all but its own watermark and background
    for image in "$themes"/spinner/*.png; do
        case ${image##*/} in
            watermark.png | background-tile.png) ;;
            *) cp "$image" "$themes/kiosk/" ;;
        esac
    done
    plymouth-set-default-theme kiosk
    if command -v update-initramfs >/dev/null && [ -n "$(ls -A /var/lib/initramfs-tools 2>/dev/null)" ]; then
        echo "rebuilding the initramfs: the splash starts from it (a minute or more)"
        update-initramfs -u -k all
    fi
else
    echo "no boot splash: plymouth or its spinner theme is missing (apt-get install plymouth plymouth-themes, then run this again)"
fi

echo "== the image's venv ($APP_ROOT/.venv) from the bundle's wheels"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xf "$BUNDLE" -C "$work" manifest.json wheels
read -r version app < <("$PYTHON" -c 'import json, sys; m = json.load(open(sys.argv[1])); print(m["version"], m["app"])' "$work/manifest.json")
[ -f "$work/wheels/$app" ] || die "the bundle names $app but does not hold it"
# only the bundle's wheels: the build host's pip settings (its indexes, find-links, constraints)
# must not reach into the image
for name in $(env | sed -n 's/^\(PIP_[A-Z_]*\)=.*/\1/p'); do
    unset "$name"
done
export PIP_CONFIG_FILE=/dev/null PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
rm -rf "$APP_ROOT/.venv"
"$PYTHON" -m venv "$APP_ROOT/.venv"
"$APP_ROOT/.venv/bin/python" -m pip install --quiet --no-index --only-binary :all: \
    --find-links "$work/wheels" "$work/wheels/$app"
"$APP_ROOT/.venv/bin/python" -m ota --version

echo "== the OS's Python modules every release sees ($APP_ROOT/os-python)"
# lgpio, gpiozero's pin backend on a Pi, is on PyPI only as source, so no bundle can carry it: the
# releases take Raspberry Pi OS's python3-lgpio (the stage's 01-packages) through links in this
# folder, which ota puts on each release venv's path (ota/slots.py, docs/adr/0016-lgpio-from-the-os.md).
# Made afresh each run: it only ever holds links this script makes.
rm -rf "$APP_ROOT/os-python"
install -d -m 0755 -o root -g root "$APP_ROOT/os-python"
if lgpio_files=$("$PYTHON" -c 'import lgpio, _lgpio; print(lgpio.__file__); print(_lgpio.__file__)' 2>/dev/null); then
    while read -r f; do
        ln -s "$f" "$APP_ROOT/os-python/$(basename "$f")"
    done <<<"$lgpio_files"
    echo "lgpio from the OS: $(echo "$lgpio_files" | paste -sd' ' -)"
else
    echo "no lgpio in $PYTHON (python3-lgpio comes from Raspberry Pi OS's archive): GPIO uses gpiozero's other pin backends"
fi

echo "== the first release slot"
if [ -L "$APP_ROOT/current" ]; then
    echo "kept: $APP_ROOT/current -> $(readlink "$APP_ROOT/current") (later releases come from the update agent)"
else
    "$APP_ROOT/.venv/bin/python" -m ota install-first --root "$APP_ROOT" --data "$DATA" "$BUNDLE"
fi
echo "release $version is in the bundle; current: $(readlink "$APP_ROOT/current")"

if [ "$ENABLE" -eq 1 ]; then
    echo "== systemd units"
    command -v systemctl >/dev/null || die "systemctl is missing: install systemd, or pass --no-enable"
    systemctl enable kiosk-storage.service kiosk-machine-id.service kiosk-firstboot.service kiosk.service kiosk-ota.service \
        kiosk-firewall.service kiosk-firewall.timer kiosk-os-update.timer kiosk-ssh.service kiosk-ssh.path \
        kiosk-lockdown.service nftables.service systemd-timesyncd.service systemd-time-wait-sync.service
    # SSH only when IT turns it on (kiosk-ssh); no logins on the screen or the printer's UART; no
    # Ctrl+Alt+Del; apt only inside the maintenance window (kiosk-os-update)
    systemctl disable ssh.service ssh.socket 2>/dev/null || true
    systemctl mask getty@tty1.service autovt@.service serial-getty@ttyAMA0.service \
        serial-getty@serial0.service ctrl-alt-del.target debug-shell.service \
        apt-daily.timer apt-daily-upgrade.timer
    systemctl set-default graphical.target
fi
echo "install-kiosk: done"
