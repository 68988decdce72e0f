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


def _splash() -> np.ndarray:
    """The kiosk's splash as plymouth leaves it: its blue, the picture, no spinner (BGR)."""
    picture = np.full((80, 128, 3), (0x7A, 0x4B, 0x13), np.uint8)
    picture[20:40, 30:98] = 255
    return picture


def _attract() -> np.ndarray:
    """The attract screen: the same blue on about half, a darker circle, white words."""
    picture = _splash()
    cv2.circle(picture, (128, 80), 60, (0x57, 0x35, 0x0C), -1)
    picture[50:60, 10:60] = 255
    return picture


def _kiosk() -> np.ndarray:
    rng = np.random.default_rng(7)
    picture = np.full((80, 128, 3), (80, 48, 16), np.uint8)  # the kiosk's dark blue
    picture[10:70, 8:60] = rng.integers(0, 256, (60, 52, 3), dtype=np.uint8)  # a QR-like patch
    picture[0:4, :] = 0
    return picture


PICTURES = [_black, _spinner, _splash, _attract, _kiosk]


@pytest.mark.parametrize("picture", PICTURES, ids=[p.__name__[1:] for p in PICTURES])
def test_the_shares_match_opencvs_reading(
    drive: ModuleType, tmp_path: Path, picture: Callable[[], np.ndarray]
) -> None:
    pixels = picture()
    path = _png(tmp_path, "screen.png", pixels)
    lit = float((pixels.max(axis=2) > 0).mean())
    rgb = pixels[:, :, ::-1].astype(int)
    splash = float((np.abs(rgb - np.array(drive.SPLASH_RGB)) <= 3).all(axis=2).mean())
    assert drive.screen_shares(path) == pytest.approx((lit, splash), abs=1e-12)


def test_the_splash_colour_is_the_themes(drive: ModuleType) -> None:
    theme = (REPO / "image/rootfs/usr/share/plymouth/themes/kiosk/kiosk.plymouth").read_text()
    colour = int(theme.split("BackgroundStartColor=", 1)[1].split()[0], 16)
    assert ((colour >> 16) & 0xFF, (colour >> 8) & 0xFF, colour & 0xFF) == drive.SPLASH_RGB


def test_an_rgba_screendump_is_read_too(drive: ModuleType, tmp_path: Path) -> None:
    pixels = cv2.cvtColor(_kiosk(), cv2.COLOR_BGR2BGRA)
    path = _png(tmp_path, "screen.png", pixels)
    assert drive.screen_shares(path)[0] == pytest.approx(float((pixels[:, :, :3].max(axis=2) > 0).mean()))


def test_at_ready_only_the_kiosks_own_screen_passes(drive: ModuleType, tmp_path: Path) -> None:
    # a boot showed READY=1 with the kiosk's first frame black on the display: READY=1 must mean
    # the customer's screen is there, and the splash's spinner on black is not it either
    black = drive.screen_check("boot1", _png(tmp_path, "boot1.png", _black()))
    assert (black["name"], black["verdict"]) == ("screen:boot1", "FAIL")
    assert "0.00% of the pixels lit" in black["detail"]
    assert drive.screen_check("boot1", _png(tmp_path, "spinner.png", _spinner()))["verdict"] == "FAIL"
    assert drive.screen_check("boot1", _png(tmp_path, "kiosk.png", _kiosk()))["verdict"] == "ok"


def test_the_splash_left_on_the_display_is_not_the_kiosks_screen(drive: ModuleType, tmp_path: Path) -> None:
    # the kiosk's splash is blue with a picture and stays after `plymouth deactivate`: lit, and
    # still not the kiosk; the attract screen, in the same blue, is
    splash = drive.screen_check("boot1", _png(tmp_path, "splash.png", _splash()))
    assert splash["verdict"] == "FAIL" and "the splash's blue" in splash["detail"]
    assert drive.screen_check("boot1", _png(tmp_path, "attract.png", _attract()))["verdict"] == "ok"


def test_the_hand_over_screen_is_recorded_not_judged(drive: ModuleType, tmp_path: Path) -> None:
    shown = drive.screen_figure(_png(tmp_path, "boot1-handover.png", _splash()))
    assert shown.startswith("100.0% lit, ") and shown.endswith("the splash's blue (boot1-handover.png)")
    assert drive.screen_figure(None) == "no screen saved"


def test_30_s_later_only_the_kiosks_own_screen_passes(drive: ModuleType, tmp_path: Path) -> None:
    assert drive.screen_check("boot1-30s", _png(tmp_path, "a.png", _spinner()))["verdict"] == "FAIL"
    assert drive.screen_check("boot1-30s", _png(tmp_path, "b.png", _kiosk()))["verdict"] == "ok"


def test_no_saved_screen_is_a_failure(drive: ModuleType) -> None:
    assert drive.screen_check("boot2", None)["verdict"] == "FAIL"


def test_something_else_than_a_png_is_refused(drive: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "screen.png"
    path.write_bytes(b"P6\n1 1\n255\n\x00\x00\x00")
    with pytest.raises(ValueError, match="not a PNG"):
        drive.screen_shares(path)
