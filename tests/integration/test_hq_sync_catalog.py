"""The catalog a kiosk downloads (docs/sync-protocol.md §5): versions, snapshot and delta, 304 and
ETag, each store's own prices and settings with kiosk overrides, set with the ``hq`` commands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from sync_helpers import CATALOG, TIMEOUT, rows

from hq.cli import main

PRODUCTS = (
    "sku,name_zh,name_en,price_fen,barcode,category\n"
    "D001,矿泉水,Water,200,6901234560015,drinks\n"
    "D002,可乐,Cola,350,,drinks\n"
    "F001,三明治,Sandwich,1200,,food\n"
)


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


def cli(hq: LiveHq, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``hq ARGV --db URL``; the --db goes last, where every subcommand takes it."""
    code = main([*argv, "--db", hq.db_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fetch(
    session: requests.Session, hq: LiveHq, since: int | None = None, **headers: str
) -> requests.Response:
    query = "" if since is None else f"?since={since}"
    return session.get(f"{hq.url}{CATALOG}{query}", headers=headers, timeout=TIMEOUT)


def by_sku(reply: requests.Response) -> dict[str, dict[str, Any]]:
    assert reply.status_code == 200, reply.text
    return {p["sku"]: p for p in reply.json()["products"]}


@pytest.fixture
def two_stores(
    hq: LiveHq, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[requests.Session, requests.Session]:
    """Kiosk k1 in store s01 and k2 in s02, the products imported, s01 selling water for 180."""
    k1 = hq.session(hq.enrol("k1", store="s01"))
    k2 = hq.session(hq.enrol("k2", store="s02"))
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "p.csv", PRODUCTS)))[0] == 0
    code, out, err = cli(
        hq,
        capsys,
        "catalog",
        "prices",
        "import",
        "--store",
        "s01",
        str(write(tmp_path, "s01.csv", "sku,price_fen\nD001,180\n")),
    )
    assert code == 0, err
    assert "1 changed" in out
    return k1, k2


def test_each_kiosk_gets_its_own_stores_prices_and_settings(
    hq: LiveHq, two_stores: tuple[requests.Session, requests.Session], capsys: pytest.CaptureFixture[str]
) -> None:
    k1, k2 = two_stores
    assert cli(hq, capsys, "settings", "set", "--store", "s01", "receipt.footer", '"s01 footer"')[0] == 0
    assert cli(hq, capsys, "settings", "set", "--store", "s02", "receipt.footer", '"s02 footer"')[0] == 0
    assert cli(hq, capsys, "settings", "set", "--store", "s01", "ui.language", '"zh_CN"')[0] == 0
    assert cli(hq, capsys, "settings", "set", "--kiosk", "k1", "ui.language", '"en"')[0] == 0
    one, two = fetch(k1, hq, 0), fetch(k2, hq, 0)
    assert one.json()["kind"] == "snapshot" and one.json()["version"] == two.json()["version"]
    assert by_sku(one)["D001"]["price_fen"] == 180 and by_sku(two)["D001"]["price_fen"] == 200
    assert by_sku(one)["D002"]["price_fen"] == 350
    assert one.json()["settings"] == {"receipt.footer": "s01 footer", "ui.language": "en"}
    assert two.json()["settings"] == {"receipt.footer": "s02 footer"}
    assert set(by_sku(one)["D001"]) == {
        "sku",
        "name_zh",
        "name_en",
        "price_fen",
        "barcode",
        "category",
        "image_url",
        "active",
        "picture",
    }
    assert one.headers["ETag"] == f'"{one.json()["version"]}"'


def test_nothing_changed_is_304_and_if_none_match_works_like_since(
    hq: LiveHq, two_stores: tuple[requests.Session, requests.Session]
) -> None:
    k1, _ = two_stores
    version = fetch(k1, hq, 0).json()["version"]
    unchanged = fetch(k1, hq, version)
    assert unchanged.status_code == 304 and unchanged.headers["ETag"] == f'"{version}"'
    assert unchanged.content == b""
    assert fetch(k1, hq, None, **{"If-None-Match": f'"{version}"'}).status_code == 304
    assert fetch(k1, hq, None, **{"If-None-Match": f'W/"{version}"'}).status_code == 304
    assert fetch(k1, hq, None).json()["kind"] == "snapshot"


def test_a_delta_holds_only_what_changed_for_this_kiosk(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    k1, k2 = two_stores
    base = fetch(k1, hq, 0).json()["version"]
    # a change to one product, a store price of the other store, a setting of s02: k1 sees the product only
    changed = PRODUCTS.replace("Cola,350", "Cola,380")
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "p2.csv", changed)))[0] == 0
    assert (
        cli(
            hq,
            capsys,
            "catalog",
            "prices",
            "import",
            "--store",
            "s02",
            str(write(tmp_path, "s02.csv", "sku,price_fen\nF001,999\n")),
        )[0]
        == 0
    )
    assert cli(hq, capsys, "settings", "set", "--store", "s02", "x", "1")[0] == 0
    delta = fetch(k1, hq, base)
    body = delta.json()
    assert body["kind"] == "delta" and body["since"] == base and body["version"] == base + 3
    assert list(by_sku(delta)) == ["D002"] and by_sku(delta)["D002"]["price_fen"] == 380
    assert body["settings"] == {} and body["categories"] == []
    other = fetch(k2, hq, base)
    assert sorted(by_sku(other)) == ["D002", "F001"] and by_sku(other)["F001"]["price_fen"] == 999
    assert other.json()["settings"] == {"x": 1}

    # removing s01's price: k1 gets water back at its own price
    now = body["version"]
    code, out, _ = cli(hq, capsys, "catalog", "prices", "remove", "--store", "s01", "D001")
    assert code == 0 and "1 store prices removed" in out
    assert by_sku(fetch(k1, hq, now)) == {"D001": by_sku(fetch(k2, hq, 0))["D001"]}


