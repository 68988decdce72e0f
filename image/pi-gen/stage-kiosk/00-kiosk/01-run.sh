#!/bin/bash -e
# pi-gen runs this on the build host with ROOTFS_DIR set; on_chroot runs commands inside the image.
# files/ holds what image/build.sh put there: the repository's image/ and docs/ (kiosk/), the release
# bundle (bundle.tar) and, when given, the TUF root (ota-root.json).
FILES="$(dirname "$0")/files"
STAGING="${ROOTFS_DIR}/tmp/kiosk-install"

rm -rf "${STAGING}"
install -d "${STAGING}"
cp -a "${FILES}/kiosk" "${FILES}/bundle.tar" "${STAGING}/"
ota_root=()
if [ -f "${FILES}/ota-root.json" ]; then
    cp "${FILES}/ota-root.json" "${STAGING}/"
    ota_root=(--ota-root /tmp/kiosk-install/ota-root.json)
fi
it_keys=()
if [ -f "${FILES}/it-ssh-keys" ]; then
    cp "${FILES}/it-ssh-keys" "${STAGING}/"
    it_keys=(--it-keys /tmp/kiosk-install/it-ssh-keys)
fi

hq_url=()
if [ -f "${FILES}/hq-url" ]; then
    url=$(cat "${FILES}/hq-url")
    # checked here too, before it stands in the chroot's command line below
    sh "${FILES}/kiosk/image/check-hq-url.sh" "$url"
    hq_url=(--hq-url "$url")
fi

on_chroot <<CHROOT
bash /tmp/kiosk-install/kiosk/image/install-kiosk.sh --bundle /tmp/kiosk-install/bundle.tar ${ota_root[*]} ${it_keys[*]} ${hq_url[*]}
# no SSH host keys in the image: every kiosk makes its own on the data partition (kiosk-firstboot)
rm -f /etc/ssh/ssh_host_*
CHROOT
rm -rf "${STAGING}"

# the boot partition: config.txt fragment, cmdline.txt edits (image/boot/)
BOOT="${ROOTFS_DIR}/boot/firmware"
if ! grep -q '^# --- kiosk' "${BOOT}/config.txt"; then
    cat "${FILES}/kiosk/image/boot/config-kiosk.txt" >>"${BOOT}/config.txt"
fi
sh "${FILES}/kiosk/image/boot/kiosk-cmdline.sh" "${BOOT}/cmdline.txt"

# the data partition and its bind mounts; /boot/firmware read-only (kiosk-os-update remounts it)
if ! grep -q '^# --- kiosk' "${ROOTFS_DIR}/etc/fstab"; then
    cat "${FILES}/kiosk/image/boot/fstab-kiosk" >>"${ROOTFS_DIR}/etc/fstab"
fi
sed -i -E 's#^(\S+\s+/boot/firmware\s+vfat\s+)defaults(\s)#\1defaults,ro\2#' "${ROOTFS_DIR}/etc/fstab"
