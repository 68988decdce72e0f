"""The done screen's receipt after an English purchase made by touch (the real KioskApp under Xvfb).

GIVEN an enrolled kiosk (the FakeController: the receipt's QR is the sale's e-receipt URL)
WHEN  a customer switches to EN, turns on large text, taps two products, pays and holds up a WeChat code, by touch
THEN  the done screen draws the receipt as it printed: the English item names, the footer
      centred on the paper, and the QR code under it, which a phone reads as the e-receipt URL; and
      while it fades out after "Done", it keeps the customer's language and text size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from ui_harness import TourRun, run_tour

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def tour(xvfb_display: str, tmp_path_factory: pytest.TempPathFactory) -> TourRun:
    run = run_tour(xvfb_display, tmp_path_factory.mktemp("receipt"), "ui_receipt_main.py")
    assert run.returncode == 0, run.result.get("failure") or run.log[-3000:]
    return run


def _obs(tour: TourRun) -> dict[str, Any]:
    obs: dict[str, Any] = tour.result["obs"]
    return obs


def test_the_preview_names_the_items_in_english(tour: TourRun) -> None:
    obs = _obs(tour)
    assert obs["panel"] == "paper" and obs["receipt_texture"]
    body = "\n".join(obs["body"])
    for sku in obs["cart"]:
        name_zh, name_en = obs["names"][sku]
        assert name_en in body and name_zh not in body, (name_en, body)
    assert "TOTAL" in body and "WeChat Pay" in body


def test_the_preview_shows_the_qr_the_paper_carries(tour: TourRun) -> None:
    obs = _obs(tour)
    assert obs["qr_payload"] == obs["e_receipt_url"] and obs["e_receipt_url"].startswith(
        "https://hq.example.com/r/"
    )
    with Image.open(tour.out_dir / "done_en.png") as img:
        codes = zxingcpp.read_barcodes(img.convert("RGB"))
    assert [c.text for c in codes] == [obs["e_receipt_url"]]


def test_the_preview_centres_the_footer_over_the_qr(tour: TourRun) -> None:
    """On the screenshot: the footer's ink, just above the QR, is centred where the QR is (both are
    centred on the paper); a left-aligned footer would start at the paper's left margin."""
    obs = _obs(tour)
    assert obs["footer"] == [["Thank you, come again", (32 - 21) // 2]]
    with Image.open(tour.out_dir / "done_en.png") as img:
        rgb = img.convert("RGB")
        (code,) = zxingcpp.read_barcodes(rgb)
        grey = np.asarray(rgb.convert("L"))
    pos = code.position
    qr_left, qr_right = pos.top_left.x, pos.top_right.x
    qr_top = min(pos.top_left.y, pos.top_right.y)
    qr_centre, qr_width = (qr_left + qr_right) / 2, qr_right - qr_left
    x0, _y0, w, _h = obs["receipt_box"]
    # the picture's left and right within the window, in screenshot pixels (same size as the window)
    left, right = int(x0) + 8, int(x0 + w) - 8
    # up from the QR, over its white quiet zone, to the first rows with ink: the footer line
    rows = []
    for y in range(int(qr_top) - 2, max(0, int(qr_top) - 160), -1):
        if (grey[y, left:right] < 110).any():
            rows.append(y)
        elif rows:
            break
    assert rows, "no footer line above the QR"
    footer = grey[min(rows) : max(rows) + 1, left:right] < 110
    cols = np.nonzero(footer.any(axis=0))[0] + left
    ink_centre = (cols.min() + cols.max()) / 2
    assert abs(ink_centre - qr_centre) <= 0.1 * qr_width, (ink_centre, qr_centre)
    assert cols.min() > left + 0.1 * (right - left)  # not from the paper's left margin


def test_the_thank_you_keeps_the_customers_language_while_it_fades(tour: TourRun) -> None:
    """The next customer's language is set as the done screen starts to fade out; the done screen
    must go on speaking the paying customer's language until it is gone (it switched mid-fade)."""
    fading = _obs(tour)["fading"]
    assert "Thank you!" in fading and "Done" in fading, fading
    assert not any(text in fading for text in ("谢谢惠顾！", "完成")), fading


def test_the_thank_you_keeps_its_large_text_while_it_fades(tour: TourRun) -> None:
    """The customer chose large text; the next customer starts without it, but the done screen fading
    out keeps the size it was read at (it shrank mid-fade)."""
    obs = _obs(tour)
    before, fading = dict(obs["done_sizes"]), dict(obs["fading_sizes"])
    # once faded out, the done screen forgets the sale ("Paid ¥0.00"): compare the lines it keeps
    kept = {"Thank you!", "Done", "中文", "EN", "Please take your receipt"}
    assert kept <= before.keys() and kept <= fading.keys(), (before, fading)
    assert {k: fading[k] for k in kept} == {k: before[k] for k in kept}
    assert before["Thank you!"] > 40  # drawn large: the check compares large with large
