#!/bin/bash -e
# pi-gen: start this stage from the root filesystem stage2 (Raspberry Pi OS Lite) built
if [ ! -d "${ROOTFS_DIR}" ]; then
    copy_previous
fi
