"""Checking a product picture before the screen may show it: the rules are ``kiosk_common.pictures``,
shared with HQ, which checks a picture the same way when an admin uploads it."""

from __future__ import annotations

from kiosk_common.pictures import (
    MAX_IMAGE_BYTES,
    MAX_SIDE,
    SUFFIXES,
    ImageInfo,
    ImageRefused,
    check_image,
    check_named,
    sku_for_file,
)

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_SIDE",
    "SUFFIXES",
    "ImageInfo",
    "ImageRefused",
    "check_image",
    "check_named",
    "sku_for_file",
]
