"""The pure half of the UI: what the screens show for a given checkout state, fonts and receipts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kiosk.core.cart import Cart, Product
from kiosk.core.checkout import Checkout, Notice, Phase
from kiosk.ui import present
from kiosk.ui.fonts import FontNotFound, ReceiptPainter, find_cjk_font, mono_face_index

WATER = Product("W", "矿泉水", "Water", 200, None, "drinks")
CHIPS = Product("C", "薯片", "Chips", 750, None, "snacks")
SOAP = Product("S", "肥皂", "Soap", 390, None, "")


@pytest.mark.parametrize(
    ("phase", "screen"),
    [
        (Phase.ATTRACT, "attract"),
        (Phase.CART, "cart"),
        (Phase.PAYING, "pay"),
        (Phase.PRINTING, "pay"),
        (Phase.DONE, "done"),
        (Phase.NEEDS_HELP, "help"),
    ],
)
def test_each_phase_has_its_screen(phase: Phase, screen: str) -> None:
    assert present.screen_for(phase) == screen
    assert screen in present.SCREENS


def test_cart_rows_in_each_language() -> None:
    cart = Cart().add(WATER).add(WATER).add(CHIPS)
    zh = present.cart_rows(cart, "zh_CN")
    assert [(r["sku"], r["name"], r["qty"], r["total_text"]) for r in zh] == [
        ("W", "矿泉水", 2, "¥4.00"),
        ("C", "薯片", 1, "¥7.50"),
    ]
    assert zh[0]["unit_text"] == "单价 ¥2.00"
    en = present.cart_rows(cart, "en")
    assert [r["name"] for r in en] == ["Water", "Chips"]
    assert en[0]["unit_text"] == "¥2.00 each"


def test_categories_keep_catalog_order_and_gather_the_uncategorised_under_other() -> None:
    products = [WATER, CHIPS, SOAP, Product("W2", "茶", "Tea", 300, None, "drinks")]
    assert present.categories(products) == ["drinks", "snacks", "other"]
    assert present.category_label("drinks", "zh_CN") == "饮料"
    assert present.category_label("other", "en") == "Other"
    assert present.category_label("冷冻食品", "en") == "冷冻食品"  # unknown: shown as the catalog spells it


def test_product_tiles_filter_by_category_and_show_what_is_in_the_cart() -> None:
    cart = Cart().add(CHIPS, 3)
    tiles = present.product_tiles([WATER, CHIPS, SOAP], "snacks", cart, "zh_CN")
    assert tiles == [{"sku": "C", "name": "薯片", "price_text": "¥7.50", "qty": 3, "sold_out": False}]
    assert [t["sku"] for t in present.product_tiles([WATER, CHIPS, SOAP], "", cart, "en")] == ["W", "C", "S"]
    assert [t["sku"] for t in present.product_tiles([WATER, CHIPS, SOAP], "other", cart, "en")] == ["S"]


def test_a_sold_out_product_stays_on_the_grid_marked_sold_out_instead_of_its_price() -> None:
    gone = replace(WATER, sold_out=True)
    zh = present.product_tiles([gone, CHIPS], "", Cart(), "zh_CN")
    en = present.product_tiles([gone, CHIPS], "", Cart(), "en")
    assert [(r["sku"], r["price_text"], r["sold_out"]) for r in zh] == [
        ("W", "已售罄", True),
        ("C", "¥7.50", False),
    ]
    assert en[0]["price_text"] == "Sold out"


def test_notice_and_order_number() -> None:
    state = Checkout(phase=Phase.PAYING, notice=Notice.PAYMENT_DECLINED, order_id="3f2a9c1d-0000-4000")
    assert present.notice_for(state, "zh_CN") == "付款未成功，请换一种付款方式再试"
    assert present.order_no(state) == "3F2A9C1D"
    assert present.order_no(Checkout()) == ""


def test_sample_labels_and_the_sample_a_scripted_customer_picks() -> None:
    assert present.sample_label("wechat_ok", "zh_CN") == "微信  付款成功"
    assert present.sample_label("alipay_declined", "en") == "Alipay  declined"
    assert present.sample_label("mystery", "en") == "mystery"
    assert present.preferred_sample(["wechat_declined", "alipay_ok", "wechat_ok"]) == "wechat_ok"
    assert present.preferred_sample(["alipay_declined", "alipay_ok"]) == "alipay_ok"
    assert present.preferred_sample(["x_declined"]) == "x_declined"
    assert present.preferred_sample([]) is None


def test_frame_to_rgb_flips_rows_and_swaps_blue_and_red() -> None:
    bgr = np.zeros((2, 4, 3), dtype=np.uint8)
    bgr[0, 0] = (255, 0, 0)  # top-left pixel is blue in BGR
    pixels, w, h, fmt = present.frame_to_rgb(bgr)
    assert (w, h, fmt) == (4, 2, "rgb")
    assert tuple(pixels[1, 0]) == (0, 0, 255)  # now the last row (OpenGL's top), as RGB blue
    assert pixels.flags["C_CONTIGUOUS"]


def test_frame_to_rgb_pads_odd_widths_and_accepts_grey() -> None:
    pixels, w, h, fmt = present.frame_to_rgb(np.full((3, 5), 7, dtype=np.uint8))
    assert (w, h, fmt) == (5, 3, "rgba")
    assert pixels.shape == (3, 5, 4)
    assert tuple(pixels[0, 0]) == (7, 7, 7, 255)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("not an array", "numpy array"),
        (np.zeros((4, 4, 3), dtype=np.float32), "uint8"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "shape"),
        (np.zeros((0, 4, 3), dtype=np.uint8), "empty"),
    ],
)
def test_frame_to_rgb_refuses_frames_it_cannot_show(frame: object, message: str) -> None:
    with pytest.raises(present.FrameError, match=message):
        present.frame_to_rgb(frame)


@pytest.mark.parametrize(
    ("redraw_s", "interval"),
    [
        ([], present.PREVIEW_INTERVAL_MIN_S),  # nothing measured yet: full rate
        ([0.005, 0.006, 0.004], present.PREVIEW_INTERVAL_MIN_S),  # a GPU: full rate, 10 a second
        ([0.06, 0.06, 0.06], pytest.approx(0.18)),  # software GL: redraws take a third of the time
        ([0.06, 0.9, 0.06], pytest.approx(0.18)),  # one slow redraw (a garbage collection) is ignored
        ([0.4, 0.5], present.PREVIEW_INTERVAL_MAX_S),  # never below 2 a second
        ([float("nan"), -1.0, float("inf")], present.PREVIEW_INTERVAL_MIN_S),  # nonsense is ignored
    ],
)
def test_the_preview_slows_down_until_its_redraws_leave_the_ui_thread_free(
    redraw_s: list[float], interval: object
) -> None:
    assert present.preview_interval(redraw_s) == interval


def test_a_configured_font_that_is_missing_falls_back_to_an_installed_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    found = find_cjk_font("/nonexistent/font.ttc")
    assert found.is_file()
    assert "does not exist" in caplog.text


def test_no_cjk_font_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FontNotFound, match="fonts-wqy-microhei"):
        find_cjk_font("", dirs=(tmp_path,))


def test_the_receipt_is_drawn_on_the_printers_column_grid() -> None:
    """Two lines of equal display width end at the same pixel column, Chinese or not."""
    font = find_cjk_font()
    painter = ReceiptPainter(font, font_px=20)
    if "wqy" in font.name:
        assert mono_face_index(font) == 1  # WenQuanYi Micro Hei Mono
    text = "合计              ¥7.50\nTotal             ¥7.50\n"
    paper = painter.paint(text)
    assert paper.width >= 32 * painter.cell
    ink = np.asarray(paper.convert("L")) < 128
    rows_per_line = painter.line_h
    top = painter.margin
    right_edges = []
    for i in range(2):
        band = ink[top + i * rows_per_line : top + (i + 1) * rows_per_line]
        cols = np.nonzero(band.any(axis=0))[0]
        right_edges.append(int(cols.max()))
    assert abs(right_edges[0] - right_edges[1]) <= 1
    lefts = []
    for i in range(2):
        band = ink[top + i * rows_per_line : top + (i + 1) * rows_per_line]
        lefts.append(int(np.nonzero(band.any(axis=0))[0].min()))
    assert all(abs(x - painter.margin) <= painter.cell for x in lefts)
    assert isinstance(paper, Image.Image)
