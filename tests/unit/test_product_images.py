"""Product pictures: what may be shown (kiosk.core.images) and the folder the kiosk shows them from
(kiosk.product_images), with real files in a real folder and the scanning thread."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from kiosk.core.images import MAX_IMAGE_BYTES, MAX_SIDE, ImageRefused, check_image, check_named, sku_for_file
from kiosk.product_images import ProductImages, picture_file, scan_folder


def picture(fmt: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def test_png_and_jpeg_are_accepted_with_their_size() -> None:
    png = check_image(picture("PNG"))
    jpeg = check_image(picture("JPEG", (64, 48)))
    assert (png.kind, png.width, png.height) == ("png", 40, 30)
    assert (jpeg.kind, jpeg.width, jpeg.height) == ("jpeg", 64, 48)


def test_a_progressive_jpeg_is_measured_too() -> None:
    out = io.BytesIO()
    Image.new("RGB", (33, 17)).save(out, "JPEG", progressive=True)
    info = check_image(out.getvalue())
    assert (info.width, info.height) == (33, 17)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\0" * 40, "neither a PNG nor a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 4, "damaged"),
        (b"\xff\xd8\xff\xe0\x00", "truncated"),
        (b"\xff\xd8" + b"\xff\xfe\x00\x01" * 4, "damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * (MAX_IMAGE_BYTES), "KB"),
    ],
)
def test_damaged_foreign_or_huge_files_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused, match=reason):
        check_image(data)


def test_too_many_pixels_are_refused() -> None:
    with pytest.raises(ImageRefused, match=f"at most {MAX_SIDE}"):
        check_image(picture("PNG", (MAX_SIDE + 1, 2)))


def test_the_digest_must_match_when_one_is_given() -> None:
    data = picture()
    assert check_image(data, hashlib.sha256(data).hexdigest()).kind == "png"
    with pytest.raises(ImageRefused, match="SHA-256"):
        check_image(data, "0" * 64)
    with pytest.raises(ImageRefused, match="hex"):
        check_image(data, "nope")


def test_the_suffix_must_say_what_the_bytes_are() -> None:
    assert check_named("A.jpg", picture("JPEG")).kind == "jpeg"
    with pytest.raises(ImageRefused, match="wrong suffix"):
        check_named("A.png", picture("JPEG"))


@pytest.mark.parametrize(
    ("name", "sku"),
    [
        ("COLA330.png", "COLA330"),
        ("w-550.JPG", "w-550"),
        ("a.b.jpeg", "a.b"),
        (".hidden.png", None),
        ("../x.png", None),
        ("notes.txt", None),
        ("noext", None),
        ("有图.png", None),
    ],
)
def test_only_plain_sku_names_with_a_picture_suffix_count(name: str, sku: str | None) -> None:
    assert sku_for_file(name) == sku


def test_the_folder_shows_good_pictures_and_skips_bad_ones(tmp_path: Path) -> None:
    (tmp_path / "COLA330.png").write_bytes(picture("PNG"))
    (tmp_path / "W550.jpg").write_bytes(picture("JPEG"))
    (tmp_path / "W550.png").write_bytes(picture("PNG"))  # a second picture for W550: the first wins
    (tmp_path / "TEA500.png").write_bytes(b"not a picture")
    (tmp_path / "CHIPS.png").write_bytes(picture("JPEG"))  # wrong suffix
    (tmp_path / "README.txt").write_text("pictures go here")
    (tmp_path / "OREO.png").mkdir()
    found = scan_folder(tmp_path)
    assert {sku: p.name for sku, p in found.items()} == {"COLA330": "COLA330.png", "W550": "W550.jpg"}


def test_no_folder_means_no_pictures(tmp_path: Path) -> None:
    assert scan_folder(tmp_path / "missing") == {}


def test_the_scanning_thread_finds_pictures_added_later_and_says_when_they_changed(tmp_path: Path) -> None:
    changed = threading.Event()
    images = ProductImages(tmp_path, on_changed=changed.set)
    images.start()
    try:
        assert images.scanned.wait(10)
        assert images.path_for("COLA330") == ""
        assert not changed.is_set()  # nothing there: nothing changed
        (tmp_path / "COLA330.png").write_bytes(picture())
        images.rescan()
        assert images.scanned.wait(10)
        assert changed.wait(10)
        assert picture_file(images.path_for("COLA330")) == tmp_path / "COLA330.png"
        (tmp_path / "COLA330.png").write_bytes(b"broken now")
        changed.clear()
        images.rescan()
        assert images.scanned.wait(10) and changed.wait(10)
        assert images.path_for("COLA330") == ""
    finally:
        images.stop()


def test_a_picture_replaced_in_place_gets_a_new_source_so_the_screen_loads_it_again(tmp_path: Path) -> None:
    """GIVEN a picture the screen shows (its texture is cached by its source)
    WHEN  the file is replaced by another picture under the same name (HQ sent a new one)
    THEN  a scan says the pictures changed and the sku's source differs, naming the same file."""
    changed = threading.Event()
    images = ProductImages(tmp_path, on_changed=changed.set)
    path = tmp_path / "COLA330.png"
    path.write_bytes(picture())
    images.scan_now()
    first = images.path_for("COLA330")
    assert first.partition("#")[0] == str(path)
    changed.clear()
    path.write_bytes(picture("PNG", (30, 30)))
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    images.scan_now()
    assert changed.is_set()
    second = images.path_for("COLA330")
    assert second != first and second.partition("#")[0] == str(path)
    assert picture_file(second) == path
