"""The e-receipt QR on screen when the receipt does not print (the real KioskApp under Xvfb).

GIVEN an enrolled kiosk (the FakeController has an e-receipt address) whose printer fails
WHEN a customer pays
THEN the done screen shows a QR that a phone reads as the sale's e-receipt URL, the same URL the
     printed receipt would have carried; without a failed receipt no QR is shown.
"""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image
from ui_harness import TourRun, run_tour

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def tour(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    return run_tour(xvfb_display, tmp_path_factory.mktemp("qr"), "ui_tour_main.py", "--script", "receipt_qr")


def _codes(png: object) -> list[str]:
    with Image.open(png) as img:  # type: ignore[arg-type]
        return [r.text for r in zxingcpp.read_barcodes(img.convert("RGB"))]


def test_the_done_screen_shows_the_e_receipt_qr(tour: TourRun) -> None:
    assert tour.returncode == 0, tour.log[-3000:]
    url = tour.result["receipt_url"]
    assert url.startswith("https://hq.example.com/r/kiosk-001/")
    assert _codes(tour.out_dir / "done_qr.png") == [url]


def test_no_qr_without_a_failed_receipt(tour: TourRun) -> None:
    assert _codes(tour.out_dir / "attract.png") == []
