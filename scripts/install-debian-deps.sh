#!/usr/bin/env bash
# Installs the Debian packages the kiosk, its demo and its tests need, only those missing.
# Runs as root on Debian 12 (or with sudo). Names are listed once here so the Pi image recipe can reuse them.
set -euo pipefail
PKGS=(
  python3 python3-venv python3-dev gcc   # the virtualenv and packages that compile
  libzbar0                               # pyzbar's decoder library
  xvfb xauth                             # a virtual screen for the UI under test and headless demo
  libgl1 libegl1 libgl1-mesa-dri libmtdev1   # what Kivy's SDL2 window needs
  fonts-wqy-microhei                     # a CJK font for the screen and the receipt preview
  socat                                  # pseudo-terminal pairs and systemd notify sockets in tests
  postgresql                             # HQ's tests run each HQ test on a throwaway PostgreSQL cluster too
  shellcheck nftables systemd udev openssh-client   # the Pi image's checks: scripts, firewall, units, udev rules, first boot
  fdisk e2fsprogs util-linux             # kiosk-storage run on a loop device (sfdisk, mkfs.ext4, losetup, partx)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing Debian packages: ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# No prompts, no stdin: debconf takes its defaults and dpkg keeps existing configuration files.
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null >/dev/null
# Debian's postgresql package starts a cluster of its own (port 5432). The tests never use it: each
# test session makes a throwaway cluster with initdb on a free port (tests/integration/conftest.py).
