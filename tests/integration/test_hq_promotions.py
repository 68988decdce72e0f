"""``hq promo add|list|end`` and the promotions every catalog answer carries (docs/sync-protocol.md §5),
on SQLite and PostgreSQL; and sales uploaded with discounts, which must reconcile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from hq_fixtures import LiveHq, running_hq
from sync_helpers import CATALOG, TIMEOUT

from hq.cli import main
from hq.sales import SaleIn
from kiosk.core.pricing import promotion_from_dict
from kiosk.sync.hq_client import check_catalog


@pytest.fixture
def hq(hq_db_url: str) -> Iterator[LiveHq]:
    with running_hq(hq_db_url) as live:
        yield live


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def cli(hq: LiveHq, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--db", hq.db_url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def catalog(session: requests.Session, hq: LiveHq, since: int = 0) -> requests.Response:
    return session.get(f"{hq.url}{CATALOG}?since={since}", timeout=TIMEOUT)


ADD = ("promo", "add", "--starts", "2026-01-01T00:00:00Z")


def test_promotions_reach_the_kiosks_of_their_store_and_end(
    hq: LiveHq, capsys: pytest.CaptureFixture[str]
) -> None:
    k1 = hq.session(hq.enrol("k1", store="s01"))
    k2 = hq.session(hq.enrol("k2", store="s02"))
    code, out, err = cli(
        hq,
        capsys,
        *ADD,
        "drinks10",
        "--kind",
        "percent_off",
        "--category",
        "drinks",
        "--percent",
        "10",
        "--name-zh",
        "饮料九折",
        "--name-en",
        "10% off drinks",
    )
    assert code == 0, err
    assert "drinks10 added" in out
    code, _, err = cli(
        hq,
        capsys,
        *ADD,
        "s01off",
        "--kind",
        "spend_off",
        "--threshold-fen",
        "2000",
        "--off-fen",
        "300",
        "--store",
        "s01",
        "--name-zh",
        "满20减3",
        "--name-en",
        "3 off 20",
    )
    assert code == 0, err
    first = catalog(k1, hq)
    assert first.status_code == 200, first.text
    ids = [p["id"] for p in first.json()["promotions"]]
    assert ids == ["drinks10", "s01off"]
    assert [p["id"] for p in catalog(k2, hq).json()["promotions"]] == ["drinks10"]
    update = check_catalog(first.json())  # the kiosk takes them as they come
    assert update.promotions is not None
    assert [promotion_from_dict(p).promo_id for p in update.promotions] == ids
    version = first.json()["version"]
    assert cli(hq, capsys, "promo", "list")[1].count("\n") == 2
    code, out, _ = cli(hq, capsys, "promo", "end", "drinks10")
    assert code == 0 and "drinks10 ends at" in out
    delta = catalog(k1, hq, version)
    assert delta.status_code == 200, "ending a promotion takes a new catalog version"
    assert [p["id"] for p in delta.json()["promotions"]] == ["s01off"]
    assert "drinks10" in cli(hq, capsys, "promo", "list", "--all")[1]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--kind", "percent_off", "--percent", "10"), "exactly one of --sku or --category"),
        (("--kind", "percent_off", "--sku", "D001", "--percent", "150"), "--percent must be 1..100"),
        (("--kind", "multi_buy", "--sku", "D001", "--qty", "1", "--price-fen", "300"), "--qty must be 2..99"),
        (("--kind", "spend_off", "--threshold-fen", "100", "--off-fen", "500"), "at least --off-fen"),
        (
            (
                "--kind",
                "spend_off",
                "--off-fen",
                "5",
                "--threshold-fen",
                "5",
                "--ends",
                "2025-01-01T00:00:00Z",
            ),
            "end must be after",
        ),
        (("--kind", "spend_off", "--off-fen", "5", "--threshold-fen", "5", "--store", "nowhere"), "no store"),
    ],
)
def test_a_promotion_that_cannot_apply_is_refused_with_what_to_change(
    hq: LiveHq, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], words: str
) -> None:
    code, _, err = cli(hq, capsys, *ADD, "bad", "--name-zh", "坏", "--name-en", "bad", *args)
    assert code == 2
    assert words in err


def test_a_bare_time_without_a_zone_is_refused(hq: LiveHq, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(
        hq,
        capsys,
        "promo",
        "add",
        "p",
        "--kind",
        "spend_off",
        "--off-fen",
        "5",
        "--threshold-fen",
        "5",
        "--name-zh",
        "坏",
        "--name-en",
        "bad",
        "--starts",
        "2026-01-01T00:00:00",
    )
    assert code == 2 and "no time zone" in err


SALE = {
    "order_id": "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60",
    "kiosk_id": "k1",
    "created_at": "2026-12-01T08:00:00Z",
    "paid_at": "2026-12-01T08:00:10Z",
    "total_fen": 600,
    "currency": "CNY",
    "channel": "wechat",
    "out_trade_no": "K1",
    "transaction_id": "T1",
    "lines": [{"sku": "D001", "name": "水", "qty": 3, "unit_price_fen": 200, "line_total_fen": 600}],
}


def test_a_sale_reconciles_lines_less_discounts_and_keeps_its_old_fingerprint() -> None:
    plain = SaleIn.model_validate(SALE)
    before = "a sale with no discounts hashes as it did before sales carried them"
    import hashlib
    import json

    old = hashlib.sha256(
        json.dumps(
            plain.model_dump(mode="json", exclude={"discounts"}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    assert plain.content_sha256() == old, before
    off = {"promo_id": "water3", "sku": "D001", "name": "水三瓶5元", "amount_fen": 100}
    good = SaleIn.model_validate({**SALE, "total_fen": 500, "discounts": [off]})
    assert good.content_sha256() != plain.content_sha256()
    with pytest.raises(ValueError, match="less the sum of discounts"):
        SaleIn.model_validate({**SALE, "discounts": [off]})  # total not reduced
    with pytest.raises(ValueError, match="more than its lines"):
        SaleIn.model_validate({**SALE, "total_fen": 599, "discounts": [{**off, "sku": "X", "amount_fen": 1}]})
