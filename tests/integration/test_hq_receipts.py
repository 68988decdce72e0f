"""The e-receipt page on a real HQ, on SQLite and on PostgreSQL (docs/sync-protocol.md §7)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq, sqlite_url

from hq.background import BackgroundServer
from hq.db import connected
from hq.devices import add_store, enrol_device, store_by_code
from hq.identity import kiosk_secret, load_or_create_key
from hq.models import Device, Refund, Sale, SaleLine, Store
from hq.serving import build_app
from hq.settings import load_settings
from kiosk_common.signing import receipt_path, receipt_token


def add_sale(kiosk_id: str, lines: list[tuple[str, int, int]], channel: str = "wechat") -> str:
    """Write a sale of ``kiosk_id`` into HQ's database as ingest stores it; returns its order id."""
    order_id = str(uuid.uuid4())
    device = Device.get(Device.kiosk_id == kiosk_id)
    total = sum(qty * unit for _, qty, unit in lines)
    Sale.create(
        order_id=order_id,
        kiosk_id=kiosk_id,
        created_at=datetime(2026, 11, 24, 12, 0, 0),
        paid_at=datetime(2026, 11, 24, 12, 0, 31),
        total_fen=total,
        currency="CNY",
        channel=channel,
        out_trade_no=f"K{order_id[:8].upper()}",
        transaction_id=f"4200{order_id[:8]}",
        content_sha256="0" * 64,
        store_id=device.store_id,
    )
    for n, (name, qty, unit) in enumerate(lines, start=1):
        SaleLine.create(
            sale=order_id,
            line_no=n,
            sku=f"S{n}",
            name=name,
            qty=qty,
            unit_price_fen=unit,
            line_total_fen=qty * unit,
        )
    return order_id


def token_for(hq: LiveHq, kiosk_id: str, order_id: str, generation: int = 1) -> str:
    secret = kiosk_secret(load_or_create_key(hq.identity_file), kiosk_id, generation)
    return receipt_token(secret, order_id)


