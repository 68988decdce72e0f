#!/usr/bin/env bash
# `make image`: build the kiosk's SD-card image with pi-gen (docs/adr/0014-pi-image-with-pi-gen.md).
#
#   image/build.sh [--bundle kiosk-V.tar] [--ota-root 1.root.json] [--it-keys keys.pub]
#                  [--hq-url https://hq.example.cn] [--out DIR]
#
# Needs (image/README.md): Linux on x86-64 or arm64, Docker that can run privileged containers
# (pi-gen's build-docker.sh mounts loop devices), binfmt_misc with qemu-aarch64 on an x86 host, git,
# about 20 GB free for Docker's data and 4 GB in the work folder, and the network (pi-gen and
# Debian/Raspberry Pi archives). Without --bundle it
# builds one from this checkout with `ota release build` for Python 3.13 (trixie's) on aarch64.
# It stops with what is missing; it never pretends to have built an image.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PIGEN_URL=${PIGEN_URL:-https://github.com/RPi-Distro/pi-gen.git}
# pi-gen's arm64 branch builds the 64-bit Raspberry Pi OS; pin a release tag for reproducible images
PIGEN_REF=${PIGEN_REF:-arm64}
WORK=${KIOSK_IMAGE_WORK:-$REPO/build/image-work}
OUT=$REPO/build/image
MIN_FREE_GB=${KIOSK_IMAGE_MIN_FREE_GB:-20}
MIN_WORK_GB=${KIOSK_IMAGE_MIN_WORK_GB:-4}
BUNDLE=""
OTA_ROOT=""
IT_KEYS=""
HQ_URL=""

die() {
    echo "make image: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        --bundle) BUNDLE=${2:?--bundle needs a file}; shift 2 ;;
        --ota-root) OTA_ROOT=${2:?--ota-root needs a file}; shift 2 ;;
        --it-keys) IT_KEYS=${2:?--it-keys needs a file}; shift 2 ;;
        --hq-url) HQ_URL=${2:?--hq-url needs a URL}; shift 2 ;;
        --out) OUT=${2:?--out needs a folder}; shift 2 ;;
        -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
        *) die "unknown argument $1 (image/build.sh --help)" ;;
    esac
done

# --- can the tooling run here?
[ "$(uname -s)" = Linux ] || die "pi-gen builds on Linux only (this is $(uname -s))"
case $(uname -m) in
    x86_64 | aarch64) ;;
    *) die "pi-gen's Docker build needs an x86-64 or arm64 host (this is $(uname -m))" ;;
esac
command -v git >/dev/null || die "git is missing: apt-get install git"
free_mb() { # free_mb DIR: MB free on the disk DIR is (or will be) on, from its nearest folder that exists
    where=$1
    while [ ! -d "$where" ]; do where=$(dirname "$where"); done
    df --output=avail -BM "$where" | tail -n 1 | tr -dc '0-9'
}
# the work folder holds pi-gen's checkout, the bundle and the finished image
work_mb=$(free_mb "$WORK")
[ "${work_mb:-0}" -ge $((MIN_WORK_GB * 1024)) ] ||
    die "$WORK has ${work_mb:-no} MB free; the build needs about $MIN_WORK_GB GB there: free some, or set KIOSK_IMAGE_WORK to a larger disk"
command -v docker >/dev/null || die "docker is missing: install Docker (docs.docker.com/engine/install/debian)"
docker info >/dev/null 2>&1 || die "Docker is installed but its daemon does not answer (docker info failed): start it (systemctl start docker) or add this user to the docker group"
# pi-gen builds the image's root inside its container, in a Docker volume: on Docker's own disk
docker_root=$(docker info -f '{{.DockerRootDir}}' 2>/dev/null || true)
if [ -n "$docker_root" ] && [ -d "$docker_root" ]; then
    docker_mb=$(free_mb "$docker_root")
    [ "${docker_mb:-0}" -ge $((MIN_FREE_GB * 1024)) ] ||
        die "Docker's data ($docker_root) has ${docker_mb:-no} MB free; pi-gen builds there and needs about $MIN_FREE_GB GB: free some (docker system prune), or move Docker's data-root"
