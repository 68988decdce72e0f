"""The settings' [scanners] section builds the hand scanners, and their reads reach the checkout.

A serial scanner on a pseudo-terminal feeds the kiosk built by ``build_kiosk``: the code goes
through the same ``controller.on_codes`` as a camera read and becomes a ``ProductScanned``.
"""

from __future__ import annotations

import os
import time
import tty
from pathlib import Path

import pytest

from drivers.camera.sources import HeldImageSource
from drivers.scanners.hid_wedge import HidWedgeScanner
from drivers.scanners.serial_scanner import SerialScanner
from kiosk.bootstrap import Overrides, build_kiosk
from kiosk.core import checkout as co
from kiosk.settings import SettingsError, load_settings


def test_a_serial_scan_reaches_the_checkout(tmp_path: Path) -> None:
    scanner_end, kiosk_end = os.openpty()
    tty.setraw(scanner_end)
    tty.setraw(kiosk_end)
    settings = load_settings(
        environ={},
        overrides={
            "kiosk": {"data_dir": str(tmp_path)},
            "printer": {"transport": "none"},
            "gpio": {"pin_factory": "mock", "enabled": False},
            "scanners": {"serial_port": os.ttyname(kiosk_end), "hid_device": str(tmp_path / "no-such-event")},
            "camera": {"roi": [0.1, 0.1, 0.9, 0.9], "fault_after_s": 1.5},
            # commissioned (a kiosk without a gateway is out of service and starts no sale); never
            # charged here, so nothing listens at the gateway's address
            "payments": {
                "gateway": "wechat",
                "wechat": {
                    "gateway_url": "http://127.0.0.1:9",
                    "appid": "wx0000000000000001",
                    "mch_id": "1900000001",
                    "api_key": "k" * 32,
                },
            },
        },
    )
    k = build_kiosk(settings, overrides=Overrides(source=HeldImageSource(64, 48)), background=False)
    kinds = sorted(type(s).__name__ for s in k.product_scanners)
    assert kinds == [HidWedgeScanner.__name__, SerialScanner.__name__]
    assert k.scanner.roi.left == 0.1
    serial_scanner = next(s for s in k.product_scanners if isinstance(s, SerialScanner))
    serial_scanner.start()
    try:
        assert serial_scanner.wait_connected(10)
        os.write(scanner_end, b"4006381333931\r\n")
        deadline = time.monotonic() + 10  # bounds a failing test only: the loop ends on the scan
        while k.controller.state.phase is co.Phase.ATTRACT and time.monotonic() < deadline:
            k.controller.pump(timeout=0.1)
    finally:
        assert serial_scanner.stop()
        k.store.db.close()
        os.close(scanner_end)
        os.close(kiosk_end)
    state = k.controller.state
    assert state.phase is co.Phase.CART
    assert state.notice is co.Notice.UNKNOWN_PRODUCT  # an empty catalog: the scan arrived as a product


def test_bad_camera_and_scanner_settings_name_the_key() -> None:
    with pytest.raises(SettingsError, match=r"camera\.roi"):
        load_settings(environ={}, overrides={"camera": {"roi": [0.8, 0.0, 0.2, 1.0]}})
    with pytest.raises(SettingsError, match=r"scanners\.serial_baudrate"):
        load_settings(environ={}, overrides={"scanners": {"serial_baudrate": 1234}})
    with pytest.raises(SettingsError, match=r"camera\.backend"):
        load_settings(environ={}, overrides={"camera": {"backend": "zbar"}})
    assert load_settings(environ={}).scanners.hid_device == ""