def get(hq: LiveHq, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(f"{hq.url}{path}", timeout=10, allow_redirects=False, **kwargs)


@pytest.fixture
def shop(hq_db_url: str) -> Any:
    with running_hq(hq_db_url) as hq:
        hq.enrol("kiosk-001", store="s01")
        hq.enrol("kiosk-002", store="s02")
        with connected():
            Store.update(name="东门店 East Gate").where(Store.code == "s01").execute()
            water = add_sale("kiosk-001", [("矿泉水 Mineral water", 2, 200), ("可乐 Cola", 1, 350)])
            Refund.create(
                out_refund_no="R-0001",
                sale=water,
                kiosk_id="kiosk-001",
                out_trade_no=f"K{water[:8].upper()}",
                amount_fen=350,
                refunded_at=datetime(2026, 11, 24, 12, 5, 0),
                content_sha256="1" * 64,
            )
            bread = add_sale("kiosk-001", [("面包 Bread Roll", 3, 450)], channel="alipay")
            other = add_sale("kiosk-002", [("咖啡 Coffee", 1, 1500)])
        yield hq, water, bread, other


def test_the_receipt_page_shows_that_sale_in_chinese_for_a_phone(shop: Any) -> None:
    hq, water, bread, other = shop
    answer = get(hq, receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", water)))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert '<html lang="zh-CN">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "东门店 East Gate" in page and "电子小票" in page
    assert "2026-11-24 20:00:31" in page  # 12:00:31 UTC in Asia/Shanghai
    assert "矿泉水 Mineral water" in page and "可乐 Cola" in page
    assert "¥7.50" in page and "¥4.00" in page and "¥3.50" in page
    assert "微信支付" in page
    assert "已退款 2026-11-24 20:05:00" in page and "-¥3.50" in page and "退款后合计" in page
    assert f"K{water[:8].upper()}" in page
    # nothing of any other sale, store or kiosk
    for foreign in (bread, other, "面包", "咖啡", "Coffee", "kiosk-002", "s02", f"4200{water[:8]}"):
        assert foreign not in page
    # no scripts, no external assets
    assert "<script" not in page and "src=" not in page and "http" not in page
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert "noindex" in answer.headers["X-Robots-Tag"]
    csp = answer.headers["Content-Security-Policy"]
    assert csp.startswith("default-src 'none';") and "unsafe-inline" not in csp
    assert "script-src" not in csp  # nothing but the one stylesheet, by its hash
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)


def test_english_by_query_or_by_the_browsers_preference(shop: Any) -> None:
    hq, water, *_ = shop
    path = receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", water))
    for answer in (
        get(hq, path + "?lang=en"),
        get(hq, path, headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}),
    ):
        assert answer.status_code == 200
        assert '<html lang="en">' in answer.text
        assert "E-receipt" in answer.text and "WeChat Pay" in answer.text and "Refunded" in answer.text
        assert "电子小票" not in answer.text
        assert answer.headers["Content-Language"] == "en"
    zh = get(hq, path + "?lang=zh", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in zh.text and "支付宝" not in zh.text and "微信支付" in zh.text


def test_a_wrong_token_another_sales_token_and_unknown_addresses_get_one_plain_404(shop: Any) -> None:
    hq, water, bread, other = shop
    not_found = get(hq, receipt_path("kiosk-001", water, "0" * 32))
    assert not_found.status_code == 404
    assert "未找到小票" in not_found.text and "此地址没有小票" in not_found.text
    assert not_found.headers["Cache-Control"] == "no-store"
    wrong_addresses = [
        receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", bread)),  # another sale's token
        receipt_path("kiosk-001", water, token_for(hq, "kiosk-002", water)),  # another kiosk's token
        receipt_path("kiosk-002", water, token_for(hq, "kiosk-001", water)),  # the right token, wrong kiosk
        receipt_path("kiosk-404", water, token_for(hq, "kiosk-404", water)),  # a kiosk HQ does not know
        receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", water, generation=2)),  # not enrolled yet
        receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", water).upper()),
        receipt_path("kiosk-001", water, token_for(hq, "kiosk-001", water)[:-1]),
        receipt_path("kiosk-001", "not-an-order", "0" * 32),
        f"/r/kiosk-001/{water}/{'%27%3Cb%3E'}",
    ]
    for path in wrong_addresses:
        answer = get(hq, path)
        assert (answer.status_code, answer.text) == (404, not_found.text), path
    # the page of another kiosk's sale, with that kiosk's right token, is that sale only
    theirs = get(hq, receipt_path("kiosk-002", other, token_for(hq, "kiosk-002", other)))
    assert theirs.status_code == 200 and "咖啡 Coffee" in theirs.text and "矿泉水" not in theirs.text


def test_a_right_token_for_a_sale_not_at_hq_yet_says_try_again(shop: Any) -> None:
    hq, *_ = shop
    order_id = str(uuid.uuid4())
    not_yet = get(hq, receipt_path("kiosk-001", order_id, token_for(hq, "kiosk-001", order_id)))
    assert not_yet.status_code == 404
    assert "尚未送达" in not_yet.text and "一分钟后再试" in not_yet.text
    assert "此地址没有小票" not in not_yet.text
    english = get(hq, receipt_path("kiosk-001", order_id, token_for(hq, "kiosk-001", order_id)) + "?lang=en")
    assert "not here yet" in english.text and "Try again in a minute" in english.text
    # a wrong token for the same order id is the plain not-found page
    wrong = get(hq, receipt_path("kiosk-001", order_id, "f" * 32))
    assert "尚未送达" not in wrong.text and "此地址没有小票" in wrong.text
    assert set(not_yet.headers) - {"date", "x-hq-time"} == set(wrong.headers) - {"date", "x-hq-time"}


def test_a_receipt_printed_before_the_kiosk_enrolled_again_still_opens(shop: Any) -> None:
    hq, water, *_ = shop
    old_token = token_for(hq, "kiosk-001", water, generation=1)
    with connected():
        enrol_device(load_or_create_key(hq.identity_file), store_by_code("s01"), "kiosk-001")
        assert Device.get(Device.kiosk_id == "kiosk-001").generation == 2
    for token in (old_token, token_for(hq, "kiosk-001", water, generation=2)):
        answer = get(hq, receipt_path("kiosk-001", water, token))
        assert answer.status_code == 200 and "矿泉水 Mineral water" in answer.text


def test_the_time_zone_comes_from_the_receipts_setting(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "hq.sqlite3")
    settings = load_settings(
        environ={}, overrides={"database": {"url": url}, "receipts": {"timezone": "UTC"}}
    )
    server = BackgroundServer(build_app(settings)).start()
    try:
        key = load_or_create_key(tmp_path / "hq-identity.key")
        with connected():
            secret = enrol_device(key, add_store("s01", "Store"), "kiosk-001")
            order_id = add_sale("kiosk-001", [("水", 1, 200)])
        page = requests.get(
            f"{server.url}{receipt_path('kiosk-001', order_id, receipt_token(secret, order_id))}", timeout=10
        )
        assert page.status_code == 200
        assert "2026-11-24 12:00:31" in page.text
    finally:
        assert server.stop()
