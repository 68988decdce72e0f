"""Checking a product picture before the screen may show it: the rules are ``kiosk_common.pictures``,
shared with HQ, which checks a picture the same way when an admin uploads it."""

from __future__ import annotations

from pathlib import Path

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
    "picture_file",
    "sku_for_file",
]


def picture_file(source: str) -> Path:
    """The file of a picture source (``kiosk.product_images.ProductImages.path_for``): the path
    before a ``#<modification time>``, which makes a picture replaced under the same name a new
    source, so the screen, which keeps textures by source, loads it again."""
    path, hash_mark, stamp = source.rpartition("#")
    return Path(path if hash_mark and stamp.isdigit() else source)
