"""make image-boot's verdict on the screens it saves (image/qemu-boot/drive.py): qemu's screendump
PNG read with zlib alone, and the rule it checks: the kiosk's own screen at READY and 30 s later.
The PNGs here are written by OpenCV, which picks the row filters itself."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from tests.image.recipe import REPO


@pytest.fixture(scope="module")
def drive() -> ModuleType:
    spec = importlib.util.spec_from_file_location("boot_drive", REPO / "image/qemu-boot/drive.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["boot_drive"] = module
    spec.loader.exec_module(module)
    return module


def _png(tmp_path: Path, name: str, picture: np.ndarray) -> Path:
    path = tmp_path / name
    assert cv2.imwrite(str(path), picture)
    return path


def _black() -> np.ndarray:
    return np.zeros((80, 128, 3), np.uint8)


def _spinner() -> np.ndarray:
    picture = _black()
    cv2.circle(picture, (64, 50), 4, (200, 200, 200), -1)
    return picture


def _kiosk() -> np.ndarray:
    rng = np.random.default_rng(7)
    picture = np.full((80, 128, 3), (80, 48, 16), np.uint8)  # the kiosk's dark blue
    picture[10:70, 8:60] = rng.integers(0, 256, (60, 52, 3), dtype=np.uint8)  # a QR-like patch
    picture[0:4, :] = 0
    return picture


@pytest.mark.parametrize("picture", [_black, _spinner, _kiosk], ids=["black", "spinner", "kiosk"])
def test_the_lit_share_matches_opencvs_reading(
    drive: ModuleType, tmp_path: Path, picture: Callable[[], np.ndarray]
) -> None:
    pixels = picture()
    path = _png(tmp_path, "screen.png", pixels)
    expected = float((pixels.max(axis=2) > 0).mean())
    assert drive.lit_fraction(path) == pytest.approx(expected, abs=1e-12)


def test_an_rgba_screendump_is_read_too(drive: ModuleType, tmp_path: Path) -> None:
    pixels = cv2.cvtColor(_kiosk(), cv2.COLOR_BGR2BGRA)
    path = _png(tmp_path, "screen.png", pixels)
    assert drive.lit_fraction(path) == pytest.approx(float((pixels[:, :, :3].max(axis=2) > 0).mean()))


def test_at_ready_only_the_kiosks_own_screen_passes(drive: ModuleType, tmp_path: Path) -> None:
    # a boot showed READY=1 with the kiosk's first frame black on the display: READY=1 must mean
    # the customer's screen is there, and the splash's spinner on black is not it either
    black = drive.screen_check("boot1", _png(tmp_path, "boot1.png", _black()))
    assert (black["name"], black["verdict"]) == ("screen:boot1", "FAIL")
    assert "0.00% of the pixels lit" in black["detail"]
    assert drive.screen_check("boot1", _png(tmp_path, "splash.png", _spinner()))["verdict"] == "FAIL"
    assert drive.screen_check("boot1", _png(tmp_path, "kiosk.png", _kiosk()))["verdict"] == "ok"


def test_30_s_later_only_the_kiosks_own_screen_passes(drive: ModuleType, tmp_path: Path) -> None:
    assert drive.screen_check("boot1-30s", _png(tmp_path, "a.png", _spinner()))["verdict"] == "FAIL"
    assert drive.screen_check("boot1-30s", _png(tmp_path, "b.png", _kiosk()))["verdict"] == "ok"


def test_no_saved_screen_is_a_failure(drive: ModuleType) -> None:
    assert drive.screen_check("boot2", None)["verdict"] == "FAIL"


def test_something_else_than_a_png_is_refused(drive: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "screen.png"
    path.write_bytes(b"P6\n1 1\n255\n\x00\x00\x00")
    with pytest.raises(ValueError, match="not a PNG"):
        drive.lit_fraction(path)
