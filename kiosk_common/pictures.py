"""Checking a product picture: pure, bytes in, a verdict out, in one place for HQ that stores a
picture (``hq.pictures``, ``hq catalog image set``) and the kiosk that fetches and shows it
(``kiosk.core.images``, ``kiosk.sync.pictures``), so an admin hears at upload what a kiosk would
otherwise only log.

A picture comes from outside (HQ, a USB stick, an installer's folder): a huge file would stall the
image loader and eat a Pi's memory, a truncated or mislabelled one would show Kivy's broken-image
icon in front of a customer, and a file name made from a sku must not climb out of its folder.
So a picture is accepted only when it is a PNG or JPEG (by its bytes, not its name), no larger than
``MAX_IMAGE_BYTES``, no wider or taller than ``MAX_SIDE`` pixels, and (when a digest is given) its
SHA-256 matches. Anything else is refused with a reason that says what to do; the screen then shows
the product's initial instead.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

#: a catalog picture is a thumbnail: a 600×600 JPEG is about 60 KB
MAX_IMAGE_BYTES = 512 * 1024
#: pixels on the longer side; larger pictures would be decoded only to be scaled down
MAX_SIDE = 2048
#: the picture file's name is the sku and one of these suffixes (checked against the bytes)
SUFFIXES: dict[str, str] = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: a sku that may name a picture file (``<sku>.png``): it cannot climb out of its folder
SAFE_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")


class ImageRefused(ValueError):
    """A picture that may not be shown; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    kind: str  # "png" | "jpeg"
    width: int
    height: int
    size: int

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]

    @property
    def suffix(self) -> str:
        """The suffix a file of this picture gets (``.png``, ``.jpg``)."""
        return ".png" if self.kind == "png" else ".jpg"


#: the media type HQ serves each kind with
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg"}


def sku_for_file(name: str) -> str | None:
    """The sku a picture file is for (``COLA330.png`` -> ``COLA330``); None for any other file
    (another suffix, a hidden file, a name that is not a plain sku)."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or f".{suffix.lower()}" not in SUFFIXES or not SAFE_SKU.fullmatch(stem):
        return None
    return stem


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ImageRefused("the PNG has no IHDR header: the file is damaged; export the picture again")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


# JPEG start-of-frame markers (baseline, progressive, ...): they carry the picture's size
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg_size(data: bytes) -> tuple[int, int]:
    i = 2
    end = len(data)
    for _ in range(10_000):  # bounded: a damaged file cannot keep the walk going
        while i < end and data[i] == 0xFF:
            i += 1
        if i + 3 > end:
            break
        marker = data[i]
        seg_len = int.from_bytes(data[i + 1 : i + 3], "big")
        if marker in _SOF:
            if i + 8 > end:
                break
            height, width = struct.unpack(">HH", data[i + 4 : i + 8])
            return int(width), int(height)
        if seg_len < 2:
            break
        i += 1 + seg_len
        if i >= end or data[i] != 0xFF:
            break
    raise ImageRefused("the JPEG has no readable size (the file is damaged or truncated); export it again")


def check_image(data: bytes, sha256: str | None = None) -> ImageInfo:
    """The picture's kind and size when it may be shown; raises ``ImageRefused`` otherwise."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(
            f"the picture is {len(data) // 1024} KB; at most {MAX_IMAGE_BYTES // 1024} KB: "
            f"scale it down (600×600 is plenty)"
        )
    if not data:
        raise ImageRefused("the picture file is empty")
    if sha256 is not None:
        if not SHA256_RE.fullmatch(sha256):
            raise ImageRefused("the expected SHA-256 is not 64 lower-case hex digits")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ImageRefused("the picture does not match its SHA-256 (damaged or replaced): fetch it again")
    if data.startswith(_PNG_MAGIC):
        kind, (width, height) = "png", _png_size(data)
    elif data.startswith(b"\xff\xd8"):
        kind, (width, height) = "jpeg", _jpeg_size(data)
    else:
        raise ImageRefused("the picture is neither a PNG nor a JPEG: save it as one of those")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ImageRefused(f"the picture is {width}×{height}; at most {MAX_SIDE} on a side: scale it down")
    return ImageInfo(kind, width, height, len(data))


def check_named(name: str, data: bytes, sha256: str | None = None) -> ImageInfo:
    """``check_image``, and the file's suffix must say what its bytes are (a JPEG named .png would
    be loaded by the wrong decoder)."""
    info = check_image(data, sha256)
    _stem, _dot, suffix = name.rpartition(".")
    if SUFFIXES.get(f".{suffix.lower()}") != info.kind:
        raise ImageRefused(f"{name} is a {info.kind.upper()} with the wrong suffix: rename it")
    return info