else
    echo "make image: cannot see Docker's data folder (${docker_root:-unknown}) from here; pi-gen needs about $MIN_FREE_GB GB free there" >&2
fi
if [ "$(uname -m)" = x86_64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    die "this x86-64 host cannot run arm64 programs: apt-get install qemu-user-static binfmt-support (then /proc/sys/fs/binfmt_misc/qemu-aarch64 exists)"
fi
[ -z "$OTA_ROOT" ] || [ -r "$OTA_ROOT" ] || die "cannot read the TUF root $OTA_ROOT"
if [ -n "$IT_KEYS" ]; then
    sh "$REPO/image/set-it-keys.sh" --check "$IT_KEYS" || die "--it-keys: see the line above"
else
    echo "make image: no --it-keys: SSH cannot be turned on on this image's kiosks until /etc/kiosk/it-ssh-keys is put on the card (docs/operations.md, \"IT's allow-list\")" >&2
fi
[ -z "$HQ_URL" ] || sh "$REPO/image/check-hq-url.sh" "$HQ_URL" || die "--hq-url: see the line above"

mkdir -p "$WORK" "$OUT"

# --- the release bundle the image installs as its first slot
if [ -z "$BUNDLE" ]; then
    [ -x "$REPO/.venv/bin/ota" ] || die "no --bundle and no .venv to build one: run make deps, or pass --bundle"
    rm -rf "$WORK/bundle" && mkdir -p "$WORK/bundle"
    "$REPO/.venv/bin/ota" release build --version "$("$REPO/.venv/bin/python" -c 'import kiosk; print(kiosk.__version__)')" \
        --python 3.13 --platform manylinux_2_28_aarch64 --out "$WORK/bundle"
    BUNDLE=$(find "$WORK/bundle" -maxdepth 1 -name '*.tar' | head -n 1)
    [ -n "$BUNDLE" ] || die "ota release build made no bundle in $WORK/bundle"
fi
[ -r "$BUNDLE" ] || die "cannot read the bundle $BUNDLE"

# --- pi-gen, with the kiosk's stage after stage2 (Raspberry Pi OS Lite)
if [ ! -d "$WORK/pi-gen/.git" ]; then
    git clone --branch "$PIGEN_REF" "$PIGEN_URL" "$WORK/pi-gen"
fi
git -C "$WORK/pi-gen" fetch --quiet origin "$PIGEN_REF" && git -C "$WORK/pi-gen" checkout --quiet FETCH_HEAD
rm -rf "$WORK/pi-gen/stage-kiosk"
cp -a "$REPO/image/pi-gen/stage-kiosk" "$WORK/pi-gen/stage-kiosk"
files="$WORK/pi-gen/stage-kiosk/00-kiosk/files"
mkdir -p "$files/kiosk/docs"
cp -a "$REPO/image" "$files/kiosk/image"
cp "$REPO/docs/operations.md" "$REPO/docs/ota.md" "$files/kiosk/docs/"
cp "$BUNDLE" "$files/bundle.tar"
[ -z "$OTA_ROOT" ] || cp "$OTA_ROOT" "$files/ota-root.json"
[ -z "$IT_KEYS" ] || cp "$IT_KEYS" "$files/it-ssh-keys"
[ -z "$HQ_URL" ] || printf '%s\n' "$HQ_URL" >"$files/hq-url"
touch "$WORK/pi-gen/stage2/SKIP_IMAGES"
{
    cat "$REPO/image/pi-gen/config"
    # a random password nobody knows, locked by install-kiosk.sh: no default password exists
    echo "FIRST_USER_PASS=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
    echo 'STAGE_LIST="stage0 stage1 stage2 stage-kiosk"'
} >"$WORK/pi-gen/config"
chmod 0600 "$WORK/pi-gen/config"

(cd "$WORK/pi-gen" && ./build-docker.sh)
cp "$WORK/pi-gen/deploy/"*kiosk* "$OUT/"
echo "make image: done; the image is in $OUT"
ls -l "$OUT"
