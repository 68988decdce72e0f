"""Product pictures in a kiosk built by ``build_kiosk``: a real SQLite store with a catalog, real
files in ``<data_dir>/images``, the pictures' own scanning thread, and the controller the screens ask.

GIVEN a kiosk with three products and a folder holding a good picture, a damaged one and a file
      of the wrong kind
WHEN  the kiosk starts its picture scan, and later a catalog is applied after a picture was added
THEN  the screens get the good picture's path and "" for the others, are told when pictures
      changed, and a picture copied in with a new catalog is shown without a restart.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

from PIL import Image

from drivers.camera.sources import HeldImageSource
from kiosk.bootstrap import Overrides, build_kiosk
from kiosk.ports import CatalogItem, CatalogUpdate
from kiosk.product_images import picture_file
from kiosk.settings import load_settings

ITEMS = (
    CatalogItem("COLA330", "可口可乐 330ml", "Coca-Cola 330ml", 350, "6928804011142", "drinks"),
    CatalogItem("W550", "农夫山泉 550ml", "Nongfu Spring 550ml", 200, "6921168509256", "drinks"),
    CatalogItem("TEA500", "冰红茶 500ml", "Iced tea 500ml", 300, None, "drinks"),
)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 60), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_pictures_reach_the_screens_checked_and_follow_catalog_updates(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        overrides={
            "kiosk": {"data_dir": str(tmp_path)},
            "printer": {"transport": "none"},
            "gpio": {"pin_factory": "mock", "enabled": False},
        },
    )
    k = build_kiosk(settings, overrides=Overrides(source=HeldImageSource(64, 48)), background=False)
    assert k.images is not None
    k.store.apply_catalog(CatalogUpdate("snapshot", 0, 1, ITEMS, {}))
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "COLA330.png").write_bytes(png())
    (folder / "W550.png").write_bytes(b"\x89PNG\r\n\x1a\n damaged")
    (folder / "TEA500.jpg").write_bytes(png())  # a PNG named .jpg
    notified = threading.Event()
    k.controller.subscribe(lambda _state: notified.set())
    try:
        k.images.start()
        assert k.images.scanned.wait(10)
        assert picture_file(k.controller.product_image("COLA330")) == folder / "COLA330.png"
        assert k.controller.product_image("W550") == ""
        assert k.controller.product_image("TEA500") == ""
        assert k.controller.product_image("NOPE") == ""
        # the change reaches the screens through the dispatching thread (posted, then pumped)
        for _ in range(100):  # bounded: each pump waits at most 0.1 s for the post
            if notified.is_set():
                break
            k.controller.pump(timeout=0.1)
        assert notified.is_set()
        # a picture copied in with a new catalog: applying the catalog rescans
        (folder / "TEA500.jpg").unlink()
        (folder / "TEA500.png").write_bytes(png())
        assert k.puller.on_applied is not None
        k.puller.on_applied()
        assert k.images.scanned.wait(10)
        assert picture_file(k.controller.product_image("TEA500")) == folder / "TEA500.png"
    finally:
        k.images.stop()
        k.store.db.close()