def test_a_store_price_outlives_a_change_to_its_product(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    k1, _ = two_stores
    base = fetch(k1, hq, 0).json()["version"]
    renamed = PRODUCTS.replace("矿泉水,Water,200", "矿泉水 550ml,Water 550ml,210")
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "p3.csv", renamed)))[0] == 0
    water = by_sku(fetch(k1, hq, base))["D001"]
    assert water["name_en"] == "Water 550ml" and water["price_fen"] == 180


def test_settings_override_and_removal_reach_the_kiosk_as_null(
    hq: LiveHq, two_stores: tuple[requests.Session, requests.Session], capsys: pytest.CaptureFixture[str]
) -> None:
    k1, _ = two_stores
    cli(hq, capsys, "settings", "set", "--store", "s01", "ui.language", '"zh_CN"')
    cli(hq, capsys, "settings", "set", "--kiosk", "k1", "ui.language", '"en"')
    cli(hq, capsys, "settings", "set", "--kiosk", "k1", "printer.width", "32")
    base = fetch(k1, hq, 0).json()["version"]
    assert cli(hq, capsys, "settings", "unset", "--kiosk", "k1", "ui.language")[0] == 0
    assert cli(hq, capsys, "settings", "unset", "--kiosk", "k1", "printer.width")[0] == 0
    assert fetch(k1, hq, base).json()["settings"] == {"ui.language": "zh_CN", "printer.width": None}
    assert fetch(k1, hq, 0).json()["settings"] == {"ui.language": "zh_CN"}
    code, _, err = cli(hq, capsys, "settings", "unset", "--kiosk", "k1", "printer.width")
    assert code == 2 and "has no setting printer.width" in err


@pytest.mark.parametrize(
    ("value", "words"),
    [("zh_CN", "not JSON"), ("NaN", "not JSON"), ("null", "hq settings unset")],
)
def test_a_setting_value_must_be_json(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    capsys: pytest.CaptureFixture[str],
    value: str,
    words: str,
) -> None:
    code, _, err = cli(hq, capsys, "settings", "set", "--store", "s01", "ui.language", value)
    assert code == 2 and words in err
    code, _, err = cli(hq, capsys, "settings", "set", "--store", "nowhere", "ui.language", '"en"')
    assert code == 2 and "no store nowhere" in err


def test_a_since_beyond_hqs_version_gets_a_snapshot(
    hq: LiveHq, two_stores: tuple[requests.Session, requests.Session]
) -> None:
    k1, _ = two_stores
    reply = fetch(k1, hq, 10_000)
    assert reply.json()["kind"] == "snapshot" and sorted(by_sku(reply)) == ["D001", "D002", "F001"]
    assert fetch(k1, hq, -1).status_code == 422


def test_an_import_that_changes_nothing_takes_no_version(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    k1, _ = two_stores
    version = fetch(k1, hq, 0).json()["version"]
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "same.csv", PRODUCTS)))[0] == 0
    assert fetch(k1, hq, version).status_code == 304


def test_categories_images_and_taking_a_product_off_sale(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    k1, _ = two_stores
    base = fetch(k1, hq, 0).json()["version"]
    categories = "code,name_zh,name_en\ndrinks,饮料,Drinks\nfood,食品,Food\n"
    code, out, err = cli(
        hq, capsys, "catalog", "categories", "import", str(write(tmp_path, "c.csv", categories))
    )
    assert code == 0 and "2 added or changed" in out, err
    extra = (
        "sku,name_zh,name_en,price_fen,barcode,category,image_url,active\n"
        "D002,可乐,Cola,350,,drinks,https://img.example/cola.png,0\n"
    )
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "e.csv", extra)))[0] == 0
    delta = fetch(k1, hq, base).json()
    assert delta["categories"] == [
        {"code": "drinks", "name_zh": "饮料", "name_en": "Drinks"},
        {"code": "food", "name_zh": "食品", "name_en": "Food"},
    ]
    [cola] = delta["products"]
    assert cola["image_url"] == "https://img.example/cola.png" and cola["active"] is False
    # a file without the image_url column keeps the picture HQ holds
    assert cli(hq, capsys, "catalog", "import", str(write(tmp_path, "p.csv", PRODUCTS)))[0] == 0
    assert by_sku(fetch(k1, hq, 0))["D002"]["image_url"] == "https://img.example/cola.png"
    bad = "sku,name_zh,name_en,price_fen,barcode,category,image_url\nD002,可乐,Cola,350,,drinks,ftp://x\n"
    code, _, err = cli(hq, capsys, "catalog", "import", str(write(tmp_path, "b.csv", bad)))
    assert code == 2 and "column image_url" in err


def test_store_prices_of_unknown_products_are_refused_whole(
    hq: LiveHq,
    two_stores: tuple[requests.Session, requests.Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    k1, _ = two_stores
    version = fetch(k1, hq, 0).json()["version"]
    prices = write(tmp_path, "bad.csv", "sku,price_fen\nD002,300\nNOPE,100\nF001,3.50\n")
    code, _, err = cli(hq, capsys, "catalog", "prices", "import", "--store", "s01", str(prices))
    assert code == 2 and "row 4, column price_fen" in err
    prices = write(tmp_path, "bad2.csv", "sku,price_fen\nD002,300\nNOPE,100\n")
    code, _, err = cli(hq, capsys, "catalog", "prices", "import", "--store", "s01", str(prices))
    assert code == 2 and "row 3, column sku, value 'NOPE'" in err
    assert fetch(k1, hq, version).status_code == 304
    assert rows(hq, "SELECT count(*) FROM store_price") == [(1,)]
